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
