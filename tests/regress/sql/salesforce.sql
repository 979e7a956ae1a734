-- Salesforce: OAuth2 with the instance URL from the token response, reads through SOQL (pushed
-- conditions quoted and escaped, LIMIT, nextRecordsUrl paging), sObject writes with RETURNING read
-- back by id, sObject Collections batches of 200, and Salesforce's error array.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api), and server sf (OAuth2; its
-- base URL names a host that does not exist, so requests must go to the instance URL the token
-- endpoint returns).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/salesforce.sql
CREATE SCHEMA sfdc;
IMPORT FOREIGN SCHEMA salesforce FROM SERVER sf INTO sfdc;
SELECT foreign_table_name, option_name, option_value FROM information_schema.foreign_table_options
WHERE foreign_table_schema = 'sfdc' ORDER BY 1;
\d sfdc.opportunity

-- A full listing, 200 records a page (batchSize is a header), following nextRecordsUrl.
ALTER FOREIGN TABLE sfdc.account OPTIONS (ADD page_size '200');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(name), max(number_of_employees) FROM sfdc.account;
-- (the session id the token endpoint issued is shown as <session id>)
SELECT method, path, query_text, headers ->> 'sforce-query-options' AS options,
       regexp_replace(headers ->> 'authorization', ' .*', ' <session id>') AS auth
FROM fake.requests;

-- Conditions become the SOQL WHERE clause; LIMIT goes into the query.
SELECT * FROM fake.reset;
SELECT name, industry, number_of_employees FROM sfdc.account
WHERE industry IN ('Finance', 'Retail') AND number_of_employees >= 4000
ORDER BY name LIMIT 3;
SELECT id, name FROM sfdc.account WHERE number_of_employees > 100 LIMIT 2;
SELECT query_text FROM fake.requests WHERE path LIKE '%/query';

-- Quotes and backslashes in values are escaped, and % or _ mean themselves: the value stays a value.
SELECT * FROM fake.reset;
SELECT name FROM sfdc.account WHERE name = 'O''Neil & Sons';
SELECT name FROM sfdc.account WHERE name = 'Back\Slash Ltd';
SELECT name FROM sfdc.account WHERE name IN ('100% Organic Co', 'Under_Score Inc', '"Quoted" Holdings') ORDER BY 1;
SELECT name FROM sfdc.account WHERE name = 'x'' OR Name != ''y';
SELECT query_text FROM fake.requests;

-- Text is compared for equality only; a range on text stays with Postgres (Salesforce orders strings
-- its own way), while the LIMIT is then not sent either.
EXPLAIN (COSTS OFF) SELECT name FROM sfdc.account WHERE name < 'B' AND industry = 'Retail' LIMIT 5;

-- Ids are looked up with one query, for any number of ids.
SELECT * FROM fake.reset;
SELECT name FROM sfdc.account WHERE id IN ('001Dn0000000001IAA', '001Dn0000000002IAA', '001Dn0000000003IAA') ORDER BY 1;
SELECT query_text FROM fake.requests;

-- Writes: create answers with the id only, so RETURNING reads the record back (one more request, made
-- only with RETURNING); PATCH answers 204 and is read back the same way.
SELECT * FROM fake.reset;
INSERT INTO sfdc.account (name, industry, number_of_employees) VALUES ('Tether Test Co', 'Technology', 12)
RETURNING id ~ '^001' AS account_id, name, industry, number_of_employees, created_date IS NOT NULL AS created;
UPDATE sfdc.account SET phone = '555-0100', number_of_employees = 13 WHERE name = 'Tether Test Co'
RETURNING name, phone, number_of_employees;
INSERT INTO sfdc.contact (last_name, email) VALUES ('NoReturning', 'nr@example.com');
SELECT method, regexp_replace(path, '/[0-9A-Za-z]{18}$', '/{id}') AS path, body FROM fake.requests
WHERE path NOT LIKE '%/query%' ORDER BY method, path;
DELETE FROM sfdc.account WHERE name = 'Tether Test Co' RETURNING name;
SELECT count(*) FROM sfdc.account WHERE name = 'Tether Test Co';

-- Salesforce's validation errors become the statement's error.
INSERT INTO sfdc.contact (first_name) VALUES ('Nameless');
SELECT fake.sqlstate_of($$INSERT INTO sfdc.contact (first_name) VALUES ('Nameless')$$);
UPDATE sfdc.opportunity SET stage_name = NULL WHERE id = (SELECT id FROM sfdc.opportunity ORDER BY id LIMIT 1);

-- Batches through sObject Collections: 450 rows in 3 requests of at most 200.
SELECT * FROM fake.reset;
INSERT INTO sfdc.lead (last_name, company) SELECT 'Batch ' || g, 'Company ' || g FROM generate_series(1, 450) g;
SELECT method, path, jsonb_array_length(body::jsonb -> 'records') AS records,
       body::jsonb -> 'allOrNone' AS all_or_none, body::jsonb #> '{records,0,attributes}' AS attributes
FROM fake.requests WHERE method = 'POST';
SELECT count(*) FROM sfdc.lead WHERE company LIKE 'Company %';

-- One bad row: all or none, so nothing of its batch is created, and the error names the row.
INSERT INTO sfdc.lead (last_name, company) VALUES ('Fine', 'A'), ('Broken', NULL), ('Fine too', 'C');
SELECT count(*) FROM sfdc.lead WHERE last_name IN ('Fine', 'Fine too');

-- An expired session (these clients' sessions last one second) is renewed once and the statement
-- goes on; the instance URL comes back with the new token.
CREATE SERVER sf_short FOREIGN DATA WRAPPER tether OPTIONS (
    connector 'salesforce',
    base_url 'https://login.invalid/services/data/v59.0',
    token_url :'token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER sf_short
    OPTIONS (client_id 'sf-client-short', client_secret :'client_secret', refresh_token :'refresh_token');
CREATE FOREIGN TABLE sfdc.short_accounts (id text, name text) SERVER sf_short OPTIONS (object 'account');
SELECT * FROM fake.reset;
SELECT count(*) FROM sfdc.short_accounts;
SELECT pg_sleep(1.2);
SELECT count(*) FROM sfdc.short_accounts;
SELECT method, path FROM fake.requests;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA sfdc CASCADE;
DROP SERVER sf, sf_short CASCADE;
CALL fake.check_clean();
