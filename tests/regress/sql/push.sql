-- Push (reverse ETL): the rows of a local table sent to HubSpot contacts by the background worker, in
-- batches, each row's outcome in the map table, nothing sent twice.

-- Set-up: the shared fixture (the fake provider reset, server hs) and crm.people (HubSpot contacts).
\i tests/regress/fixtures/base.sql
-- Creates of unknown outcome are settled at once here (tether.push_settle_after: 1 minute by default).
ALTER SYSTEM SET tether.push_settle_after = 0;
SELECT pg_reload_conf();
\i tests/regress/fixtures/crm.sql
CREATE SCHEMA app;
CREATE TABLE app.signups (source_id text PRIMARY KEY, email text, firstname text, lastname text, plan text);
INSERT INTO app.signups VALUES
    ('s1', 'ann@example.com', 'Ann', 'Archer', 'pro'),
    ('s2', 'not-an-email', 'Bob', 'Baker', 'free'),
    ('s3', 'contact1@example.com', 'Cid', 'Cole', 'free'),
    ('s4', 'dee@example.com', 'Dee', 'Dunn', 'pro');

-- Registration: the map table next to the source; columns matched by name (plan is not a column
-- of crm.people: not sent).
SELECT tether.push('app.signups', 'crm.people', 'source_id', match_on => 'email');
SELECT name, source, target, map, key, on_delete, match_on, schedule, state FROM tether.pushes;
\d app.signups_map

-- A run: one batch create of the four rows. Two are created; HubSpot refuses the invalid email and
-- the existing contact (its 207 names each by its trace id), and the run goes on.
SELECT * FROM fake.reset;
SELECT created, updated, deleted, failed, unknown, matched, requests, error FROM tether.push_now('signups', wait => true);
SELECT method, path, body::jsonb -> 'inputs' -> 0 AS first_input FROM fake.requests;
SELECT source_id, status, provider_id IS NOT NULL AS mapped, message, sqlstate, sent FROM app.signups_map ORDER BY 1;
SELECT m.source_id, p.email, p.firstname FROM app.signups_map m JOIN crm.people p ON p.id = m.provider_id ORDER BY 1;

-- A second run with nothing changed sends nothing: the refused rows are not sent again either.
-- (fake.requests lists every request since the reset; :seen skips those of the steps before.)
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, updated, failed, requests FROM tether.push_now('signups', wait => true);
SELECT count(*) - :seen AS requests FROM fake.requests;

-- A changed row sends one update with only its changed column; a fixed row is created.
UPDATE app.signups SET lastname = 'Archer-Smith' WHERE source_id = 's1';
UPDATE app.signups SET email = 'bob@example.com' WHERE source_id = 's2';
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, updated, failed, requests FROM tether.push_now('signups', wait => true);
SELECT method, regexp_replace(path, '[0-9]+$', 'ID') AS path, body FROM (SELECT * FROM fake.requests OFFSET :seen) r ORDER BY method;
SELECT source_id, status, message IS NULL AS no_message FROM app.signups_map ORDER BY 1;

-- Several changed rows go in one batch update (HubSpot's batch/update, each input with its id and
-- only its changed properties); one HubSpot refuses is recorded and keeps the values last accepted.
UPDATE app.signups SET firstname = 'Ann B.' WHERE source_id = 's1';
UPDATE app.signups SET email = 'not-valid-either' WHERE source_id = 's2';
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, updated, failed, requests FROM tether.push_now('signups', wait => true);
SELECT method, path, regexp_replace(body, '"id":"[0-9]+"', '"id":"ID"', 'g') AS body
FROM (SELECT * FROM fake.requests OFFSET :seen) r;
SELECT source_id, status, sqlstate, sent ->> 'email' AS email_last_accepted FROM app.signups_map WHERE source_id IN ('s1', 's2') ORDER BY 1;
UPDATE app.signups SET email = 'bob2@example.com' WHERE source_id = 's2';
SELECT updated, requests FROM tether.push_now('signups', wait => true);

-- A create whose outcome was never learned (the process died between sending and recording) is
-- looked up by match_on before anything is sent again: found, it is mapped and brought up to date,
-- not created twice.
UPDATE app.signups_map SET status = 'unknown', provider_id = NULL, sent = NULL WHERE source_id = 's4';
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, updated, matched, unknown FROM tether.push_now('signups', wait => true);
SELECT method, regexp_replace(path, '[0-9]+$', 'ID') AS path FROM (SELECT * FROM fake.requests OFFSET :seen) r ORDER BY 1, 2;
SELECT count(*) AS dee_records FROM crm.people WHERE email = 'dee@example.com';
SELECT source_id, status FROM app.signups_map WHERE source_id = 's4';

-- The lookup takes a group of rows at once (up to 100): one search with IN.
EXPLAIN (COSTS OFF) SELECT id::text, email::text FROM crm.people
WHERE email = ANY (CAST('{a@example.com,b@example.com}' AS text[]));

