-- Tether 0.1.0 to 0.2.0: ALTER EXTENSION tether UPDATE runs this script in one transaction.
--
-- What changed since 0.1.0 (tests/upgrade/upgrade.sh checks that a database updated with this script
-- has exactly the objects a fresh CREATE EXTENSION of 0.2.0 makes, and that what 0.1.0 held survives):
--   - user mappings are checked against their server's connector (webhook secrets): the event
--     trigger tether_check_foreign_tables becomes tether_check_foreign_objects;
--   - what the worker knows of each mirror moves from tether.mirror_config to tether.mirror_state
--     (the values are carried over; a pass in progress starts over), each mirror gets a private NOTIFY
--     channel, failures keep their SQLSTATE, DETAIL and HINT, webhook deliveries their body's digest,
--     and deletions their time (tether.mirror_tombstones, tether.pass_seen are new);
--   - every function of the extension runs with a pinned search_path, and roles may no longer write
--     the worker's columns of tether.mirror_config (requested_at, next_run) nor DELETE its rows;
--   - each mirror table's write-back trigger is made again: it names no oid any more (dumps restore);
--   - pushes (reverse ETL): tether.push and the tables, view and functions around it are new;
--   - pg_dump keeps what the worker knows of mirrors and pushes with their registrations.
-- The library of 0.2.0 must be installed (it has the new C functions) before this runs; until it has
-- run, the 0.2.0 launcher starts no refresh or push in this database and says so in the server log.

\echo Use "ALTER EXTENSION tether UPDATE TO '0.2.0'" to load this file. \quit

