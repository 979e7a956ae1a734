-- Describes every object of the tether extension in this database, one line per fact, in a stable
-- order: what a fresh CREATE EXTENSION and an ALTER EXTENSION UPDATE to the same version must both
-- give. tests/upgrade/upgrade.sh diffs the two. Facts: each member object (functions with their full
-- definition, tables with their columns, defaults, constraints, indexes, triggers, policies, privileges
-- and row-level security, views, sequences, types, event triggers, the foreign data wrapper), the
-- comments on them, and the configuration tables pg_dump keeps. Columns are listed by name, not by
-- position: a column an upgrade adds comes last, and nothing depends on the order.
\pset format unaligned
\pset tuples_only on
WITH ext AS (
    SELECT oid, extconfig, extcondition FROM pg_catalog.pg_extension WHERE extname = 'tether'
), members AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
    WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), facts (fact) AS (
    -- Every member, by its description.
    SELECT 'member: ' || pg_catalog.pg_describe_object(classid, objid, 0) FROM members
    -- Functions: the whole definition (language, body, volatility, SECURITY DEFINER, SET), privileges.
    UNION ALL
    SELECT 'function: ' || p.oid::pg_catalog.regprocedure::text || E'\n'
           || CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid) ELSE p.prokind::text END
           || E'\nacl: ' || coalesce(p.proacl::text, 'default')
    FROM members m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = m.objid
    -- Relations: kind, persistence, options, row-level security, privileges.
    UNION ALL
    SELECT 'relation: ' || c.oid::pg_catalog.regclass::text || ' kind ' || c.relkind::text || ' persistence ' || c.relpersistence::text
           || ' rls ' || c.relrowsecurity::text || ' force ' || c.relforcerowsecurity::text
           || ' options ' || coalesce(c.reloptions::text, '{}') || ' acl ' || coalesce(c.relacl::text, 'default')
    FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
    -- Columns of the extension's tables and views: type, NOT NULL, default, privileges.
    UNION ALL
    SELECT 'column: ' || c.oid::pg_catalog.regclass::text || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
           || coalesce(' identity ' || nullif(a.attidentity::text, ''), '') || coalesce(' generated ' || nullif(a.attgenerated::text, ''), '')
           || coalesce(' acl ' || a.attacl::text, '')
    FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
    -- Constraints, indexes, triggers and policies of those tables.
    UNION ALL
    SELECT 'constraint: ' || co.conrelid::pg_catalog.regclass::text || ' ' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
    FROM members m JOIN pg_catalog.pg_constraint co ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND co.conrelid = m.objid
    UNION ALL
    SELECT 'index: ' || pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM members m JOIN pg_catalog.pg_index i ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT 'trigger: ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    FROM members m JOIN pg_catalog.pg_trigger t ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND t.tgrelid = m.objid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'policy: ' || po.polrelid::pg_catalog.regclass::text || ' ' || po.polname || ' cmd ' || po.polcmd::text
           || ' permissive ' || po.polpermissive::text || ' roles ' || po.polroles::text
           || ' using ' || coalesce(pg_catalog.pg_get_expr(po.polqual, po.polrelid), '-')
           || ' check ' || coalesce(pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid), '-')
    FROM members m JOIN pg_catalog.pg_policy po ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND po.polrelid = m.objid
    -- Views' queries and sequences' settings.
    UNION ALL
    SELECT 'view: ' || c.oid::pg_catalog.regclass::text || E'\n' || pg_catalog.pg_get_viewdef(c.oid)
    FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
    WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence: ' || s.seqrelid::pg_catalog.regclass::text || ' ' || pg_catalog.format_type(s.seqtypid, NULL)
           || ' start ' || s.seqstart::text || ' increment ' || s.seqincrement::text || ' max ' || s.seqmax::text || ' cycle ' || s.seqcycle::text
           || coalesce(' owned by ' || (SELECT d.refobjid::pg_catalog.regclass::text || '.' || a.attname
                                        FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.seqrelid
                                          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a'), '')
    FROM members m JOIN pg_catalog.pg_sequence s ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND s.seqrelid = m.objid
    -- Types (composite, enum, domain) made by the extension itself.
    UNION ALL
    SELECT 'type: ' || t.oid::pg_catalog.regtype::text || ' kind ' || t.typtype::text
           || coalesce(' attributes ' || (SELECT pg_catalog.string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                          FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
           || coalesce(' labels ' || (SELECT pg_catalog.string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '')
    FROM members m JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = m.objid
    -- Event triggers and the foreign data wrapper.
    UNION ALL
    SELECT 'event trigger: ' || e.evtname || ' on ' || e.evtevent || ' ' || e.evtfoid::pg_catalog.regprocedure::text
           || ' enabled ' || e.evtenabled::text || ' tags ' || coalesce(e.evttags::text, 'all')
    FROM members m JOIN pg_catalog.pg_event_trigger e ON m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND e.oid = m.objid
    UNION ALL
    SELECT 'foreign data wrapper: ' || w.fdwname || ' handler ' || w.fdwhandler::pg_catalog.regprocedure::text
           || ' validator ' || w.fdwvalidator::pg_catalog.regprocedure::text || ' options ' || coalesce(w.fdwoptions::text, '{}')
           || ' acl ' || coalesce(w.fdwacl::text, 'default')
    FROM members m JOIN pg_catalog.pg_foreign_data_wrapper w ON m.classid = 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass AND w.oid = m.objid
    -- Comments on the members and their columns.
    UNION ALL
    SELECT 'comment: ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
    FROM members m JOIN pg_catalog.pg_description d ON d.classoid = m.classid AND d.objoid = m.objid
    -- The configuration tables pg_dump keeps, with their conditions.
    UNION ALL
    SELECT 'dumped: ' || t.config::pg_catalog.regclass::text || ' where ' || coalesce(nullif(t.cond, ''), 'all')
    FROM ext, unnest(ext.extconfig, ext.extcondition) AS t (config, cond)
)
SELECT fact FROM facts ORDER BY fact COLLATE "C";
