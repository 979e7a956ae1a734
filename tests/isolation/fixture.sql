-- The fixture of the isolation specs (tests/isolation/specs/*.spec, run by pg_isolation_regress):
-- scripts/test loads it with psql into the database the mirror worker serves before the specs run.
-- The specs cannot include files or read the environment, so what they share is made here once:
--   - everything of the SQL scenarios' fixture (tests/regress/fixtures/base.sql): the extension,
--     schema fake with the fake provider's control tables and helpers, servers hs and api;
--   - the helpers below, which hold a page in flight at the fake provider and wait for the worker.
\i tests/regress/fixtures/base.sql
\set ECHO none
SET client_min_messages = warning;
-- tether.request on server fake needs a user mapping (the fake's control endpoints take no credentials).
CREATE USER MAPPING FOR CURRENT_USER SERVER fake;

-- fake.hold('method=GET&path_prefix=/crm/v3/objects/contacts&times=1'): the next matching requests
-- are answered from the fake's data as they find it, but only once fake.release() is called: a page
-- in flight, read by the provider and not yet received, while a session changes the data.
CREATE FUNCTION fake.hold(params text) RETURNS boolean LANGUAGE sql AS $$
    SELECT (tether.request('fake', 'POST', '/_control/hold?' || params) ->> 'hold')::boolean
$$;
CREATE FUNCTION fake.release() RETURNS bigint LANGUAGE sql AS $$
    SELECT (tether.request('fake', 'POST', '/_control/release') ->> 'released')::bigint
$$;
-- fake.wait_held(n): true once n answers were held since the fake's last reset (false after 60 s).
CREATE FUNCTION fake.wait_held(n integer) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        IF (tether.request('fake', 'GET', '/_control/held',
                           jsonb_build_object('at_least', n, 'wait_ms', 5000)) ->> 'held')::int >= n THEN
            RETURN true;
        END IF;
        IF clock_timestamp() - t0 > interval '60 seconds' THEN
            RETURN false;
        END IF;
    END LOOP;
END
$$;

-- fake.until(probe, m): true once the query probe (one boolean; $1 is m) returns true, false after
-- 60 s. Each try sees what committed since the last.
CREATE FUNCTION fake.until(probe text, m regclass DEFAULT NULL) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    ok boolean;
BEGIN
    LOOP
        EXECUTE probe INTO ok USING m;
        IF ok THEN
            RETURN true;
        END IF;
        IF clock_timestamp() - t0 > interval '60 seconds' THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;

-- fake.wait_for_worker(m): waits until no refresh of mirror m is running or asked for (the worker has
-- applied every request made so far), then returns the mirror's state ('timed out' after 60 s).
CREATE FUNCTION fake.wait_for_worker(m regclass) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    -- Two statements: the state is read in a snapshot taken after the wait.
    IF NOT fake.until($q$
        SELECT NOT EXISTS (SELECT 1 FROM tether.mirror_config c LEFT JOIN tether.mirror_state s ON s.mirror_id = c.id
                           WHERE c.target = $1
                             AND (coalesce(s.state, 'pending') IN ('pending', 'running')
                                  OR c.requested_at > coalesce(s.run_started_at, '-infinity')))
           AND NOT EXISTS (SELECT 1 FROM pg_locks l JOIN tether.mirror_config c ON l.objid = c.id
                           WHERE l.locktype = 'userlock' AND c.target = $1)$q$, m) THEN
        RETURN 'timed out';
    END IF;
    RETURN coalesce((SELECT state FROM tether.mirrors WHERE mirror = m), 'no mirror');
END
$$;

-- fake.wait_for_lock_wait(m): true once the sync process of mirror m waits for a lock on its table
-- (a merge waiting for a session's write to end), false after 60 s.
CREATE FUNCTION fake.wait_for_lock_wait(m regclass) RETURNS boolean LANGUAGE sql AS $$
    SELECT fake.until($q$
        SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                       WHERE l.relation = $1 AND NOT l.granted AND a.backend_type = 'tether sync')$q$, m)
$$;

-- fake.wait_for_no_sync(): true once no sync process runs (false after 60 s).
CREATE FUNCTION fake.wait_for_no_sync() RETURNS boolean LANGUAGE sql AS $$
    SELECT fake.until($q$SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'tether sync')$q$)
$$;

-- Webhooks: server hs gets the HubSpot app secret of the test run, and fake.hubspot_webhook(object,
-- id, op) has the fake provider send one signed delivery about a record to the receiver
-- (/webhooks/hs), returning the receiver's HTTP status. The receiver's URL and the secret are kept
-- in fake.settings for it (the specs cannot read the environment).
\getenv hooks TETHER_WEBHOOK_URL
\getenv hs_secret TETHER_TEST_HUBSPOT_WEBHOOK_SECRET
ALTER USER MAPPING FOR CURRENT_USER SERVER hs OPTIONS (ADD webhook_secret :'hs_secret');
CREATE TABLE fake.settings AS SELECT :'hooks'::text AS webhook_url, :'hs_secret'::text AS hubspot_secret;
CREATE FUNCTION fake.hubspot_webhook(object text, id text, op text) RETURNS integer LANGUAGE sql AS $$
    SELECT (tether.request('fake', 'POST', '/_control/webhook',
                           jsonb_build_object('provider', 'hubspot', 'url', webhook_url || '/webhooks/hs',
                                              'secret', hubspot_secret, 'object', object, 'id', id, 'op', op))
            ->> 'status')::integer
    FROM fake.settings
$$;

-- fake.differences(m, source): the rows where mirror m and its source foreign table (the provider)
-- differ, over the source's columns: '+' a row only the mirror has, '-' one only the provider has.
CREATE FUNCTION fake.differences(m regclass, source regclass) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = source AND attnum > 0 AND NOT attisdropped;
    RETURN QUERY EXECUTE format(
        'SELECT d FROM (SELECT ''+ '' || r::text AS d FROM (SELECT %1$s FROM %2$s EXCEPT SELECT %1$s FROM %3$s) r
                        UNION ALL
                        SELECT ''- '' || r::text FROM (SELECT %1$s FROM %3$s EXCEPT SELECT %1$s FROM %2$s) r) x
         ORDER BY d', cols, m, source);
END
$$;
RESET client_min_messages;

-- fake.step(n): lets the next n held answers go one by one (each once it is held), as a refresh
-- requests its pages one after another; true once all n went (false if one never came).
CREATE FUNCTION fake.step(n integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        IF NOT fake.wait_held(i) THEN
            RETURN false;
        END IF;
        PERFORM fake.release();
    END LOOP;
    RETURN true;
END
$$;
