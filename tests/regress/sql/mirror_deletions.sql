-- Deletions between full passes: where the connector declares where the provider lists deleted records
-- (`deletions`: HubSpot's archived records, Salesforce's queryAll of IsDeleted rows), an incremental
-- refresh removes them, so a deleted record leaves the mirror within one refresh instead of waiting for
-- the next full pass.

-- Set-up: the shared fixture, HubSpot contacts and Salesforce contacts mirrored with full passes a day
-- apart (so every refresh below is incremental).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/salesforce.sql
CREATE SCHEMA gone;
CREATE FOREIGN TABLE gone.hs_contacts (id text, email text, city text, updated_at timestamptz)
    SERVER hs OPTIONS (object 'contacts');
CREATE FOREIGN TABLE gone.sf_contacts (id text, last_name text, last_modified_date timestamptz)
    SERVER sf OPTIONS (object 'contact');
SELECT tether.mirror('gone.hs_contacts', 'gone.hs', every => '1 day', sweep_every => '1 day') IS NOT NULL AS mirrored;
SELECT tether.mirror('gone.sf_contacts', 'gone.sf', every => '1 day', sweep_every => '1 day') IS NOT NULL AS mirrored;
SELECT fake.wait_for_first_sync('gone.hs'), fake.wait_for_first_sync('gone.sf');
SELECT (SELECT count(*) FROM gone.hs) AS hubspot_rows, (SELECT count(*) FROM gone.sf) AS salesforce_rows;

-- HubSpot: contact 5 deleted (archived) and contact 6 changed at the provider. One incremental refresh
-- applies both: the search finds the change, the archived listing the deletion.
DELETE FROM gone.hs_contacts WHERE id = '5';
UPDATE gone.hs_contacts SET city = 'Still here' WHERE id = '6';
SELECT tether.refresh('gone.hs', wait => true) IS NOT NULL AS refreshed;
SELECT pass, rows_updated, rows_deleted, error FROM tether.sync_runs
WHERE mirror_id = tether.mirror_id('gone.hs') ORDER BY id DESC LIMIT 1;
SELECT (SELECT count(*) FROM gone.hs WHERE id = '5') AS deleted_in_mirror, (SELECT city FROM gone.hs WHERE id = '6') AS changed;
SELECT method, path, query FROM fake.requests WHERE query LIKE '%archived=true%' ORDER BY 1, 2, 3;

-- Salesforce: a contact deleted at the provider (IsDeleted, listed by queryAll since the window).
SELECT id AS sf_deleted FROM gone.sf ORDER BY id LIMIT 1 \gset
DELETE FROM gone.sf_contacts WHERE id = :'sf_deleted';
SELECT tether.refresh('gone.sf', wait => true) IS NOT NULL AS refreshed;
SELECT pass, rows_deleted, error FROM tether.sync_runs
WHERE mirror_id = tether.mirror_id('gone.sf') ORDER BY id DESC LIMIT 1;
SELECT count(*) AS deleted_in_mirror FROM gone.sf WHERE id = :'sf_deleted';
SELECT (SELECT count(*) FROM (SELECT id FROM gone.sf EXCEPT SELECT id FROM gone.sf_contacts) d) AS only_in_mirror,
       (SELECT count(*) FROM (SELECT id FROM gone.sf_contacts EXCEPT SELECT id FROM gone.sf) d) AS only_at_provider;
SELECT substring(query FROM 'q=([^&]*)') LIKE 'SELECT%IsDeleted%' AS queryall_asked FROM fake.requests
WHERE path LIKE '%/queryAll' LIMIT 1;

-- A listing that fails fails the refresh with the provider's error, removes nothing, and the mirror
-- retries: the next refresh applies the deletion.
DELETE FROM gone.hs_contacts WHERE id = '7';
SELECT fake.inject('status=401&times=1&method=GET&path_prefix=/crm/v3/objects/contacts');
SELECT fake.sqlstate_of($$SELECT tether.refresh('gone.hs', wait => true)$$) AS refresh_failed_with;
SELECT state, last_error_sqlstate, last_error FROM tether.mirrors WHERE mirror = 'gone.hs'::regclass;
SELECT count(*) AS still_in_mirror FROM gone.hs WHERE id = '7';
SELECT tether.refresh('gone.hs', wait => true) IS NOT NULL AS refreshed;
SELECT count(*) AS deleted_in_mirror FROM gone.hs WHERE id = '7';
SELECT state FROM tether.mirrors WHERE mirror = 'gone.hs'::regclass;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA gone CASCADE;
DROP SERVER sf CASCADE;
CALL fake.check_clean();
