-- EXPLAIN shows the object, the first request (no host, no credentials) and what was pushed down.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the tables crm.contacts
-- and crm.companies.
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
EXPLAIN (COSTS OFF) SELECT id, email FROM crm.contacts;
EXPLAIN (COSTS OFF) SELECT id, email FROM crm.contacts WHERE id = '42';
EXPLAIN (COSTS OFF) SELECT id FROM crm.contacts WHERE id IN ('1', '2', '3');
EXPLAIN (COSTS OFF) SELECT id FROM crm.contacts WHERE archived AND email LIKE '%@example.com';
EXPLAIN (COSTS OFF) SELECT id FROM crm.contacts LIMIT 10;
EXPLAIN (COSTS OFF) SELECT count(*) FROM crm.contacts;
PREPARE q(text) AS SELECT email FROM crm.contacts WHERE id = $1;
EXPLAIN (COSTS OFF) EXECUTE q('5');
DEALLOCATE q;
-- With ANALYZE, the number of requests sent.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM crm.contacts;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM crm.contacts LIMIT 3;
-- A secret in the base URL or an api_key query parameter never shows.
\getenv token TETHER_TEST_TOKEN
CREATE SERVER secretive FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'rest', base_url 'http://user:pw@127.0.0.1:1/api', auth 'api_key_query');
CREATE USER MAPPING FOR CURRENT_USER SERVER secretive OPTIONS (api_key :'token');
CREATE FOREIGN TABLE secret_items (id int, name text) SERVER secretive OPTIONS (path '/items');
EXPLAIN (COSTS OFF) SELECT * FROM secret_items;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SERVER secretive CASCADE;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
