-- Mirror tables: a local copy of a foreign table that the background worker keeps in sync (the test
-- cluster runs with shared_preload_libraries = 'tether' and tether.database = 'tether_regress').
-- Writes to the mirror go to the provider first. Timestamps vary from run to run, so the scenario
-- shows facts about them rather than their values.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
CREATE FOREIGN TABLE fake.contact_seeder (seeded bigint) SERVER fake
    OPTIONS (path '/_control/seed', query 'object=contacts&count=250');
SELECT seeded FROM fake.contact_seeder;
CREATE SCHEMA mcrm;
CREATE SCHEMA local;
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts, companies) FROM SERVER hs INTO mcrm;

-- The first backfill runs in the worker after the creating transaction commits
-- (fake.wait_for_first_sync, of the fixture, waits for its end).
SELECT tether.mirror('mcrm.contacts', 'local.contacts', every => '1 hour');
SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
WHERE attrelid = 'local.contacts'::regclass AND attnum > 0 ORDER BY attnum;
-- (PostgreSQL 18 keeps NOT NULL constraints in pg_constraint too: those are left out.)
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'local.contacts'::regclass AND contype <> 'n';
-- The write-back trigger names the mirror by name (a regclass constant) and its id column: no oid.
SELECT tgname, pg_get_triggerdef(oid) ~ 'BEFORE INSERT OR DELETE OR UPDATE .* FOR EACH ROW WHEN .*NOT tether.sync_applying\(.*''local.contacts''::regclass.*\).* EXECUTE FUNCTION tether.mirror_write\(''id''\)$' AS write_back
FROM pg_trigger WHERE tgrelid = 'local.contacts'::regclass;
SELECT fake.wait_for_first_sync('local.contacts');

-- A backfill of 250 contacts, 100 a page: three pages, merged and committed together (a transaction
-- takes up to 5,000 records).
SELECT count(*), count(DISTINCT id), bool_and(_synced_at IS NOT NULL) AS stamped FROM local.contacts;
SELECT (SELECT count(*) FROM (SELECT id, email, city, updated_at FROM local.contacts
                              EXCEPT SELECT id, email, city, updated_at FROM mcrm.contacts) d) AS rows_differing;
SELECT mirror, source, schedule, state, rows, last_error, running_pass, incremental_by, sweep_every,
       last_success IS NOT NULL AS synced, next_run > now() + interval '59 minutes' AS next_in_an_hour
FROM tether.mirrors;
SELECT pass, resumed, pages, rows_inserted, rows_updated, rows_deleted, requests, error, finished_at >= started_at AS finished
FROM tether.sync_runs ORDER BY id;

-- An incremental refresh asks only for the records changed since the last one (updated_at, pushed to
-- HubSpot's search), and updates the row that changed at the provider; it also lists the archived
-- records (GET ...?archived=true: mirror_deletions shows what it does with them).
UPDATE mcrm.contacts SET city = 'Lisbon' WHERE id = '7';
SELECT city FROM local.contacts WHERE id = '7';
SELECT * FROM fake.reset;
SELECT tether.refresh('local.contacts', wait => true) IS NOT NULL AS refreshed;
SELECT city, updated_at = (SELECT updated_at FROM mcrm.contacts WHERE id = '7') AS same_updated_at
FROM local.contacts WHERE id = '7';
SELECT pass, pages, rows_inserted, rows_updated, rows_deleted, error FROM tether.sync_runs ORDER BY id DESC LIMIT 1;
SELECT method, path, nullif(body, '')::jsonb #> '{filterGroups,0,filters,0}' ->> 'propertyName' AS filtered_on,
       nullif(body, '')::jsonb #> '{filterGroups,0,filters,0}' ->> 'operator' AS op
FROM fake.requests WHERE path LIKE '/crm/%';

-- Writes to the mirror go to HubSpot first; the provider's answer (the id it generated, its
-- timestamps) is merged into the row.
INSERT INTO local.contacts (email, firstname) VALUES ('mirror-new@example.com', 'Mira')
RETURNING id IS NOT NULL AS has_id, email, firstname, created_at IS NOT NULL AS has_created_at;
SELECT l.id = c.id AS same_id, c.firstname FROM local.contacts l JOIN mcrm.contacts c USING (email)
WHERE email = 'mirror-new@example.com';
UPDATE local.contacts SET lastname = 'Lane' WHERE email = 'mirror-new@example.com'
RETURNING lastname, updated_at > created_at AS provider_updated;
SELECT lastname FROM mcrm.contacts WHERE email = 'mirror-new@example.com';
-- Only changed columns are sent; an update that changes nothing sends nothing.
SELECT * FROM fake.reset;
UPDATE local.contacts SET lastname = 'Lane' WHERE email = 'mirror-new@example.com';
SELECT count(*) AS requests FROM fake.requests WHERE path LIKE '/crm/%';
DELETE FROM local.contacts WHERE email = 'mirror-new@example.com';
SELECT count(*) AS at_provider FROM mcrm.contacts WHERE email = 'mirror-new@example.com';
SELECT count(*) AS in_mirror FROM local.contacts WHERE email = 'mirror-new@example.com';

