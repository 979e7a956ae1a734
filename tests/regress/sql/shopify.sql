-- Shopify Admin REST: X-Shopify-Access-Token, Link-header paging with page_info, the fields
-- parameter, customers with their addresses as a child table, writes wrapped in {"customer": ...},
-- Shopify's {"errors": ...} bodies, and the leaky-bucket rate limit.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
\set shop_url :fake_url/admin/api/2024-01
CREATE SERVER shop FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'shopify', base_url :'shop_url', shop 'tether-test');
CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (api_key :'token');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA shopify FROM SERVER shop INTO shop;
\d shop.customer_addresses

-- 250 customers, 100 a page: the next page is the Link header's rel="next" URL.
ALTER FOREIGN TABLE shop.customers OPTIONS (ADD page_size '100');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.customers;
SELECT method, path, regexp_replace(query_text, 'page_info=[^&]+', 'page_info=…') AS query,
       headers ->> 'x-shopify-access-token' = :'token' AS token_sent
FROM fake.requests;

-- Ids go in the ids parameter (one request for many); the fields asked for are the columns read.
SELECT * FROM fake.reset;
SELECT id, email, first_name FROM shop.customers WHERE id IN (7000000001, 7000000002, 7000000003) ORDER BY id;
SELECT email FROM shop.customers WHERE id = 7000000004;
SELECT count(*) FROM shop.orders WHERE financial_status = 'paid';
SELECT path, query_text FROM fake.requests;

-- A column reading inside another field asks for that field.
CREATE FOREIGN TABLE shop.customer_cities (id bigint, city text OPTIONS (json_pointer '/default_address/city'))
    SERVER shop OPTIONS (object 'customers');
SELECT * FROM fake.reset;
SELECT id, city FROM shop.customer_cities WHERE id = 7000000001;
SELECT query_text FROM fake.requests;

-- Each customer's addresses, one row per address with the customer's id; customer_id conditions go
-- to the customers' ids parameter.
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT customer_id) FROM shop.customer_addresses;
SELECT a.customer_id, a.city, a.country_code, a."default"
FROM shop.customer_addresses a WHERE a.customer_id IN (7000000001, 7000000002) ORDER BY 1, 2;
SELECT path, regexp_replace(query_text, 'page_info=[^&]+', 'page_info=…') AS query FROM fake.requests;
SELECT c.email, count(a.id) AS addresses
FROM shop.customers c JOIN shop.customer_addresses a ON a.customer_id = c.id
WHERE c.id = 7000000001 GROUP BY 1;
INSERT INTO shop.customer_addresses (city) VALUES ('Oslo');

-- Writes: the record goes inside {"customer": ...}, and so does the answer.
SELECT * FROM fake.reset;
INSERT INTO shop.customers (email, first_name, last_name, tags)
VALUES ('Sam@Example.com', 'Sam', 'Shop', 'b, a, a')
RETURNING id > 0 AS created, email, first_name, tags, state, created_at IS NOT NULL AS has_created_at;
UPDATE shop.customers SET note = 'prefers email' WHERE email = 'sam@example.com' RETURNING email, note;
SELECT method, regexp_replace(path, '/[0-9]+\.json', '/{id}.json') AS path, body
FROM fake.requests WHERE method <> 'GET';
DELETE FROM shop.customers WHERE email = 'sam@example.com' RETURNING email;
-- Shopify's per-field errors read as one message.
INSERT INTO shop.customers (email) VALUES ('not-an-email');
INSERT INTO shop.customers (note) VALUES ('nobody');

-- Requests draw from Shopify's leaky bucket (40 calls, 2 a second): 45 lookups in one statement
-- slow down instead of being refused.
CREATE FOREIGN TABLE fake.shopify_rate_limited (rate_limited bigint) SERVER fake
    OPTIONS (path '/admin/_fake/rate_limited');
SELECT * FROM fake.reset;
SELECT count(email) FROM (
    SELECT (SELECT email FROM shop.customers c WHERE c.id = 7000000000 + g) AS email FROM generate_series(1, 45) g
) s;
SELECT count(*) AS requests FROM fake.requests WHERE path LIKE '/admin/api/%';
SELECT rate_limited FROM fake.shopify_rate_limited;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.shopify_rate_limited;
DROP SCHEMA shop CASCADE;
DROP SERVER shop CASCADE;
CALL fake.check_clean();