-- Until tether.push_settle_after has passed, such a row is left alone, neither looked up nor sent
-- again: the request may still be in flight, and a provider's search may not find a new record yet.
ALTER SYSTEM SET tether.push_settle_after = '1h';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
UPDATE app.signups_map SET status = 'unknown', provider_id = NULL, sent = NULL, sent_at = clock_timestamp() WHERE source_id = 's4';
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, updated, matched, unknown FROM tether.push_now('signups', wait => true);
SELECT count(*) - :seen AS requests FROM fake.requests;
ALTER SYSTEM SET tether.push_settle_after = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT created, updated, matched, unknown FROM tether.push_now('signups', wait => true);

-- on_delete => 'delete': the provider record of a row gone from the source is deleted, and its map
-- row with it.
SELECT tether.unpush('signups');
SELECT count(*) AS still_mapped FROM app.signups_map;
CREATE TABLE app.leads (id int PRIMARY KEY, email text, firstname text);
INSERT INTO app.leads VALUES (1, 'lead1@example.com', 'L1'), (2, 'lead2@example.com', 'L2');
SELECT tether.push('app.leads', 'crm.people', 'id', on_delete => 'delete');
SELECT created, deleted FROM tether.push_now('leads', wait => true);
DELETE FROM app.leads WHERE id = 2;
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, deleted, requests FROM tether.push_now('leads', wait => true);
SELECT method, regexp_replace(path, '[0-9]+$', 'ID') AS path FROM (SELECT * FROM fake.requests OFFSET :seen) r;
SELECT id, status FROM app.leads_map ORDER BY 1;

-- A push with a schedule runs by itself, and again once `every` has passed (the second run finds
-- nothing to send).
CREATE TABLE app.scheduled (id int PRIMARY KEY, email text);
INSERT INTO app.scheduled VALUES (1, 'scheduled1@example.com');
SELECT tether.push('app.scheduled', 'crm.people', 'id', every => '1 second');
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN (SELECT count(*) FROM tether.push_runs r JOIN tether.push_config p ON p.id = r.push_id
                   WHERE p.name = 'scheduled' AND r.finished_at IS NOT NULL) >= 2;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT count(*) >= 2 AS ran_twice, sum(created) AS created, count(error) AS errors
FROM tether.push_runs r JOIN tether.push_config p ON p.id = r.push_id
WHERE p.name = 'scheduled' AND r.finished_at IS NOT NULL;
SELECT schedule, concurrency, next_run IS NOT NULL AS next_run_set FROM tether.pushes WHERE name = 'scheduled';
SELECT tether.unpush('scheduled', drop_map => true);

-- A run that cannot go on is the run's error, raised by push_now with its SQLSTATE: a key that does
-- not identify rows, a refused token.
ALTER TABLE app.leads DROP CONSTRAINT leads_pkey;
INSERT INTO app.leads VALUES (1, 'twin@example.com', 'Twin');
SELECT fake.sqlstate_of($$SELECT tether.push_now('leads', wait => true)$$) AS duplicate_key;
SELECT last_error, last_error_sqlstate FROM tether.pushes WHERE name = 'leads';
DELETE FROM app.leads WHERE email = 'twin@example.com';
INSERT INTO app.leads VALUES (3, 'lead3@example.com', 'L3');
SELECT fake.inject('status=401&times=1&path_prefix=/crm/v3/objects/contacts');
SELECT fake.sqlstate_of($$SELECT tether.push_now('leads', wait => true)$$) AS refused_token;
-- The row the refused request carried is not in the map (nothing was created): the next run creates it.
SELECT id, status FROM app.leads_map ORDER BY 1;
SELECT created, failed, requests, error IS NULL AS ok FROM tether.push_now('leads', wait => true);

-- Bad registrations name what is wrong.
SELECT tether.push('app.leads', 'app.signups', 'id', name => 'l2');
SELECT tether.push('app.leads', 'crm.people', 'nope', name => 'l2');
SELECT tether.push('app.leads', 'crm.people', 'id', name => 'leads');
SELECT tether.push('app.leads', 'crm.people', 'id', name => 'bad name');
SELECT tether.push('app.leads', 'crm.people', 'id', name => 'l2', on_delete => 'purge');
SELECT tether.push('app.leads', 'crm.people', 'id', name => 'l2', match_on => 'plan');
SELECT tether.push('app.leads', 'crm.people', 'id', name => 'l2', concurrency => 0);
CREATE FOREIGN TABLE crm.people_ro (id text, email text) SERVER hs OPTIONS (object 'contacts', read_only 'true');
SELECT tether.push('app.leads', 'crm.people_ro', 'id', name => 'l2');
CREATE TABLE app.nothing_in_common (id int, shoe_size int);
SELECT tether.push('app.nothing_in_common', 'crm.people', 'id');
SELECT tether.push_now('nope');

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
ALTER SYSTEM RESET tether.push_settle_after;
SELECT pg_reload_conf();
SELECT tether.unpush('leads', drop_map => true);
DROP SCHEMA app CASCADE;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