-- The provider refuses a write: the same native error as a foreign-table write, and the mirror is
-- unchanged.
UPDATE local.contacts SET email = 'not-an-email' WHERE id = '8';
SELECT email FROM local.contacts WHERE id = '8';
INSERT INTO local.contacts (email) VALUES ('contact9@example.com');
SELECT count(*) FROM local.contacts WHERE email = 'contact9@example.com';
UPDATE local.contacts SET id = '99999' WHERE id = '8';

-- A record deleted at the provider disappears with the next full pass (the sweep).
DELETE FROM mcrm.contacts WHERE id = '9';
UPDATE tether.mirror_config SET sweep_every = '1 second' WHERE target = 'local.contacts'::regclass;
SELECT pg_sleep(1.1);
SELECT tether.refresh('local.contacts', wait => true) IS NOT NULL AS refreshed;
SELECT count(*) AS deleted_row FROM local.contacts WHERE id = '9';
SELECT pass, pages, rows_inserted, rows_updated, rows_deleted, error FROM tether.sync_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS rows_differing FROM (SELECT id, email, city FROM local.contacts
                                       EXCEPT SELECT id, email, city FROM mcrm.contacts) d;
UPDATE tether.mirror_config SET sweep_every = '1 hour' WHERE target = 'local.contacts'::regclass;

-- A failing provider puts its mirror in the error state (retried with backoff); other mirrors keep
-- syncing.
SELECT fake.inject('status=401&times=1000&path_prefix=/crm/v3/objects/companies');
SELECT tether.mirror('mcrm.companies', 'local.companies', every => '1 hour');
SELECT fake.wait_for_first_sync('local.companies');
SELECT mirror, state, failures, split_part(last_error, ' (', 1) AS last_error, rows, next_run > now() AS retry_scheduled
FROM tether.mirrors WHERE mirror = 'local.companies'::regclass;
SELECT tether.refresh('local.contacts', wait => true) IS NOT NULL AS other_mirror_refreshed;
SELECT tether.refresh('local.companies', wait => true);
-- The failure keeps its identity: the run's SQLSTATE, DETAIL and HINT are recorded, and
-- tether.refresh(wait => true) raises them again, so that PL/pgSQL can tell an authentication failure
-- (28000) from an exhausted rate limit (53400).
SELECT last_error_sqlstate, last_error_detail LIKE 'HTTP 401 from GET /crm/v3/objects/companies%' AS detail_kept,
       last_error_hint FROM tether.mirrors WHERE mirror = 'local.companies'::regclass;
SELECT r.error_sqlstate, r.error_detail IS NOT NULL AS has_detail FROM tether.sync_runs r
JOIN tether.mirror_config m ON m.id = r.mirror_id WHERE m.target = 'local.companies'::regclass ORDER BY r.id DESC LIMIT 1;
CREATE FUNCTION pg_temp.refresh_outcome(m regclass) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tether.refresh(m, wait => true);
    RETURN 'refreshed';
