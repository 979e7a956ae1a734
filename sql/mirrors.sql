-- Mirror tables: local copies of foreign tables that the tether background worker keeps in sync.
-- tether.mirror() registers a mirror here, with the settings its owner may change; what the worker
-- knows of it is in tether.mirror_state. Each role sees and changes only the mirrors it owns
-- (row-level security); the worker runs as a superuser and sees them all.
CREATE TABLE tether.mirror_config (
    id serial PRIMARY KEY,
    source regclass NOT NULL,
    target regclass NOT NULL UNIQUE,
    owner regrole NOT NULL DEFAULT current_user::regrole,
    every interval NOT NULL CHECK (every >= interval '1 second'),
    -- A full pass (which also removes records deleted at the provider) at least this often; NULL for
    -- every pass when the source has no updated-since column.
    sweep_every interval CHECK (sweep_every >= interval '1 second'),
    -- The source column an incremental refresh compares with (updated_at >= last seen - overlap).
    updated_column name,
    overlap interval NOT NULL DEFAULT interval '1 minute',
    -- Share of the connector's rate limit the worker may use for this mirror.
    rate_share real NOT NULL DEFAULT 0.5 CHECK (rate_share > 0 AND rate_share <= 1),
    notify boolean NOT NULL DEFAULT true,
    -- The NOTIFY channel of the mirror's changes: a random name, told only to roles that may read the
    -- mirror (tether.changes_channel), since a channel any role can LISTEN on would tell every role
    -- which records of which mirror changed.
    channel text NOT NULL DEFAULT 'tether_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''),
    paused boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    requested_at timestamptz DEFAULT now()
);

COMMENT ON TABLE tether.mirror_config IS 'mirror tables registered with tether.mirror(); see the tether.mirrors view';

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

CREATE TABLE tether.sync_runs (
    id bigserial PRIMARY KEY,
    mirror_id integer NOT NULL REFERENCES tether.mirror_config (id) ON DELETE CASCADE,
    pass text NOT NULL,
    resumed boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    pages bigint NOT NULL DEFAULT 0,
    rows_inserted bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    rows_deleted bigint NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    -- Why the run failed (NULL when it did not): message, SQLSTATE, DETAIL, HINT.
    error text,
    error_sqlstate text,
    error_detail text,
    error_hint text
);

CREATE INDEX sync_runs_mirror ON tether.sync_runs (mirror_id, id);

COMMENT ON TABLE tether.sync_runs IS 'one row per refresh of a mirror table';

ALTER TABLE tether.mirror_config ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirror_owner ON tether.mirror_config
    USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'));
ALTER TABLE tether.mirror_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirror_owner ON tether.mirror_state
    USING (EXISTS (SELECT 1 FROM tether.mirror_config m WHERE m.id = mirror_id));
ALTER TABLE tether.sync_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirror_owner ON tether.sync_runs
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

-- Webhook deliveries the worker accepted (signature verified), one row per event, written before the
-- provider is answered 2xx. A provider's retry of an event already recorded is not recorded twice.
-- Payloads may hold personal data: a role sees the events of the servers it may use.
CREATE TABLE tether.webhook_events (
    id bigserial PRIMARY KEY,
    server name NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_id text,
    topic text,
    -- The connector object the event is about, or the provider's name for it when no object matches.
    object text,
    record_id text,
    deleted boolean NOT NULL DEFAULT false,
    -- The mirrors whose refresh the event requested.
    mirrors integer[] NOT NULL DEFAULT '{}',
    payload jsonb NOT NULL,
    -- For signature schemes that sign no timestamp (Shopify): the body's SHA-256, by which a replayed
    -- delivery (with fresh unsigned headers) is recognised and not recorded again.
    body_sha256 text
);

CREATE UNIQUE INDEX webhook_events_once ON tether.webhook_events (server, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX webhook_events_received ON tether.webhook_events (received_at);
CREATE INDEX webhook_events_body ON tether.webhook_events (server, body_sha256) WHERE body_sha256 IS NOT NULL;

COMMENT ON TABLE tether.webhook_events IS 'webhook events received by the tether worker (kept for tether.webhook_retention)';

ALTER TABLE tether.webhook_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY server_user ON tether.webhook_events
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server s
                   WHERE s.srvname = server AND pg_catalog.has_server_privilege(s.oid, 'USAGE')));
REVOKE ALL ON tether.webhook_events FROM PUBLIC;
GRANT SELECT ON tether.webhook_events TO PUBLIC;

-- Records a webhook said were deleted, waiting for the mirror's next refresh to check them with the
-- provider (a get by id, or a full pass where there is none) and remove them; oldest first, a bounded
-- number per refresh.
CREATE TABLE tether.mirror_deletions (
    mirror_id integer NOT NULL REFERENCES tether.mirror_config (id) ON DELETE CASCADE,
    record_id text NOT NULL,
    event bigint REFERENCES tether.webhook_events (id) ON DELETE SET NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (mirror_id, record_id)
);
REVOKE ALL ON tether.mirror_deletions FROM PUBLIC;

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

-- The source foreign table of a mirror table, for its write-back trigger. As the extension's owner: a
-- role another role lets write to its mirror cannot see the mirror's registration (row-level security).
-- It tells nothing secret: the mirror table's comment and the catalogs show its source to every role.
CREATE FUNCTION tether.mirror_source_of(mirror regclass) RETURNS regclass
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
CREATE FUNCTION tether.mirror_write() RETURNS trigger
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
CREATE FUNCTION tether.mirror(
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
CREATE FUNCTION tether.mirror_id(target regclass) RETURNS integer
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
CREATE FUNCTION tether.unmirror(target regclass, drop boolean DEFAULT false) RETURNS void
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
CREATE FUNCTION tether.refresh(target regclass, wait boolean DEFAULT false, timeout interval DEFAULT interval '5 minutes')
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

CREATE FUNCTION tether.pause(target regclass) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE tether.mirror_config SET paused = true WHERE id = tether.mirror_id(target);
$$;

CREATE FUNCTION tether.resume(target regclass) RETURNS void
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
CREATE FUNCTION tether.changes_channel(mirror regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN tether.channel_for(mirror);

COMMENT ON FUNCTION tether.changes_channel(regclass)
    IS 'the NOTIFY channel on which a mirror announces its changes (for roles that may read the mirror)';

-- A new channel for a mirror of yours (after revoking SELECT from a role that knew the old one).
CREATE FUNCTION tether.rotate_changes_channel(mirror regclass) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
RETURN tether.rotate_channel(mirror);

-- Dropping a mirror table forgets its registration; dropping a mirror's source stops the syncing
-- and removes the write-back trigger (the table stays, as an ordinary table). It runs as the
-- extension's owner: the role dropping a foreign table may not see (row-level security) the mirrors
-- other roles made of it, which must not be left pointing at nothing. (An event trigger function
-- cannot be called directly.)
CREATE FUNCTION tether.forget_dropped_mirrors() RETURNS event_trigger
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

CREATE EVENT TRIGGER tether_forget_dropped_mirrors ON sql_drop
    EXECUTE FUNCTION tether.forget_dropped_mirrors();
