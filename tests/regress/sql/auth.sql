-- Auth schemes: bearer token, basic, API key in a header, API key in the query string. The fake
-- provider refuses each resource without its scheme's credentials.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
\getenv password TETHER_TEST_BASIC_PASSWORD
CREATE SERVER bearer_api FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url', auth 'bearer');
CREATE USER MAPPING FOR CURRENT_USER SERVER bearer_api OPTIONS (token :'token');
CREATE FOREIGN TABLE bearer_items (id int, name text) SERVER bearer_api OPTIONS (path '/auth/bearer/items');
SELECT * FROM bearer_items ORDER BY id;

CREATE SERVER basic_api FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url', auth 'basic');
CREATE USER MAPPING FOR CURRENT_USER SERVER basic_api OPTIONS (user 'test-user', password :'password');
CREATE FOREIGN TABLE basic_items (id int, name text) SERVER basic_api OPTIONS (path '/auth/basic/items');
SELECT * FROM basic_items ORDER BY id;

CREATE SERVER header_api FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'rest', base_url :'fake_url', auth 'api_key_header', api_key_header 'X-API-Key');
CREATE USER MAPPING FOR CURRENT_USER SERVER header_api OPTIONS (api_key :'token');
CREATE FOREIGN TABLE header_items (id int, name text) SERVER header_api OPTIONS (path '/auth/header/items');
SELECT * FROM header_items ORDER BY id;

CREATE SERVER query_api FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'rest', base_url :'fake_url', auth 'api_key_query', api_key_param 'api_key');
CREATE USER MAPPING FOR CURRENT_USER SERVER query_api OPTIONS (api_key :'token');
CREATE FOREIGN TABLE query_items (id int, name text) SERVER query_api OPTIONS (path '/auth/query/items');
SELECT * FROM query_items ORDER BY id;
-- The key is sent, but EXPLAIN does not show it.
EXPLAIN (COSTS OFF) SELECT * FROM query_items;

-- Wrong credentials for each scheme: a 401 that names the server, never the secret.
ALTER USER MAPPING FOR CURRENT_USER SERVER basic_api OPTIONS (SET password 'wrong-password');
SELECT * FROM basic_items;
ALTER USER MAPPING FOR CURRENT_USER SERVER query_api OPTIONS (SET api_key 'wrong-key-123');
SELECT * FROM query_items;
-- A mapping without the option its scheme needs.
ALTER USER MAPPING FOR CURRENT_USER SERVER header_api OPTIONS (DROP api_key);
SELECT * FROM header_items;

-- A role without a mapping of its own uses the PUBLIC one; a view uses its owner's mapping.
CREATE ROLE tether_reader;
GRANT SELECT ON bearer_items TO tether_reader;
SET ROLE tether_reader;
SELECT count(*) FROM bearer_items;
RESET ROLE;
CREATE USER MAPPING FOR PUBLIC SERVER bearer_api OPTIONS (token :'token');
SET ROLE tether_reader;
SELECT count(*) FROM bearer_items;
RESET ROLE;
DROP USER MAPPING FOR PUBLIC SERVER bearer_api;
CREATE VIEW bearer_view AS SELECT * FROM bearer_items;
GRANT SELECT ON bearer_view TO tether_reader;
SET ROLE tether_reader;
SELECT count(*) FROM bearer_view;
RESET ROLE;
DROP VIEW bearer_view;
REVOKE ALL ON bearer_items FROM tether_reader;
DROP ROLE tether_reader;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SERVER bearer_api, basic_api, header_api, query_api CASCADE;
CALL fake.check_clean();
