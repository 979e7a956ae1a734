-- The generic REST connector: a resource path, a records pointer, and every pagination style chosen by
-- table options. The fake provider serves 30 items in each style.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
CREATE SCHEMA shop;

-- No pagination: the body is the array of records.
CREATE FOREIGN TABLE shop.items_plain (id int, name text, price numeric, quantity int, active boolean,
    tags text[], color text OPTIONS (json_pointer '/attributes/color'))
    SERVER api OPTIONS (path '/rest/plain/items', filters 'active, name');
SELECT * FROM shop.items_plain ORDER BY id LIMIT 3;
SELECT count(*), sum(quantity) FROM shop.items_plain;

-- Declared filters are sent as query parameters (and still checked locally).
SELECT * FROM fake.reset;
SELECT id, name FROM shop.items_plain WHERE active AND name = 'Item 4';
SELECT path, query FROM fake.requests;

-- id = constant uses {path}/{id}.
SELECT * FROM fake.reset;
SELECT id, name, color FROM shop.items_plain WHERE id = 7;
SELECT path FROM fake.requests;

-- Link header rel="next" (GitHub, Shopify style).
CREATE FOREIGN TABLE shop.items_link (id int, name text) SERVER api
    OPTIONS (path '/rest/link/items', pagination 'link_header', page_size '8', page_size_param 'per_page');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.items_link;
SELECT query FROM fake.requests;

-- A next-page URL in the body.
CREATE FOREIGN TABLE shop.items_next (id int, name text) SERVER api
    OPTIONS (path '/rest/next/items', records '/data', pagination 'next_url', next_url_pointer '/next',
             page_size '12', page_size_param 'per_page');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.items_next;
SELECT query FROM fake.requests;

-- Offset and limit, stopping at the reported total.
CREATE FOREIGN TABLE shop.items_offset (id int, name text) SERVER api
    OPTIONS (path '/rest/offset/items', records '/items', pagination 'offset', page_size '10',
             total_pointer '/total');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.items_offset;
SELECT query FROM fake.requests;

-- Without a total, an empty or short page ends the listing.
CREATE FOREIGN TABLE shop.items_offset_nototal (id int) SERVER api
    OPTIONS (path '/rest/offset/items', records '/items', pagination 'offset', page_size '10');
SELECT * FROM fake.reset;
SELECT count(*) FROM shop.items_offset_nototal;
SELECT query FROM fake.requests;

-- Page numbers with the number of pages in the body (BigCommerce style).
CREATE FOREIGN TABLE shop.items_page (id int, name text) SERVER api
    OPTIONS (path '/rest/page/items', records '/data', pagination 'page', page_size '7',
             total_pages_pointer '/meta/pagination/total_pages');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.items_page;
SELECT query FROM fake.requests;

-- An opaque cursor in the body, sent back as a parameter.
CREATE FOREIGN TABLE shop.items_cursor (id int, name text) SERVER api
    OPTIONS (path '/rest/cursor/items', records '/records', pagination 'cursor',
             cursor_pointer '/next_cursor', cursor_param 'cursor', page_size '9');
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM shop.items_cursor;
SELECT requests FROM fake.stats;

-- LIMIT with page-number pagination: one small page.
SELECT * FROM fake.reset;
SELECT id FROM shop.items_page LIMIT 2;
SELECT query FROM fake.requests;

-- Table options can be changed later; the table reads the new shape.
ALTER FOREIGN TABLE shop.items_page OPTIONS (SET page_size '15');
SELECT * FROM fake.reset;
SELECT count(*) FROM shop.items_page;
SELECT query FROM fake.requests;

-- A static query string from the path and the query option.
CREATE FOREIGN TABLE shop.active_items (id int, active boolean) SERVER api
    OPTIONS (path '/rest/plain/items?active=true', query 'name=Item%202');
SELECT * FROM shop.active_items;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA shop CASCADE;
CALL fake.check_clean();