-- The functions of the library that 0.1.0 did not declare.
CREATE FUNCTION "channel_for"(
	"mirror" oid /* pg_sys :: Oid */
) RETURNS TEXT /* String */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'changes_channel_wrapper';
CREATE FUNCTION "forget_mirror"(
	"id" INT /* i32 */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'forget_mirror_wrapper';
CREATE FUNCTION "forget_push"(
	"id" INT /* i32 */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'forget_push_wrapper';
CREATE FUNCTION "note_deletion"(
	"mirror" oid, /* pg_sys :: Oid */
	"record_id" TEXT /* & str */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'note_deletion_wrapper';
CREATE FUNCTION "push_columns"(
	"source" oid, /* pg_sys :: Oid */
	"target" oid, /* pg_sys :: Oid */
	"key" TEXT, /* & str */
	"match_on" TEXT, /* Option < & str > */
	"deletes" bool /* bool */
) RETURNS TEXT[] /* Vec < String > */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_push_wrapper';
CREATE FUNCTION "request_push"(
	"id" INT /* i32 */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'request_push_wrapper';
CREATE FUNCTION "request_refresh"(
	"id" INT /* i32 */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'request_refresh_wrapper';
CREATE FUNCTION "rotate_channel"(
	"mirror" oid /* pg_sys :: Oid */
) RETURNS TEXT /* String */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rotate_changes_channel_wrapper';
CREATE FUNCTION "sync_applying"(
	"mirror" oid /* pg_sys :: Oid */
) RETURNS bool /* bool */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_applying_wrapper';
CREATE FUNCTION "validate_user_mapping"(
	"server" oid, /* pg_sys :: Oid */
	"role" oid /* pg_sys :: Oid */
) RETURNS void
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'validate_user_mapping_wrapper';
CREATE FUNCTION "wake_push"(
	"id" INT /* i32 */
) RETURNS bool /* bool */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wake_push_wrapper';

-- User mappings are checked too (fdw.sql).
DROP EVENT TRIGGER tether_check_foreign_tables;
DROP FUNCTION tether.check_foreign_tables();

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

-- Mirrors (mirrors.sql). The view over the columns that move is made again below.
DROP VIEW tether.mirrors;

ALTER TABLE tether.mirror_config
    ADD COLUMN channel text NOT NULL DEFAULT 'tether_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');

-- What the worker knows of each mirror: the pass in progress (resumed after a restart), the outcome
-- of the refreshes, when the next one is due. Only the worker writes it (a row per mirror, made by
-- the first refresh); roles read it through tether.mirrors. It is apart from tether.mirror_config,
-- whose rows roles change, so that a refresh never waits for a role's transaction that holds its
-- mirror's settings row (a refresh holds this row and the mirror table at once).
CREATE TABLE tether.mirror_state (
    mirror_id integer PRIMARY KEY REFERENCES tether.mirror_config (id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'idle', 'error')),
    next_run timestamptz NOT NULL DEFAULT now(),
    pass text CHECK (pass IN ('backfill', 'full', 'incremental')),
    pass_started_at timestamptz,
    pass_gen bigint NOT NULL DEFAULT 0,
    pass_since text,
    pass_cursor jsonb,
    pass_pages bigint NOT NULL DEFAULT 0,
    pass_rows bigint NOT NULL DEFAULT 0,
    -- Ids the pass noted in tether.pass_seen: the sweep checks the set is whole (see there).
    pass_noted bigint NOT NULL DEFAULT 0,
    pass_total bigint,
    run_id bigint,
    run_started_at timestamptz,
    last_success timestamptz,
    last_full timestamptz,
    -- The last failure as Postgres would report it: message, SQLSTATE, DETAIL, HINT.
    last_error text,
    last_error_sqlstate text,
    last_error_detail text,
    last_error_hint text,
    last_error_at timestamptz,
    failures integer NOT NULL DEFAULT 0,
    row_count bigint,
    -- The next pass is a full one: a webhook reported deletions the provider cannot confirm by id,
    -- which only a full pass's sweep may apply.
    full_requested boolean NOT NULL DEFAULT false
);

COMMENT ON TABLE tether.mirror_state IS 'the tether worker''s state of each mirror; see the tether.mirrors view';

-- What 0.1.0's worker knew, carried over. A pass in progress starts over: 0.2.0 keeps the ids a pass
-- has seen elsewhere (tether.pass_seen), so 0.1.0's cursor cannot be resumed. A mirror whose pass was
-- running is due at once.
INSERT INTO tether.mirror_state (mirror_id, state, next_run, pass_gen, run_id, run_started_at, last_success,
                                 last_full, last_error, last_error_at, failures, row_count)
SELECT id, CASE WHEN state = 'running' THEN 'pending' ELSE state END, next_run, pass_gen, run_id, run_started_at,
       last_success, last_full, last_error, last_error_at, failures, row_count
FROM tether.mirror_config;

ALTER TABLE tether.mirror_config
    DROP COLUMN next_run, DROP COLUMN state, DROP COLUMN pass, DROP COLUMN pass_started_at,
    DROP COLUMN pass_gen, DROP COLUMN pass_since, DROP COLUMN pass_cursor, DROP COLUMN pass_pages,
    DROP COLUMN pass_rows, DROP COLUMN pass_total, DROP COLUMN run_id, DROP COLUMN run_started_at,
    DROP COLUMN last_success, DROP COLUMN last_full, DROP COLUMN last_error, DROP COLUMN last_error_at,
    DROP COLUMN failures, DROP COLUMN row_count;

ALTER TABLE tether.sync_runs
    ADD COLUMN error_sqlstate text, ADD COLUMN error_detail text, ADD COLUMN error_hint text;

ALTER TABLE tether.mirror_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirror_owner ON tether.mirror_state
    USING (EXISTS (SELECT 1 FROM tether.mirror_config m WHERE m.id = mirror_id));

-- Roles change their mirrors' settings directly, and ask for refreshes and removals through
-- tether.refresh / resume / unmirror, which write requested_at and delete rows as the extension's
-- owner after checking the mirror is theirs: a role that could write requested_at could put its
-- mirrors ahead of everyone's for ever ('infinity'), and the DELETE privilege would also let it
-- LOCK the whole table and stop every mirror.
REVOKE ALL ON tether.mirror_config, tether.mirror_state, tether.sync_runs FROM PUBLIC;
GRANT SELECT ON tether.mirror_config TO PUBLIC;
GRANT INSERT (source, target, owner, every, sweep_every, updated_column, overlap, rate_share, notify)
    ON tether.mirror_config TO PUBLIC;
GRANT UPDATE (every, sweep_every, overlap, rate_share, notify, paused)
    ON tether.mirror_config TO PUBLIC;
GRANT USAGE ON SEQUENCE tether.mirror_config_id_seq TO PUBLIC;
GRANT SELECT ON tether.mirror_state, tether.sync_runs TO PUBLIC;

ALTER TABLE tether.webhook_events ADD COLUMN body_sha256 text;
CREATE INDEX webhook_events_body ON tether.webhook_events (server, body_sha256) WHERE body_sha256 IS NOT NULL;

-- Deletions waiting from 0.1.0 count as queued now.
ALTER TABLE tether.mirror_deletions ADD COLUMN queued_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- Records deleted through a mirror (its write-back trigger, once the provider confirmed), with when:
-- a refresh does not put back a record from a page it fetched before that moment. The worker removes
-- those older than the pages it has fetched since. Written through tether.note_deletion; no PUBLIC
-- access.
CREATE TABLE tether.mirror_tombstones (
    mirror_id integer NOT NULL REFERENCES tether.mirror_config (id) ON DELETE CASCADE,
    record_id text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (mirror_id, record_id)
);
REVOKE ALL ON tether.mirror_tombstones FROM PUBLIC;

-- The records each full pass in progress has seen, by id: at its end the pass removes the mirror's
-- rows it did not see (and that no one wrote since it began). Kept here rather than stamped on every
-- row, so that a pass over unchanged data writes nothing to the mirror; unlogged, so that noting and
-- emptying it costs no WAL. A crash empties it: the sweep then finds fewer ids than the pass noted
-- (mirror_state.pass_noted), sweeps nothing, and asks for a new full pass. The worker's alone (no
-- PUBLIC access), emptied when the pass ends.
CREATE UNLOGGED TABLE tether.pass_seen (
    mirror_id integer NOT NULL,
    gen bigint NOT NULL,
    id text NOT NULL
);
REVOKE ALL ON tether.pass_seen FROM PUBLIC;

-- security_invoker: each role sees its own mirrors (the row-level security of mirror_config).
CREATE VIEW tether.mirrors WITH (security_invoker = true) AS
SELECT
    m.target AS mirror,
    m.source,
    m.owner,
    m.every AS schedule,
    CASE WHEN m.paused THEN 'paused' ELSE coalesce(s.state, 'pending') END AS state,
    s.last_success,
    s.last_error,
    s.last_error_sqlstate,
    s.last_error_detail,
    s.last_error_hint,
    s.last_error_at,
    coalesce(s.failures, 0) AS failures,
    s.row_count AS rows,
    CASE WHEN m.paused THEN NULL ELSE coalesce(s.next_run, m.created_at) END AS next_run,
    s.pass AS running_pass,
    CASE WHEN s.pass IS NULL THEN NULL ELSE s.pass_pages END AS pages_so_far,
    CASE WHEN s.pass IS NULL THEN NULL ELSE s.pass_rows END AS rows_so_far,
    CASE WHEN s.pass IS NULL THEN NULL ELSE s.pass_total END AS rows_total,
    m.updated_column AS incremental_by,
    m.sweep_every,
    s.last_full,
    m.channel AS changes_channel
FROM tether.mirror_config m
LEFT JOIN tether.mirror_state s ON s.mirror_id = m.id;

COMMENT ON VIEW tether.mirrors IS 'mirror tables: schedule, state, last success and error, progress of a running pass';
GRANT SELECT ON tether.mirrors TO PUBLIC;

-- The functions of mirrors.sql, all of them replaced (pinned search_path, new bodies).
-- The source foreign table of a mirror table, for its write-back trigger. As the extension's owner: a
-- role another role lets write to its mirror cannot see the mirror's registration (row-level security).
-- It tells nothing secret: the mirror table's comment and the catalogs show its source to every role.
CREATE OR REPLACE FUNCTION tether.mirror_source_of(mirror regclass) RETURNS regclass
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT m.source FROM tether.mirror_config m WHERE m.target = mirror;
END;

-- Writes to a mirror table go to the provider first, through its source foreign table (the same
-- FDW code path as a direct write), and the provider's answer is merged into the row, stamped with
-- the time the answer came (_synced_at: a refresh does not overwrite the row with a page fetched
-- before then). A refusal raises the provider's error and the mirror is unchanged. The sync process's
-- own writes (what the provider said) pass through: only it can set what tether.sync_applying() reports.
-- Argument: the id column's name. The trigger names no oid (its source is looked up by the mirror's),
-- so that a dump restored elsewhere, where every table has a new oid, keeps working.
CREATE OR REPLACE FUNCTION tether.mirror_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := tether.mirror_source_of(TG_RELID);
    id_col text := TG_ARGV[0];
    meta text[] := ARRAY['_synced_at', '_sync_gen'];
    given jsonb;
    cols text;
    answer jsonb;
    record_id text;
BEGIN
    IF tether.sync_applying(TG_RELID) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF src IS NULL THEN
        RAISE EXCEPTION '% is no longer a mirror table (its registration is gone)', TG_RELID::regclass
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('DROP TRIGGER tether_write_back ON %s makes it an ordinary table', TG_RELID::regclass);
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg(key, value) INTO given
        FROM jsonb_each(to_jsonb(NEW)) WHERE value <> 'null'::jsonb AND key <> ALL (meta);
        IF given IS NULL THEN
            EXECUTE format('INSERT INTO %s AS t DEFAULT VALUES RETURNING to_jsonb(t.*)', src) INTO answer;
        ELSE
            SELECT string_agg(quote_ident(key), ', ') INTO cols FROM jsonb_object_keys(given) key;
            EXECUTE format('INSERT INTO %s AS t (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) RETURNING to_jsonb(t.*)',
                           src, cols, cols, src)
                INTO answer USING given;
        END IF;
        NEW := jsonb_populate_record(NEW, answer || jsonb_build_object('_synced_at', clock_timestamp()));
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(n.key, n.value) INTO given
        FROM jsonb_each(to_jsonb(NEW)) n JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
        WHERE n.value IS DISTINCT FROM o.value AND n.key <> ALL (meta);
        IF given IS NULL THEN
            RETURN NEW;
        END IF;
        IF given ? id_col THEN
            RAISE EXCEPTION 'the id of a mirrored record cannot be changed (mirror %, column %)', TG_RELID::regclass, id_col
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'delete the row and insert a new one; the provider assigns ids';
        END IF;
        SELECT string_agg(quote_ident(key), ', ') INTO cols FROM jsonb_object_keys(given) key;
        EXECUTE format('UPDATE %s AS t SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1)) WHERE t.%I = ($2).%I RETURNING to_jsonb(t.*)',
                       src, cols, cols, src, id_col, id_col)
            INTO answer USING given, OLD;
        IF answer IS NULL THEN
            RAISE EXCEPTION 'record % of mirror % no longer exists at the provider', to_jsonb(OLD) ->> id_col, TG_RELID::regclass
                USING ERRCODE = 'no_data_found',
                      HINT = 'the next refresh of the mirror removes it (a full pass, see tether.mirrors)';
        END IF;
        NEW := jsonb_populate_record(NEW, answer || jsonb_build_object('_synced_at', clock_timestamp()));
        RETURN NEW;
    ELSE
        EXECUTE format('DELETE FROM %s AS t WHERE t.%I = ($1).%I', src, id_col, id_col) USING OLD;
        -- A record already gone at the provider is simply removed here too. Noted, so that a refresh
        -- with a page fetched before now does not put it back.
        EXECUTE format('SELECT ($1).%I::text', id_col) INTO record_id USING OLD;
        PERFORM tether.note_deletion(TG_RELID, record_id);
        RETURN OLD;
    END IF;
END
$$;

COMMENT ON FUNCTION tether.mirror_write() IS 'write-back trigger of mirror tables: the provider first, then the table';

-- pg_dump keeps mirror registrations with the extension, and what the worker knows of them, so that
-- a restored mirror resumes where it was: its last refreshes, its runs, the webhook deliveries and
-- deletions waiting to be checked. Not tether.pass_seen (a pass in progress then finds its set of seen
-- ids incomplete, sweeps nothing and asks for a new full pass).
SELECT pg_catalog.pg_extension_config_dump('tether.mirror_config', '');
SELECT pg_catalog.pg_extension_config_dump('tether.mirror_config_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tether.mirror_state', '');
SELECT pg_catalog.pg_extension_config_dump('tether.sync_runs', '');
SELECT pg_catalog.pg_extension_config_dump('tether.sync_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tether.webhook_events', '');
SELECT pg_catalog.pg_extension_config_dump('tether.webhook_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tether.mirror_deletions', '');
SELECT pg_catalog.pg_extension_config_dump('tether.mirror_tombstones', '');

-- tether.mirror(source, target, ...): create the mirror table shaped like the source foreign table
-- (its columns, the id as primary key, _synced_at and _sync_gen), its write-back trigger, and
-- register it; the background worker runs the first backfill once the calling transaction commits.
-- Runs with the caller's search_path, which decides where an unqualified target is created (as
-- CREATE TABLE would); everything else it names is schema-qualified.
CREATE OR REPLACE FUNCTION tether.mirror(
    source regclass,
    target text,
    every interval DEFAULT interval '5 minutes',
    sweep_every interval DEFAULT interval '1 hour',
    updated_column name DEFAULT NULL,
    rate_share real DEFAULT 0.5,
    notify boolean DEFAULT true
) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    info record;
    parts text[];
    qualified text;
    created regclass;
    incremental name;
