-- The foreign data wrapper, and the checks that run when foreign tables and user mappings are created
-- or altered.

CREATE FOREIGN DATA WRAPPER tether
    HANDLER tether.tether_fdw_handler
    VALIDATOR tether.tether_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER tether IS 'HTTP APIs as tables (see tether.connectors())';

-- A validator is not told which server a foreign table or user mapping belongs to, so the checks that
-- need the server's connector (a table's object names and column mapping; a webhook_secret, which
-- counts only in the server owner's mapping and must have the form the connector's signature scheme
-- needs) run here, at the end of CREATE / ALTER FOREIGN TABLE, IMPORT FOREIGN SCHEMA and
-- CREATE / ALTER USER MAPPING. An error aborts the command.
CREATE FUNCTION tether.check_foreign_objects() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT c.objid
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.objid
        JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
        JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND w.fdwhandler = 'tether.tether_fdw_handler'::pg_catalog.regproc
    LOOP
        PERFORM tether.validate_foreign_table(r.objid);
    END LOOP;
    FOR r IN
        SELECT DISTINCT um.srvid, um.umuser
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_catalog.pg_user_mappings um ON um.umid = c.objid
        JOIN pg_catalog.pg_foreign_server s ON s.oid = um.srvid
        JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE c.classid = 'pg_catalog.pg_user_mapping'::pg_catalog.regclass
          AND w.fdwhandler = 'tether.tether_fdw_handler'::pg_catalog.regproc
    LOOP
        PERFORM tether.validate_user_mapping(r.srvid, r.umuser);
    END LOOP;
END
$$;

CREATE EVENT TRIGGER tether_check_foreign_objects ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'IMPORT FOREIGN SCHEMA',
                 'CREATE USER MAPPING', 'ALTER USER MAPPING')
    EXECUTE FUNCTION tether.check_foreign_objects();
