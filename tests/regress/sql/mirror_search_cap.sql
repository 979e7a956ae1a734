-- An incremental refresh whose changes are more than the provider's search endpoint can return
-- (HubSpot: 10,000 results) reads the full list instead, in the same run: no record is skipped, the
-- mirror does not stay in error, and the next incremental refresh is an incremental one again.

-- Set-up: the shared fixture, 10,050 contacts and a mirror of them, through a server without HubSpot's
-- pacing (9 requests a second would make the scenario's 400 pages last a minute).
\i tests/regress/fixtures/base.sql
SELECT fake.seed('contacts', 10050);
ALTER SERVER hs OPTIONS (ADD rate_limit 'none');
CREATE SCHEMA capped;
CREATE FOREIGN TABLE capped.contacts (id text, email text, city text, updated_at timestamptz)
    SERVER hs OPTIONS (object 'contacts');
SELECT tether.mirror('capped.contacts', 'capped.m', every => '1 day', sweep_every => '1 day') IS NOT NULL AS mirrored;
SELECT fake.wait_for_first_sync('capped.m');
SELECT count(*) FROM capped.m;

-- At the provider: one record changed, one deleted. An overlap of a century makes the next incremental
-- refresh search for every record changed in it: all 10,049, more than the search returns.
UPDATE capped.contacts SET city = 'Capped City' WHERE id = '7';
DELETE FROM capped.contacts WHERE id = '8';
UPDATE tether.mirror_config SET overlap = '100 years' WHERE target = 'capped.m'::regclass;
-- The same search from a query is refused with a clear error (54000) rather than cut short.
SELECT count(*) FROM capped.contacts WHERE updated_at >= now() - interval '100 years';
\set VERBOSITY sqlstate
SELECT count(*) FROM capped.contacts WHERE updated_at >= now() - interval '100 years';
\set VERBOSITY default
SELECT tether.refresh('capped.m', wait => true) IS NOT NULL AS refreshed;

-- One run: the search's first page told the total, and a full pass read the list in its place (the
-- run is recorded as the full pass it became, without error). The backfill and the pass read 101
-- pages each, in batches of 50 (each batch's stream goes on fetching while the batch is merged), one
-- request a page (the search's refused first page is not counted: its batch was never applied).
SELECT pass, error, pages, requests, rows_deleted FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('capped.m') ORDER BY id;
SELECT state, last_error, rows, running_pass FROM tether.mirrors WHERE mirror = 'capped.m'::regclass;
SELECT (SELECT count(*) FROM (SELECT id, email, city FROM capped.m EXCEPT SELECT id, email, city FROM capped.contacts) d) AS only_in_mirror,
       (SELECT count(*) FROM (SELECT id, email, city FROM capped.contacts EXCEPT SELECT id, email, city FROM capped.m) d) AS only_at_provider;
SELECT city FROM capped.m WHERE id = '7';
SELECT count(*) AS deleted_record FROM capped.m WHERE id = '8';

-- With the usual overlap, the next refresh is incremental again, and finds the next change.
UPDATE tether.mirror_config SET overlap = '1 minute' WHERE target = 'capped.m'::regclass;
UPDATE capped.contacts SET city = 'After the cap' WHERE id = '9';
SELECT tether.refresh('capped.m', wait => true) IS NOT NULL AS refreshed;
SELECT pass, error, rows_updated FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('capped.m') ORDER BY id DESC LIMIT 1;
SELECT city FROM capped.m WHERE id = '9';

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA capped CASCADE;
ALTER SERVER hs OPTIONS (DROP rate_limit);
CALL fake.check_clean();
