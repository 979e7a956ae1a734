-- The integration recipes of docs/recipes.md, run end to end against the fake providers: SQL as the
-- workflow language (acquisition, reverse ETL with id mapping, nested data, transforms, control flow).

-- Set-up: the shared fixtures (the fake provider reset, servers hs and api; servers shopify and
-- bigcommerce as the recipes define them).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/shops.sql
SELECT * FROM fake.reset;
CREATE SCHEMA stage;

-- Recipe 1. Data acquisition: every BigCommerce customer into a staging table (an upsert, so the
-- recipe can run on a schedule).
CREATE TABLE stage.bc_customers (
    id int PRIMARY KEY, email text NOT NULL, first_name text, last_name text, company text,
    date_created timestamptz, date_modified timestamptz);
INSERT INTO stage.bc_customers
SELECT c.id, c.email, c.first_name, c.last_name, c.company, c.date_created, c.date_modified
FROM tether.request_pages('bigcommerce', 'GET', '/customers', '{"limit": 100}') AS r
CROSS JOIN LATERAL jsonb_to_record(r) AS c(id int, email text, first_name text, last_name text, company text,
                                          date_created timestamptz, date_modified timestamptz)
ON CONFLICT (id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,
    last_name = excluded.last_name, company = excluded.company, date_modified = excluded.date_modified;
SELECT count(*), min(id), max(id) FROM stage.bc_customers;
SELECT id, email, first_name, last_name FROM stage.bc_customers ORDER BY id LIMIT 3;
-- The same through a foreign table, with a condition pushed to the API.
CREATE SCHEMA bc_api;
IMPORT FOREIGN SCHEMA bigcommerce LIMIT TO (customers) FROM SERVER bigcommerce INTO bc_api;
SELECT count(*) FROM bc_api.customers WHERE id IN (1, 2, 3);

-- Recipe 2. Reverse ETL: create BigCommerce customers from the rows of a table, keeping the mapping
-- from the source id to the id BigCommerce generated. Rows already mapped are skipped, so a rerun
-- creates nothing twice.
CREATE TABLE crm_signups (source_id text PRIMARY KEY, email text, first_name text, last_name text);
INSERT INTO crm_signups VALUES
    ('crm-1', 'ada@example.com', 'Ada', 'Lovelace'),
    ('crm-2', 'grace@example.com', 'Grace', 'Hopper'),
    ('crm-3', 'edsger@example.com', 'Edsger', 'Dijkstra');
CREATE TABLE customer_map (source_id text PRIMARY KEY REFERENCES crm_signups,
                           bigcommerce_id int NOT NULL UNIQUE);
-- (a) INSERT ... SELECT ... RETURNING into the foreign table; the answer's ids are joined back on email.
WITH created AS (
    INSERT INTO bc_api.customers (email, first_name, last_name)
    SELECT s.email, s.first_name, s.last_name FROM crm_signups s
    WHERE s.source_id IN ('crm-1', 'crm-2')
      AND NOT EXISTS (SELECT 1 FROM customer_map m WHERE m.source_id = s.source_id)
    RETURNING id, email)
INSERT INTO customer_map SELECT s.source_id, created.id FROM created JOIN crm_signups s USING (email);
-- (b) tether.request per row, the body built with jsonb_build_object.
INSERT INTO customer_map
SELECT s.source_id,
       (tether.request('bigcommerce', 'POST', '/customers',
                       body => jsonb_build_array(jsonb_build_object(
                           'email', s.email, 'first_name', s.first_name, 'last_name', s.last_name)))
        #>> '{data,0,id}')::int
FROM crm_signups s
WHERE NOT EXISTS (SELECT 1 FROM customer_map m WHERE m.source_id = s.source_id);
SELECT m.source_id, m.bigcommerce_id, c.email FROM customer_map m JOIN bc_api.customers c ON c.id = m.bigcommerce_id
ORDER BY m.source_id;
-- Run again: nothing left to create, no request sent.
SELECT requests AS requests_before FROM fake.stats \gset
INSERT INTO customer_map
SELECT s.source_id, (tether.request('bigcommerce', 'POST', '/customers', body => jsonb_build_array(to_jsonb(s) - 'source_id')) #>> '{data,0,id}')::int
FROM crm_signups s WHERE NOT EXISTS (SELECT 1 FROM customer_map m WHERE m.source_id = s.source_id);
SELECT requests - :requests_before AS requests_sent FROM fake.stats;
-- (c) A push (docs/push.md): the worker sends the rows in batches and keeps the map table; a row
-- BigCommerce refuses is recorded with its message and does not stop the others; a rerun sends nothing.
CREATE TABLE crm_leads (source_id text PRIMARY KEY, email text, first_name text, last_name text);
INSERT INTO crm_leads VALUES
    ('lead-1', 'alan@example.com', 'Alan', 'Turing'),
    ('lead-2', 'not-an-email', 'Bad', 'Address'),
    ('lead-3', 'barbara@example.com', 'Barbara', 'Liskov');
SELECT tether.push('crm_leads', 'bc_api.customers', 'source_id', match_on => 'email');
SELECT created, failed, unknown FROM tether.push_now('crm_leads', wait => true);
SELECT l.source_id, m.status, c.email, m.message
FROM crm_leads l JOIN crm_leads_map m USING (source_id) LEFT JOIN bc_api.customers c ON c.id = m.provider_id::int
ORDER BY 1;
SELECT created, updated, failed, requests FROM tether.push_now('crm_leads', wait => true);

-- Recipe 3. Nested data: Shopify customers and the addresses nested in each, into two related
-- tables, from one pass over the API (the CTE is read once).
CREATE TABLE stage.shop_customers (
    id bigint PRIMARY KEY, email text, first_name text, last_name text, orders_count int, total_spent numeric);
CREATE TABLE stage.shop_addresses (
    id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES stage.shop_customers,
    city text, province text, country_code text, is_default boolean);
SELECT * FROM fake.reset;
WITH src AS (
    SELECT r FROM tether.request_pages('shopify', 'GET', '/customers.json', '{"limit": 250}') AS r),
customers AS (
    INSERT INTO stage.shop_customers
    SELECT (r ->> 'id')::bigint, r ->> 'email', r ->> 'first_name', r ->> 'last_name',
           (r ->> 'orders_count')::int, (r ->> 'total_spent')::numeric
    FROM src RETURNING id)
INSERT INTO stage.shop_addresses
SELECT (a ->> 'id')::bigint, (a ->> 'customer_id')::bigint, a ->> 'city', a ->> 'province',
       a ->> 'country_code', (a ->> 'default')::boolean
FROM src CROSS JOIN LATERAL jsonb_array_elements(src.r -> 'addresses') AS a;
SELECT (SELECT count(*) FROM stage.shop_customers) AS customers, count(*) AS addresses,
       count(DISTINCT customer_id) AS customers_with_address FROM stage.shop_addresses;
SELECT requests FROM fake.stats;
SELECT c.email, a.city, a.country_code, a.is_default
FROM stage.shop_customers c JOIN stage.shop_addresses a ON a.customer_id = c.id ORDER BY c.id, a.id LIMIT 3;

-- Recipe 4. Transform: an analytics table of customers joined with their orders (plain SQL over
-- foreign tables; over mirror tables the same query reads local data).
CREATE SCHEMA shop_api;
IMPORT FOREIGN SCHEMA shopify LIMIT TO (customers, orders) FROM SERVER shopify INTO shop_api;
CREATE SCHEMA analytics;
CREATE TABLE analytics.customer_value AS
SELECT c.id AS customer_id, c.email,
       count(o.id) AS orders,
       coalesce(sum(o.total_price) FILTER (WHERE o.financial_status = 'paid'), 0) AS paid_revenue,
       min(o.created_at) AS first_order_at,
       max(o.created_at) AS last_order_at
FROM shop_api.customers c
LEFT JOIN shop_api.orders o ON (o.customer ->> 'id')::bigint = c.id
GROUP BY c.id, c.email;
SELECT count(*) AS customers, count(*) FILTER (WHERE orders > 0) AS buyers, sum(orders) AS orders
FROM analytics.customer_value;
SELECT customer_id, email, orders, paid_revenue FROM analytics.customer_value
ORDER BY paid_revenue DESC, customer_id LIMIT 3;

-- Recipe 5. Control flow in PL/pgSQL.
-- (a) If the warehouse's stock differs from BigCommerce's, run the update flow, else say so.
CREATE TABLE warehouse_stock (sku text PRIMARY KEY, on_hand int NOT NULL);
INSERT INTO warehouse_stock VALUES ('BC-00001', 5), ('BC-00002', 34), ('BC-00003', 0);
CREATE FUNCTION sync_inventory() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    product record;
    updated int := 0;
BEGIN
    CREATE TEMP TABLE stock_changes ON COMMIT DROP AS
    SELECT (p ->> 'id')::int AS product_id, p ->> 'sku' AS sku, (p ->> 'inventory_level')::int AS listed, w.on_hand
    FROM tether.request_pages('bigcommerce', 'GET', '/catalog/products',
                              jsonb_build_object('sku:in', (SELECT string_agg(sku, ',') FROM warehouse_stock))) AS p
    JOIN warehouse_stock w ON w.sku = p ->> 'sku'
    WHERE (p ->> 'inventory_level')::int IS DISTINCT FROM w.on_hand;
    IF NOT EXISTS (SELECT 1 FROM stock_changes) THEN
        RAISE NOTICE 'inventory is up to date, nothing to send';
        RETURN 0;
    END IF;
    FOR product IN SELECT * FROM stock_changes ORDER BY product_id LOOP
        PERFORM tether.request('bigcommerce', 'PUT', '/catalog/products/' || product.product_id,
                               body => jsonb_build_object('inventory_level', product.on_hand));
        RAISE NOTICE '% : % -> %', product.sku, product.listed, product.on_hand;
        updated := updated + 1;
    END LOOP;
    RETURN updated;
END
$$;
SELECT sync_inventory() AS updated;
SELECT sync_inventory() AS updated;

-- (b) BEGIN ... EXCEPTION around an API call: a refused update is recorded and the loop goes on.
CREATE TABLE sync_errors (sku text, sqlstate text, message text);
UPDATE warehouse_stock SET on_hand = -3 WHERE sku = 'BC-00002';
UPDATE warehouse_stock SET on_hand = 8 WHERE sku = 'BC-00003';
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT (p ->> 'id')::int AS product_id, w.sku, w.on_hand
        FROM tether.request_pages('bigcommerce', 'GET', '/catalog/products', '{"sku:in": "BC-00002,BC-00003"}') AS p
        JOIN warehouse_stock w ON w.sku = p ->> 'sku' ORDER BY 1
    LOOP
        BEGIN
            PERFORM tether.request('bigcommerce', 'PUT', '/catalog/products/' || item.product_id,
                                   body => jsonb_build_object('inventory_level', item.on_hand));
        EXCEPTION WHEN invalid_parameter_value THEN
            -- 22023: the provider refused the values (HTTP 400/422); docs/errors.md lists the others.
            INSERT INTO sync_errors VALUES (item.sku, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END
$$;
SELECT * FROM sync_errors;
SELECT p #>> '{data,sku}' AS sku, p #>> '{data,inventory_level}' AS inventory_level
FROM (VALUES (2), (3)) AS v(id), tether.request('bigcommerce', 'GET', '/catalog/products/' || v.id) AS p;
-- Branching on the status instead of catching the error: raw => true.
DO $$
DECLARE
    answer jsonb := tether.request('bigcommerce', 'GET', '/catalog/products/424242', raw => true);
BEGIN
    IF (answer ->> 'status')::int = 404 THEN
        RAISE NOTICE 'product 424242 is not in the catalog';
    ELSE
        RAISE NOTICE 'found %', answer #>> '{body,data,name}';
    END IF;
END
$$;

-- (c) A WHILE loop over pages, for when each page needs its own step (here: one transaction-safe
-- insert per page and a running total).
CREATE TABLE stage.bc_customer_pages (page int, customers int);
DO $$
DECLARE
    page int := 1;
    total_pages int := 1;
    answer jsonb;
BEGIN
    WHILE page <= total_pages LOOP
        answer := tether.request('bigcommerce', 'GET', '/customers', jsonb_build_object('limit', 100, 'page', page));
        total_pages := (answer #>> '{meta,pagination,total_pages}')::int;
        INSERT INTO stage.bc_customer_pages VALUES (page, jsonb_array_length(answer -> 'data'));
        page := page + 1;
    END LOOP;
    RAISE NOTICE 'read % pages', total_pages;
END
$$;
SELECT * FROM stage.bc_customer_pages ORDER BY page;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FUNCTION sync_inventory();
SELECT tether.unpush('crm_leads', drop_map => true);
DROP TABLE customer_map, crm_signups, crm_leads, warehouse_stock, sync_errors;
DROP SCHEMA stage, bc_api, shop_api, analytics CASCADE;
DROP SERVER bigcommerce, shopify CASCADE;
CALL fake.check_clean();