EXCEPTION
    WHEN invalid_authorization_specification THEN RETURN 'credentials refused (' || SQLSTATE || ')';
    WHEN configuration_limit_exceeded THEN RETURN 'rate limit exhausted (' || SQLSTATE || ')';
END
$$;
SELECT pg_temp.refresh_outcome('local.companies');
SELECT * FROM fake.reset;
SELECT fake.inject('status=429&retry_after=0&times=1000&path_prefix=/crm/v3/objects/companies');
SELECT pg_temp.refresh_outcome('local.companies');
SELECT last_error_sqlstate FROM tether.mirrors WHERE mirror = 'local.companies'::regclass;
SELECT * FROM fake.reset;
SELECT tether.refresh('local.companies', wait => true) IS NOT NULL AS recovered;
SELECT mirror, state, failures, rows, last_error IS NOT NULL AS keeps_last_error FROM tether.mirrors ORDER BY mirror;
SELECT m.target, r.pass, r.pages, r.rows_inserted, split_part(r.error, ' (', 1) AS error
FROM tether.sync_runs r JOIN tether.mirror_config m ON m.id = r.mirror_id
WHERE m.target = 'local.companies'::regclass ORDER BY r.id;

-- Pause and resume.
SELECT tether.pause('local.companies');
SELECT state, next_run FROM tether.mirrors WHERE mirror = 'local.companies'::regclass;
SELECT tether.refresh('local.companies');
SELECT tether.resume('local.companies');
SELECT state FROM tether.mirrors WHERE mirror = 'local.companies'::regclass;

-- Bad input.
SELECT tether.mirror('local.contacts', 'local.again');
SELECT tether.mirror('mcrm.contacts', 'local.contacts');
SELECT tether.mirror('mcrm.contacts', 'local.c2', rate_share => 1.5);
SELECT tether.mirror('mcrm.contacts', 'local.c2', every => '10 ms');
SELECT tether.mirror('mcrm.contacts', 'local.c2', updated_column => 'nope');
SELECT tether.refresh('mcrm.contacts');

-- Other roles neither see nor drive someone else's mirrors.
CREATE ROLE mirror_stranger;
GRANT USAGE ON SCHEMA tether, local TO mirror_stranger;
SET ROLE mirror_stranger;
SELECT count(*) FROM tether.mirrors;
SELECT count(*) FROM tether.sync_runs;
SELECT tether.refresh('local.contacts');
UPDATE tether.mirror_state SET state = 'idle';
RESET ROLE;
REVOKE USAGE ON SCHEMA tether, local FROM mirror_stranger;
DROP ROLE mirror_stranger;

-- unmirror stops the syncing; the table stays as an ordinary table unless drop => true.
SELECT tether.unmirror('local.companies');
SELECT count(*) > 0 AS kept_rows FROM local.companies;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'local.companies'::regclass;
SELECT tether.unmirror('local.contacts', drop => true);
SELECT to_regclass('local.contacts');
SELECT count(*) FROM tether.mirrors;
SELECT count(*) FROM tether.sync_runs;

-- Dropping a mirror table forgets the mirror; dropping a mirror's source stops its syncing and
-- removes the write-back trigger, keeping the table.
SELECT tether.mirror('mcrm.companies', 'local.companies_again', every => '1 hour') IS NOT NULL AS created;
DROP TABLE local.companies_again;
SELECT count(*) FROM tether.mirror_config;
CREATE FOREIGN TABLE mcrm.doomed (id text, name text) SERVER hs OPTIONS (object 'companies');
SELECT tether.mirror('mcrm.doomed', 'local.doomed', every => '1 hour') IS NOT NULL AS created;
DROP FOREIGN TABLE mcrm.doomed;
SELECT count(*) FROM tether.mirror_config;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'local.doomed'::regclass;
INSERT INTO local.doomed (id, name) VALUES ('x', 'now an ordinary table');
SELECT count(*) FROM tether.sync_runs;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.contact_seeder;
DROP SCHEMA mcrm, local CASCADE;
CALL fake.check_clean();
