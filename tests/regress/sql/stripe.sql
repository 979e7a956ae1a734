-- Stripe: form-encoded bodies with nested keys (metadata[key]), an Idempotency-Key on every POST,
-- starting_after/has_more paging, list filters, and Stripe's error shape.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
\set stripe_url :fake_url/v1
CREATE SERVER st FOREIGN DATA WRAPPER tether OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER st OPTIONS (token :'token');
CREATE SCHEMA stripe;
IMPORT FOREIGN SCHEMA stripe FROM SERVER st INTO stripe;
\d stripe.customers

-- All 250 customers, 100 a page, each page starting after the last id of the previous one.
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), count(email) FROM stripe.customers;
SELECT method, path, regexp_replace(query, 'cus_[A-Za-z0-9]+', 'cus_…') AS query FROM fake.requests;

-- List filters and id lookups.
SELECT * FROM fake.reset;
SELECT id IS NOT NULL AS found, email, name FROM stripe.customers WHERE email = 'customer7@example.com';
SELECT count(*) FROM stripe.invoices WHERE status = 'paid';
SELECT p.name, count(pr.id) AS prices
FROM stripe.products p JOIN stripe.prices pr ON pr.product = p.id
WHERE p.active GROUP BY 1 ORDER BY 1 LIMIT 3;
SELECT path, query FROM fake.requests WHERE path <> '/v1/prices' OR query NOT LIKE '%starting_after%';
SELECT id FROM stripe.customers WHERE email = 'customer7@example.com' \gset c7_
SELECT * FROM fake.reset;
SELECT email FROM stripe.customers WHERE id = :'c7_id';
SELECT email FROM stripe.customers WHERE id = :'c7_id' AND email = 'customer7@example.com';
-- (the email is checked by Postgres: Stripe's record endpoint takes no list filters)
SELECT method, path = '/v1/customers/' || :'c7_id' AS by_id, query FROM fake.requests;

-- Writes: form bodies, nested metadata and arrays, one Idempotency-Key per POST.
SELECT * FROM fake.reset;
INSERT INTO stripe.customers (email, name, metadata, preferred_locales, address)
VALUES ('ada@example.com', 'Ada', '{"tier": "gold", "seats": "3"}', '{fr,en}', '{"city": "London", "country": "GB"}')
RETURNING id LIKE 'cus_%' AS customer_id, email, metadata, preferred_locales, address ->> 'city' AS city,
          created IS NOT NULL AS created;
-- Setting a metadata key to '' removes it (Stripe merges metadata).
UPDATE stripe.customers SET name = 'Ada L.', metadata = '{"seats": ""}' WHERE email = 'ada@example.com'
RETURNING name, metadata;
SELECT method, regexp_replace(path, 'cus_[A-Za-z0-9]+', '{id}') AS path, body,
       idempotency_key ~ '^[0-9a-f-]{36}$' AS has_key
FROM fake.requests WHERE method <> 'GET';
SELECT count(DISTINCT idempotency_key) AS distinct_keys FROM fake.requests WHERE method = 'POST';
SELECT id FROM stripe.customers WHERE email = 'ada@example.com' \gset ada_
DELETE FROM stripe.customers WHERE email = 'ada@example.com' RETURNING email;
-- Stripe still answers for a deleted customer ({"deleted": true}): that is no row.
SELECT count(*) FROM stripe.customers WHERE id = :'ada_id';
INSERT INTO stripe.products (name, metadata) VALUES ('Tether seat', '{"plan": "pro"}')
RETURNING id LIKE 'prod_%' AS product_id, name, active, metadata;
UPDATE stripe.products SET active = false WHERE name = 'Tether seat' RETURNING name, active;
-- A product id of your choosing: make the id column writable.
ALTER FOREIGN TABLE stripe.products ALTER COLUMN id OPTIONS (ADD read_only 'false');
INSERT INTO stripe.products (id, name) VALUES ('prod_tether_chosen', 'Chosen id') RETURNING id, name;
DELETE FROM stripe.products WHERE id IN ('prod_tether_chosen') OR name = 'Tether seat' RETURNING name;

-- A create that times out or fails with 5xx is retried with the same key: Stripe carries it out once.
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=1&method=POST&path_prefix=/v1/customers');
INSERT INTO stripe.customers (email) VALUES ('retried@example.com') RETURNING email;
SELECT method, count(*), count(DISTINCT idempotency_key) AS keys FROM fake.requests GROUP BY 1;
SELECT count(*) FROM stripe.customers WHERE email = 'retried@example.com';

-- Stripe's errors: the message, the code in DETAIL.
INSERT INTO stripe.customers (email, metadata) VALUES ('x@example.com', '{"nested": {"no": 1}}');
INSERT INTO stripe.customers (email, tax_exempt) VALUES ('x@example.com', 'sometimes');
UPDATE stripe.customers SET name = 'Ghost' WHERE id = 'cus_doesnotexist';
SELECT fake.sqlstate_of($$INSERT INTO stripe.customers (email, tax_exempt) VALUES ('x@example.com', 'sometimes')$$);
-- Read-only objects refuse writes.
INSERT INTO stripe.invoices (id) VALUES ('in_1');

-- INSERT ... SELECT without RETURNING into an object without a batch endpoint: one create per row,
-- several in flight (option concurrency, default 4). With 300 ms of latency per request and pacing
-- off, the fake provider has four at once.
CREATE FOREIGN TABLE fake.slow (latency_ms bigint) SERVER fake OPTIONS (path '/_control/latency', query 'ms=300');
CREATE FOREIGN TABLE fake.fast (latency_ms bigint) SERVER fake OPTIONS (path '/_control/latency', query 'ms=0');
ALTER SERVER st OPTIONS (ADD rate_limit 'none');
EXPLAIN (COSTS OFF) INSERT INTO stripe.customers (email, name) SELECT 'par' || i || '@example.com', 'Par' FROM generate_series(1, 12) i;
SELECT * FROM fake.reset;
SELECT latency_ms FROM fake.slow;
INSERT INTO stripe.customers (email, name) SELECT 'par' || i || '@example.com', 'Par' FROM generate_series(1, 12) i;
SELECT count(*) AS creates, count(DISTINCT idempotency_key) AS keys FROM fake.requests WHERE method = 'POST';
SELECT max_in_flight AS most_in_flight FROM fake.stats;
SELECT count(*) FROM stripe.customers WHERE email LIKE 'par%@example.com';
-- concurrency '1': one at a time.
ALTER FOREIGN TABLE stripe.customers OPTIONS (ADD concurrency '1');
SELECT * FROM fake.reset;
SELECT latency_ms FROM fake.slow;
INSERT INTO stripe.customers (email, name) SELECT 'one' || i || '@example.com', 'One' FROM generate_series(1, 3) i;
SELECT max_in_flight AS most_in_flight FROM fake.stats;
-- Several in flight stay within the server's rate limit: at 5 requests a second (a burst of 5), ten
-- creates take at least a second from the first to the last (the fake provider's arrival times).
ALTER FOREIGN TABLE stripe.customers OPTIONS (SET concurrency '4');
ALTER SERVER st OPTIONS (SET rate_limit '5/s');
SELECT * FROM fake.reset;
SELECT latency_ms FROM fake.fast;
INSERT INTO stripe.customers (email, name) SELECT 'paced' || i || '@example.com', 'Paced' FROM generate_series(1, 10) i;
SELECT count(*) AS creates, max(at_ms) - min(at_ms) >= 950 AS paced FROM fake.requests WHERE method = 'POST';
ALTER SERVER st OPTIONS (DROP rate_limit);
-- A refused row among them fails the statement with Stripe's message; the DETAIL says which row and
-- how many of those sent together were created (Stripe keeps them).
INSERT INTO stripe.customers (email, name)
SELECT CASE WHEN i = 3 THEN 'not-an-email' ELSE 'mix' || i || '@example.com' END, 'Mix' FROM generate_series(1, 6) i;
SELECT count(*) AS kept FROM stripe.customers WHERE email LIKE 'mix%@example.com';
ALTER FOREIGN TABLE stripe.customers OPTIONS (SET concurrency '0');
ALTER FOREIGN TABLE stripe.customers OPTIONS (SET concurrency '33');
DROP FOREIGN TABLE fake.slow, fake.fast;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA stripe CASCADE;
DROP SERVER st CASCADE;
CALL fake.check_clean();
