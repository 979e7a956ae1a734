-- Writes to a generic REST resource: POST to the path, PATCH (or PUT) and DELETE to path/{id}. The body
-- holds each written column at its JSON pointer.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and schema shop, as in rest.sql.
\i tests/regress/fixtures/base.sql
CREATE SCHEMA shop;
CREATE FOREIGN TABLE shop.items_rw (
    id int,
    name text,
    price numeric,
    quantity int,
    active boolean,
    tags text[],
    color text OPTIONS (json_pointer '/attributes/color'),
    created_at timestamptz OPTIONS (read_only 'true')
) SERVER api OPTIONS (path '/rest/plain/items');

SELECT * FROM fake.reset;
INSERT INTO shop.items_rw (name, price, quantity, active, tags, color)
VALUES ('Widget', 19.99, 5, true, ARRAY['new', 'sale'], 'teal')
RETURNING *;
SELECT method, path, body FROM fake.requests;

-- The API's field errors are in DETAIL (422, SQLSTATE 22023).
INSERT INTO shop.items_rw (quantity) VALUES (1);

-- PATCH sends the changed columns only; RETURNING shows the stored item.
SELECT * FROM fake.reset;
UPDATE shop.items_rw SET price = 17.50, color = 'navy' WHERE id = 31 RETURNING id, name, price, color, tags;
SELECT method, path, body FROM fake.requests WHERE method <> 'GET';

-- Values computed by Postgres are sent as computed.
UPDATE shop.items_rw SET quantity = quantity * 2, tags = tags || 'doubled'::text WHERE id = 31 RETURNING quantity, tags;

-- PUT (table option update_method 'PUT') sends every writable column, unchanged ones included.
ALTER FOREIGN TABLE shop.items_rw OPTIONS (ADD update_method 'PUT');
SELECT * FROM fake.reset;
UPDATE shop.items_rw SET quantity = 6 WHERE id = 31 RETURNING id, name, price, quantity, color;
SELECT method, path, body FROM fake.requests WHERE method <> 'GET';
ALTER FOREIGN TABLE shop.items_rw OPTIONS (DROP update_method);

-- DELETE by id and by a condition.
DELETE FROM shop.items_rw WHERE id = 31 RETURNING id, name, price;
SELECT count(*) FROM shop.items_rw WHERE id = 31;
DELETE FROM shop.items_rw WHERE name IN ('Item 29', 'Item 30');
SELECT max(id) AS max_id, count(*) FROM shop.items_rw;

-- The id is the API's: read-only unless the column says otherwise.
INSERT INTO shop.items_rw (id, name, price) VALUES (99, 'Chosen id', 1);
UPDATE shop.items_rw SET created_at = now() WHERE id = 1;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA shop CASCADE;
CALL fake.check_clean();