BEGIN
    PERFORM tether.require_worker();
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_table ft
                   JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
                   JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                   WHERE ft.ftrelid = source AND w.fdwname = 'tether') THEN
        RAISE EXCEPTION '% is not a foreign table of the tether foreign data wrapper', source
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'the source of a mirror is a tether foreign table (CREATE FOREIGN TABLE ... SERVER s OPTIONS (object ...))';
    END IF;
    IF every IS NULL OR every < interval '1 second' THEN
        RAISE EXCEPTION 'every must be at least 1 second, got %', coalesce(every::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF rate_share IS NULL OR rate_share <= 0 OR rate_share > 1 THEN
        RAISE EXCEPTION 'rate_share must be more than 0 and at most 1, got %', coalesce(rate_share::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO info FROM tether.mirror_source(source);
    incremental := coalesce(updated_column, info.updated_column);
    IF updated_column IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = source AND attname = updated_column AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'updated_column "%" is not a column of %', updated_column, source
            USING ERRCODE = 'undefined_column';
    END IF;
    parts := pg_catalog.parse_ident(target);
    IF pg_catalog.array_length(parts, 1) = 1 THEN
        parts := ARRAY[pg_catalog.current_schema()::text] || parts;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), '.') INTO qualified FROM pg_catalog.unnest(parts) p;
    EXECUTE pg_catalog.format('CREATE TABLE %s (LIKE %s)', qualified, source);
    created := qualified::regclass;
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (%I), ADD COLUMN _synced_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(), ADD COLUMN _sync_gen pg_catalog.int8',
                   created, info.id_column);
    -- The WHEN condition lets the sync process's own writes through without calling the trigger's
    -- PL/pgSQL at all (a refresh writes thousands of rows a second); the function checks again.
    -- The mirror is named in the condition as a regclass constant, which a dump writes as its name.
    EXECUTE pg_catalog.format('CREATE TRIGGER tether_write_back BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW WHEN (NOT tether.sync_applying(%L::pg_catalog.regclass)) EXECUTE FUNCTION tether.mirror_write(%L)',
                   created, created::text, info.id_column);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', created, pg_catalog.format('mirror of %s kept in sync by tether', source));
    INSERT INTO tether.mirror_config (source, target, every, sweep_every, updated_column, rate_share, notify)
    VALUES (source, created, every, CASE WHEN incremental IS NULL THEN NULL ELSE sweep_every END, incremental, rate_share, notify);
    PERFORM tether.wake_worker(pg_catalog.currval('tether.mirror_config_id_seq')::int);
    RETURN created;
