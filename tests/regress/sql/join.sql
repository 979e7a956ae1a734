-- Joins with local tables. On the inner side of a nested loop the foreign scan is rescanned once per
-- outer row, each time from the start, and the results are the same as with any other join method.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the tables crm.contacts
-- and crm.companies.
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
CREATE TABLE campaign_targets (email text, campaign text);
INSERT INTO campaign_targets VALUES
    ('contact3@example.com', 'spring'),
    ('contact150@example.com', 'spring'),
    ('contact250@example.com', 'autumn'),
    ('nobody@example.com', 'autumn');

-- A LATERAL subquery (kept apart by OFFSET 0) puts the foreign scan inside a nested loop: it is
-- rescanned once per outer row, with the outer row's email as a run-time parameter.
EXPLAIN (COSTS OFF)
SELECT t.campaign, c.id, c.firstname
FROM campaign_targets t
CROSS JOIN LATERAL (SELECT * FROM crm.contacts c WHERE c.email = t.email OFFSET 0) c;
SELECT * FROM fake.reset;
SELECT t.campaign, c.id, c.firstname
FROM campaign_targets t
CROSS JOIN LATERAL (SELECT * FROM crm.contacts c WHERE c.email = t.email OFFSET 0) c
ORDER BY c.id::int;
-- 4 outer rows, each one request to HubSpot's search endpoint with the outer row's email.
SELECT requests FROM fake.stats;

-- The same join planned freely gives the same rows.
SELECT t.campaign, c.id, c.firstname
FROM campaign_targets t JOIN crm.contacts c ON c.email = t.email
ORDER BY c.id::int;

-- A correlated subquery: the id lookup is recomputed for each outer row.
CREATE TABLE orders (order_id int, contact_id text);
INSERT INTO orders VALUES (1, '10'), (2, '20'), (3, '99999');
SELECT * FROM fake.reset;
SELECT o.order_id, (SELECT c.email FROM crm.contacts c WHERE c.id = o.contact_id) AS email
FROM orders o ORDER BY o.order_id;
SELECT path FROM fake.requests ORDER BY path;

-- A lateral join with a LIMIT per outer row.
SELECT o.order_id, c.id
FROM orders o CROSS JOIN LATERAL (SELECT id FROM crm.contacts WHERE id = o.contact_id LIMIT 1) c
ORDER BY o.order_id;

-- Two foreign tables joined.
SELECT count(*) FROM crm.contacts c JOIN crm.companies co ON co.id = c.id;

-- A pushed condition on a foreign table that is not the query's first relation.
SELECT * FROM fake.reset;
SELECT t.campaign, c.id FROM campaign_targets t, crm.contacts c
WHERE c.email = 'contact3@example.com' AND t.email = c.email;
EXPLAIN (COSTS OFF) SELECT t.campaign, c.id FROM campaign_targets t, crm.contacts c
WHERE c.email = 'contact3@example.com' AND t.email = c.email;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP TABLE campaign_targets, orders;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
