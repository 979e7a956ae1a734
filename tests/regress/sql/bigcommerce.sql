-- BigCommerce v3: the store hash in the base URL from a server option, X-Auth-Token, page/limit
-- paging with meta.pagination, id:in and email:in pushdown, array bodies written in batches of at
-- most 10, and errors {status, title, errors: {field: message}}.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
\set bc_url :fake_url/stores/{store_hash}/v3
CREATE SERVER bc FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'bigcommerce', base_url :'bc_url', store_hash 'abc123');
CREATE USER MAPPING FOR CURRENT_USER SERVER bc OPTIONS (api_key :'token');
CREATE SCHEMA bc;
IMPORT FOREIGN SCHEMA bigcommerce FROM SERVER bc INTO bc;
\d bc.customers

-- 250 customers, 100 a page, until meta.pagination.total_pages.
ALTER FOREIGN TABLE bc.customers OPTIONS (ADD page_size '100');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM bc.customers;
SELECT method, path, query_text, headers ->> 'x-auth-token' = :'token' AS token_sent FROM fake.requests;

-- id:in and email:in (the customers object has no endpoint for one record: ids are a filter).
SELECT * FROM fake.reset;
SELECT id, email FROM bc.customers WHERE id IN (1, 2, 3) ORDER BY id;
SELECT id, email FROM bc.customers WHERE email = 'buyer7@example.com';
SELECT count(*) FROM bc.customers WHERE email IN ('buyer8@example.com', 'BUYER9@example.com', 'nobody@example.com');
SELECT id, name, price FROM bc.products WHERE id = (SELECT min(id) FROM bc.products);
SELECT count(*) FROM bc.products WHERE is_visible;
SELECT path, query_text FROM fake.requests;

-- Writes: bodies are arrays; an update names the record in the body; a delete uses id:in.
SELECT * FROM fake.reset;
INSERT INTO bc.customers (email, first_name, last_name) VALUES ('new.buyer@example.com', 'New', 'Buyer')
RETURNING id > 250 AS new_id, email, first_name, date_created IS NOT NULL AS created;
UPDATE bc.customers SET company = 'Acme' WHERE email = 'new.buyer@example.com' RETURNING email, company;
DELETE FROM bc.customers WHERE email = 'new.buyer@example.com' RETURNING email;
SELECT method, path, query_text, regexp_replace(body, '"id":[0-9]+', '"id":N') AS body FROM fake.requests
WHERE method <> 'GET';

-- 25 rows in batches of 10; a larger batch_size is capped to the API's maximum.
ALTER FOREIGN TABLE bc.customers OPTIONS (ADD batch_size '50');
SELECT * FROM fake.reset;
INSERT INTO bc.customers (email, first_name, last_name)
SELECT 'bulk' || g || '@example.com', 'Bulk', 'Buyer ' || g FROM generate_series(1, 25) g;
SELECT method, jsonb_array_length(body::jsonb) AS records FROM fake.requests WHERE method = 'POST';
SELECT count(*) FROM bc.customers WHERE email LIKE 'bulk%@example.com';

-- BigCommerce's errors: the title, then each field's message.
INSERT INTO bc.customers (email, first_name, last_name) VALUES ('bulk1@example.com', 'Dup', 'Licate');
INSERT INTO bc.customers (email) VALUES ('missing.names@example.com');
SELECT fake.sqlstate_of($$INSERT INTO bc.customers (email) VALUES ('missing.names@example.com')$$);

-- BigCommerce counts requests per window and answers 429 with the time left in the window in
-- X-Rate-Limit-Time-Reset-Ms: Tether waits that long and goes on. Here the window is shortened to one
-- second with a quota of 5, and Tether's own pacing is off, so 12 lookups run into the quota.
CREATE FOREIGN TABLE fake.seeder (seeded bigint) SERVER fake
    OPTIONS (path '/_control/seed', query 'object=bigcommerce_window_ms&count=1000');
SELECT seeded FROM fake.seeder;
ALTER FOREIGN TABLE fake.seeder OPTIONS (SET query 'object=bigcommerce_quota&count=5');
SELECT seeded FROM fake.seeder;
CREATE FOREIGN TABLE fake.bigcommerce_rate_limited (rate_limited bigint) SERVER fake
    OPTIONS (path '/stores/_fake/rate_limited');
ALTER SERVER bc OPTIONS (ADD rate_limit 'none');
SELECT * FROM fake.reset;
SELECT count(email) FROM (SELECT (SELECT email FROM bc.customers c WHERE c.id = g) AS email FROM generate_series(1, 12) g) s;
SELECT rate_limited > 0 AS got_429s FROM fake.bigcommerce_rate_limited;
-- With pacing (by default 4.5 requests a second, bursts of 10, under the real 150 per 30 seconds; here
-- '4/s', requests spaced 250 ms apart, to fit the shortened window), the quota is not reached.
ALTER SERVER bc OPTIONS (SET rate_limit '4/s');
SELECT * FROM fake.reset;
SELECT count(email) FROM (SELECT (SELECT email FROM bc.customers c WHERE c.id = g) AS email FROM generate_series(1, 12) g) s;
SELECT rate_limited FROM fake.bigcommerce_rate_limited;
ALTER FOREIGN TABLE fake.seeder OPTIONS (SET query 'object=bigcommerce_quota&count=150');
SELECT seeded FROM fake.seeder;
ALTER FOREIGN TABLE fake.seeder OPTIONS (SET query 'object=bigcommerce_window_ms&count=30000');
SELECT seeded FROM fake.seeder;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.seeder, fake.bigcommerce_rate_limited;
DROP SCHEMA bc CASCADE;
DROP SERVER bc CASCADE;
CALL fake.check_clean();