END
$$;

COMMENT ON FUNCTION tether.mirror(regclass, text, interval, interval, name, real, boolean)
    IS 'create a local mirror table of a tether foreign table, kept in sync by the background worker';

-- The registration of a mirror the caller owns, or a clear error.
CREATE OR REPLACE FUNCTION tether.mirror_id(target regclass) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found integer;
BEGIN
    SELECT id INTO found FROM tether.mirror_config m WHERE m.target = mirror_id.target;
    IF found IS NULL THEN
        RAISE EXCEPTION '% is not a mirror table you own', target
            USING ERRCODE = 'undefined_object', HINT = 'SELECT mirror FROM tether.mirrors lists yours';
    END IF;
    RETURN found;
END
$$;

-- Stop syncing a mirror; its table stays (with its data, now an ordinary table) unless drop is true.
CREATE OR REPLACE FUNCTION tether.unmirror(target regclass, drop boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mid integer := tether.mirror_id(target);
BEGIN
    -- The table first: a refresh merging a page holds it (and then its own rows of the catalog), so
    -- taking the catalog rows first could deadlock with it. Once this returns, no refresh writes to it.
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', target);
    PERFORM tether.forget_mirror(mid);
    IF drop THEN
        EXECUTE format('DROP TABLE %s', target);
    ELSE
        EXECUTE format('DROP TRIGGER IF EXISTS tether_write_back ON %s', target);
    END IF;
END
$$;

-- Ask for a refresh now. With wait, return once a refresh that started after the call has finished
-- (its tether.sync_runs id), and raise its error if it failed.
CREATE OR REPLACE FUNCTION tether.refresh(target regclass, wait boolean DEFAULT false, timeout interval DEFAULT interval '5 minutes')
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mid integer := tether.mirror_id(target);
    asked timestamptz := clock_timestamp();
    run record;
    failure text;
    state text;
    advice text;
BEGIN
    PERFORM tether.require_worker();
    IF (SELECT paused FROM tether.mirror_config WHERE id = mid) THEN
        RAISE EXCEPTION 'mirror % is paused', target
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'SELECT tether.resume(...) first';
    END IF;
    IF NOT wait THEN
        -- Also recorded in the catalog, so that the request outlives a server restart.
        PERFORM tether.request_refresh(mid);
        RETURN NULL;
    END IF;
    -- Waiting: the request goes through shared memory only, since a row lock held for the wait would
    -- block the refresh itself.
    IF NOT tether.wake_worker(mid) THEN
        RAISE EXCEPTION 'too many refresh requests of your mirrors are waiting for the tether worker; try again'
            USING ERRCODE = 'too_many_connections';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'tether.refresh(wait => true) needs READ COMMITTED isolation to see the refresh finish'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    LOOP
        SELECT r.id, r.error, r.error_sqlstate, r.error_detail, r.error_hint INTO run FROM tether.sync_runs r
        WHERE r.mirror_id = mid AND r.started_at >= asked AND r.finished_at IS NOT NULL
        ORDER BY r.id LIMIT 1;
        IF FOUND THEN
            -- The run's error raised again as it was (its SQLSTATE, DETAIL and HINT), so that a caller
            -- can tell an authentication failure (28000) from an exhausted rate limit (53400).
            IF run.error IS NOT NULL THEN
                failure := format('refresh of mirror %s failed: %s', target, run.error);
                state := coalesce(run.error_sqlstate, '38000');
                advice := concat_ws('; ', run.error_hint,
                                    'the mirror retries with backoff; SELECT * FROM tether.mirrors shows its state');
                IF run.error_detail IS NULL THEN
                    RAISE EXCEPTION USING MESSAGE = failure, ERRCODE = state, HINT = advice;
                END IF;
                RAISE EXCEPTION USING MESSAGE = failure, ERRCODE = state, DETAIL = run.error_detail, HINT = advice;
            END IF;
            RETURN run.id;
        END IF;
        IF clock_timestamp() - asked > timeout THEN
            RAISE EXCEPTION 'no refresh of mirror % finished within %', target, timeout
                USING ERRCODE = 'query_canceled',
                      HINT = 'a mirror created in this transaction is refreshed only after it commits; a long backfill may need a longer timeout';
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION tether.pause(target regclass) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE tether.mirror_config SET paused = true WHERE id = tether.mirror_id(target);
$$;

CREATE OR REPLACE FUNCTION tether.resume(target regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mid integer := tether.mirror_id(target);
BEGIN
    UPDATE tether.mirror_config SET paused = false WHERE id = mid;
    PERFORM tether.request_refresh(mid);
END
$$;

-- The NOTIFY channel of a mirror's changes, for roles that may read the mirror table:
--   SELECT tether.changes_channel('local.contacts') \gset
--   LISTEN :"changes_channel";
-- Each notification's payload is {"mirror": "local.contacts", "id": "42", "op": "insert"}.
CREATE OR REPLACE FUNCTION tether.changes_channel(mirror regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN tether.channel_for(mirror);

COMMENT ON FUNCTION tether.changes_channel(regclass)
    IS 'the NOTIFY channel on which a mirror announces its changes (for roles that may read the mirror)';

-- A new channel for a mirror of yours (after revoking SELECT from a role that knew the old one).
CREATE OR REPLACE FUNCTION tether.rotate_changes_channel(mirror regclass) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
RETURN tether.rotate_channel(mirror);

-- Dropping a mirror table forgets its registration; dropping a mirror's source stops the syncing
-- and removes the write-back trigger (the table stays, as an ordinary table). It runs as the
-- extension's owner: the role dropping a foreign table may not see (row-level security) the mirrors
-- other roles made of it, which must not be left pointing at nothing. (An event trigger function
-- cannot be called directly.)
CREATE OR REPLACE FUNCTION tether.forget_dropped_mirrors() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
BEGIN
    FOR m IN
        SELECT c.id, c.target, d.objid = c.source::oid AS source_dropped
        FROM tether.mirror_config c
        JOIN pg_event_trigger_dropped_objects() d
          ON d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid IN (c.target::oid, c.source::oid)
    LOOP
        DELETE FROM tether.mirror_config WHERE id = m.id;
        IF m.source_dropped AND EXISTS (SELECT 1 FROM pg_class WHERE oid = m.target::oid) THEN
            EXECUTE format('DROP TRIGGER IF EXISTS tether_write_back ON %s', m.target);
        END IF;
    END LOOP;
END
$$;

-- Each mirror table's write-back trigger made again as tether.mirror() makes it in 0.2.0: 0.1.0's
-- named its source by oid and had no WHEN condition.
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT c.target, s.id_column
             FROM tether.mirror_config c, LATERAL tether.mirror_source(c.source) s
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS tether_write_back ON %s', m.target);
        EXECUTE pg_catalog.format('CREATE TRIGGER tether_write_back BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW WHEN (NOT tether.sync_applying(%L::pg_catalog.regclass)) EXECUTE FUNCTION tether.mirror_write(%L)',
                                  m.target, m.target::text, m.id_column);
    END LOOP;
END
$$;

-- Pushes (push.sql), new in 0.2.0.
-- Pushes (reverse ETL): the rows of a local table or view sent to the API object behind a tether
-- foreign table by the background worker, with a map table of which source row became which
-- provider record. tether.push() registers a push here; what the worker knows of it is in
-- tether.push_state, each run in tether.push_runs. As for mirrors, each role sees and changes only
-- its own pushes (row-level security), and the worker runs a push's statements as its owner.
CREATE TABLE tether.push_config (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    source regclass NOT NULL,
    target regclass NOT NULL,
    -- The source column that identifies a row (the map table's primary key).
    key name NOT NULL,
    -- The map table: the source key, the provider's id, the values last sent, the outcome.
    map regclass NOT NULL UNIQUE,
    owner regrole NOT NULL DEFAULT current_user::regrole,
    -- What a run does with the provider record of a source row that is gone.
    on_delete text NOT NULL DEFAULT 'keep' CHECK (on_delete IN ('keep', 'delete')),
    -- A column of the source and the target that identifies a record at the provider (an email):
    -- a row whose create had no certain outcome is looked up by it before anything is sent again.
    match_on name,
    -- Requests in flight at once where rows go one per request (an object without a batch endpoint,
    -- updates, deletes); within the connector's rate limit, which every one of them waits for.
    concurrency integer NOT NULL DEFAULT 4 CHECK (concurrency BETWEEN 1 AND 32),
    -- Run every so often; NULL: only when asked (tether.push_now).
    every interval CHECK (every >= interval '1 second'),
    paused boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    requested_at timestamptz
);

COMMENT ON TABLE tether.push_config IS 'pushes registered with tether.push(); see the tether.pushes view';

CREATE TABLE tether.push_state (
    push_id integer PRIMARY KEY REFERENCES tether.push_config (id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'idle', 'error')),
    next_run timestamptz,
    run_id bigint,
    run_started_at timestamptz,
    last_success timestamptz,
    last_error text,
    last_error_sqlstate text,
    last_error_detail text,
    last_error_hint text,
    last_error_at timestamptz,
    failures integer NOT NULL DEFAULT 0
);

COMMENT ON TABLE tether.push_state IS 'the tether worker''s state of each push; see the tether.pushes view';

-- One row per run: what it sent and what became of it. Refused rows are counted in failed (each is in
-- the map table with the provider's message); unknown counts creates whose outcome no answer told
-- (looked up by match_on at the next run, or left for the owner to settle).
CREATE TABLE tether.push_runs (
    id bigserial PRIMARY KEY,
    push_id integer NOT NULL REFERENCES tether.push_config (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    created bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    unknown bigint NOT NULL DEFAULT 0,
    matched bigint NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    error text,
    error_sqlstate text,
    error_detail text,
    error_hint text
);

CREATE INDEX push_runs_push ON tether.push_runs (push_id, id);

COMMENT ON TABLE tether.push_runs IS 'one row per run of a push: created, updated, deleted, failed, unknown, requests';

ALTER TABLE tether.push_config ENABLE ROW LEVEL SECURITY;
CREATE POLICY push_owner ON tether.push_config
    USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'));
ALTER TABLE tether.push_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY push_owner ON tether.push_state
    USING (EXISTS (SELECT 1 FROM tether.push_config p WHERE p.id = push_id));
ALTER TABLE tether.push_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY push_owner ON tether.push_runs
    USING (EXISTS (SELECT 1 FROM tether.push_config p WHERE p.id = push_id));

-- As for mirrors: roles register through tether.push (which checks what it is given), change the
-- schedule and pause directly, and ask for runs and removal through functions that write as the
-- extension's owner.
REVOKE ALL ON tether.push_config, tether.push_state, tether.push_runs FROM PUBLIC;
GRANT SELECT ON tether.push_config, tether.push_state, tether.push_runs TO PUBLIC;
GRANT INSERT (name, source, target, key, map, owner, on_delete, match_on, every, concurrency) ON tether.push_config TO PUBLIC;
GRANT UPDATE (every, paused, concurrency) ON tether.push_config TO PUBLIC;
GRANT USAGE ON SEQUENCE tether.push_config_id_seq TO PUBLIC;

-- pg_dump keeps pushes with the extension, with their state and runs (a push restored mid-run goes on
-- from its map table, as after a crash).
SELECT pg_catalog.pg_extension_config_dump('tether.push_config', '');
SELECT pg_catalog.pg_extension_config_dump('tether.push_config_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tether.push_state', '');
SELECT pg_catalog.pg_extension_config_dump('tether.push_runs', '');
SELECT pg_catalog.pg_extension_config_dump('tether.push_runs_id_seq', '');

CREATE VIEW tether.pushes WITH (security_invoker = true) AS
SELECT
    p.name,
    p.source,
    p.target,
    p.map,
    p.key,
    p.owner,
    p.on_delete,
    p.match_on,
    p.every AS schedule,
    p.concurrency,
    CASE WHEN p.paused THEN 'paused' ELSE coalesce(s.state, 'pending') END AS state,
    s.last_success,
    s.last_error,
    s.last_error_sqlstate,
    s.last_error_detail,
    s.last_error_hint,
    s.last_error_at,
    coalesce(s.failures, 0) AS failures,
    CASE WHEN p.paused THEN NULL ELSE s.next_run END AS next_run,
    -- Progress of the run in progress.
    r.created AS created_so_far,
    r.updated AS updated_so_far,
    r.failed AS failed_so_far
FROM tether.push_config p
LEFT JOIN tether.push_state s ON s.push_id = p.id
LEFT JOIN tether.push_runs r ON r.id = s.run_id AND s.state = 'running';

COMMENT ON VIEW tether.pushes IS 'pushes: source, target, map table, schedule, state, last success and error, progress';
GRANT SELECT ON tether.pushes TO PUBLIC;

-- tether.push(source, target, key, ...): register a push of the rows of `source` (a table or view)
-- into the API object behind `target` (a tether foreign table), columns matched by name, `key`
-- identifying a source row; create its map table next to the source (`<name>_map`). The first run
-- starts once the calling transaction commits when `every` is given; tether.push_now runs it on demand.
CREATE FUNCTION tether.push(
    source regclass,
    target regclass,
    key name,
    name text DEFAULT NULL,
    on_delete text DEFAULT 'keep',
    match_on name DEFAULT NULL,
    every interval DEFAULT NULL,
    concurrency integer DEFAULT 4
) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    push_name text := coalesce(name, (SELECT c.relname::text FROM pg_catalog.pg_class c WHERE c.oid = source));
    key_type text;
    schema_name text;
    map_name text;
    created regclass;
BEGIN
    PERFORM tether.require_worker();
    IF push_name !~ '^[A-Za-z_][A-Za-z0-9_]{0,58}$' THEN
        RAISE EXCEPTION 'invalid push name "%"', push_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a push name is a letter or _ followed by up to 58 letters, digits or _ (its map table is <name>_map)';
    END IF;
    IF EXISTS (SELECT 1 FROM tether.push_config p WHERE p.name = push_name) THEN
        RAISE EXCEPTION 'a push named % exists already', push_name
            USING ERRCODE = 'duplicate_object', HINT = 'give this one another name (name => ...)';
    END IF;
    IF on_delete IS NULL OR on_delete NOT IN ('keep', 'delete') THEN
        RAISE EXCEPTION 'on_delete must be ''keep'' or ''delete'', got %', coalesce(pg_catalog.quote_literal(on_delete), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF concurrency IS NULL OR concurrency NOT BETWEEN 1 AND 32 THEN
        RAISE EXCEPTION 'concurrency must be between 1 and 32, got %', coalesce(concurrency::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF every IS NOT NULL AND every < interval '1 second' THEN
        RAISE EXCEPTION 'every must be at least 1 second, got %', every
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The target, the key, match_on and the columns both sides have, checked (errors name what is wrong).
    PERFORM tether.push_columns(source, target, key, match_on, on_delete = 'delete');
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO key_type
    FROM pg_catalog.pg_attribute a WHERE a.attrelid = source AND a.attname = key AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT n.nspname INTO schema_name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = source;
    map_name := pg_catalog.format('%I.%I', schema_name, push_name || '_map');
    EXECUTE pg_catalog.format(
        'CREATE TABLE %s (%I %s PRIMARY KEY, provider_id pg_catalog.text, status pg_catalog.text NOT NULL CHECK (status IN (''ok'', ''failed'', ''unknown'')), message pg_catalog.text, sqlstate pg_catalog.text, sent pg_catalog.jsonb, sent_hash pg_catalog.text, sent_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp())',
        map_name, key, key_type);
    created := map_name::regclass;
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (provider_id)', created);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', created,
        pg_catalog.format('which row of %s became which record of %s (tether push %s)', source, target, push_name));
    INSERT INTO tether.push_config (name, source, target, key, map, on_delete, match_on, every, concurrency)
    VALUES (push_name, source, target, key, created, on_delete, match_on, every, concurrency);
    IF every IS NOT NULL THEN
        PERFORM tether.request_push(pg_catalog.currval('tether.push_config_id_seq')::int);
    END IF;
    RETURN push_name;
END
$$;

COMMENT ON FUNCTION tether.push(regclass, regclass, name, text, text, name, interval, integer)
    IS 'register a push of a table''s rows into an API object, with a map table of source keys to provider ids';

-- The registration of a push the caller owns, or a clear error.
CREATE FUNCTION tether.push_id(push_name text) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found integer;
BEGIN
    SELECT id INTO found FROM tether.push_config p WHERE p.name = push_name;
    IF found IS NULL THEN
        RAISE EXCEPTION 'there is no push named % of yours', coalesce(quote_literal(push_name), 'NULL')
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM tether.pushes lists yours';
    END IF;
    RETURN found;
END
$$;

-- Stop a push; its map table stays unless drop_map is true.
CREATE FUNCTION tether.unpush(push_name text, drop_map boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pid integer := tether.push_id(push_name);
    map_table regclass := (SELECT map FROM tether.push_config WHERE id = pid);
BEGIN
    -- The map first, as a run takes it (then its own rows of the catalog): once this returns, no run
    -- writes to it.
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', map_table);
    PERFORM tether.forget_push(pid);
    IF drop_map THEN
        EXECUTE format('DROP TABLE %s', map_table);
    END IF;
END
$$;

-- Run a push now. Without wait, return NULL at once (the run starts after the calling transaction
-- commits). With wait, return the run once it has finished (its row of tether.push_runs: created,
-- updated, deleted, failed, unknown, requests), and raise its error if the run itself failed (a
-- refused row is not a failed run: it is in failed, and in the map table with the provider's message).
CREATE FUNCTION tether.push_now(push_name text, wait boolean DEFAULT false, timeout interval DEFAULT interval '5 minutes')
RETURNS tether.push_runs
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pid integer := tether.push_id(push_name);
    asked timestamptz := clock_timestamp();
    run tether.push_runs;
BEGIN
    PERFORM tether.require_worker();
    IF (SELECT paused FROM tether.push_config WHERE id = pid) THEN
        RAISE EXCEPTION 'push % is paused', push_name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'UPDATE tether.push_config SET paused = false first';
    END IF;
    IF NOT wait THEN
        PERFORM tether.request_push(pid);
        RETURN NULL;
    END IF;
    -- Waiting: asked through shared memory, since the catalog row this transaction would write is
    -- invisible to the worker until it commits.
    IF NOT tether.wake_push(pid) THEN
        RAISE EXCEPTION 'too many run requests of yours are waiting for the tether worker; try again'
            USING ERRCODE = 'too_many_connections';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'tether.push_now(wait => true) needs READ COMMITTED isolation to see the run finish'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    LOOP
        SELECT * INTO run FROM tether.push_runs r
        WHERE r.push_id = pid AND r.started_at >= asked AND r.finished_at IS NOT NULL
        ORDER BY r.id LIMIT 1;
        IF FOUND THEN
            IF run.error IS NOT NULL THEN
                IF run.error_detail IS NULL THEN
                    RAISE EXCEPTION USING MESSAGE = format('push %s failed: %s', push_name, run.error),
                        ERRCODE = coalesce(run.error_sqlstate, '38000'),
                        HINT = concat_ws('; ', run.error_hint, 'SELECT * FROM tether.pushes shows its state');
                END IF;
                RAISE EXCEPTION USING MESSAGE = format('push %s failed: %s', push_name, run.error),
                    ERRCODE = coalesce(run.error_sqlstate, '38000'), DETAIL = run.error_detail,
                    HINT = concat_ws('; ', run.error_hint, 'SELECT * FROM tether.pushes shows its state');
            END IF;
            RETURN run;
        END IF;
        IF clock_timestamp() - asked > timeout THEN
            RAISE EXCEPTION 'no run of push % finished within %', push_name, timeout
                USING ERRCODE = 'query_canceled',
                      HINT = 'a push registered in this transaction runs only after it commits';
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Dropping a push's source, target or map table forgets the push (as the extension's owner: the
-- role dropping it may not see other roles' pushes).
CREATE FUNCTION tether.forget_dropped_pushes() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM tether.push_config c
    USING pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid IN (c.source::oid, c.target::oid, c.map::oid);
END
$$;

CREATE EVENT TRIGGER tether_forget_dropped_pushes ON sql_drop
    EXECUTE FUNCTION tether.forget_dropped_pushes();
