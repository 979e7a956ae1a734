-- Reading HubSpot contacts and companies: pagination, LIMIT, id lookups, pushdown, custom properties.
-- The fake provider holds 250 contacts; HubSpot pages hold at most 100 records.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
-- The tables the fixture defines: a column named as in the connector reads that field, a column that is
-- not (mail) names its field with column_name, and separator splits a HubSpot multi-select into text[].
\d crm.contacts
\d crm.companies

-- Select everything: 250 rows over 3 requests, all on one keep-alive connection.
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), min(id::int), max(id::int) FROM crm.contacts;
SELECT requests, connections FROM fake.stats;
SELECT query FROM fake.requests;

-- Only the properties the query needs are requested.
SELECT * FROM fake.reset;
SELECT id, email, firstname, hs_interests, mail FROM crm.contacts ORDER BY id::int LIMIT 3;
SELECT path, query FROM fake.requests;

-- LIMIT stops paging early: one request, sized to the limit.
SELECT * FROM fake.reset;
SELECT id, email FROM crm.contacts LIMIT 5;
SELECT requests FROM fake.stats;
SELECT query FROM fake.requests;

-- LIMIT with OFFSET asks for both.
SELECT * FROM fake.reset;
SELECT id FROM crm.contacts LIMIT 2 OFFSET 120;
SELECT query FROM fake.requests;

-- id = constant uses the get endpoint: one GET, no listing.
SELECT * FROM fake.reset;
SELECT id, email, firstname, lastname FROM crm.contacts WHERE id = '42';
SELECT path, query FROM fake.requests;

-- A missing id is no row, not an error.
SELECT * FROM crm.contacts WHERE id = '99999';

-- id = ANY(array): one GET per distinct id.
SELECT * FROM fake.reset;
SELECT id, email FROM crm.contacts WHERE id = ANY(ARRAY['7', '8', '7', '99999']) ORDER BY id;
SELECT path FROM fake.requests ORDER BY path;

-- A prepared statement with a parameter uses the get endpoint at run time.
PREPARE by_id(text) AS SELECT id, email FROM crm.contacts WHERE id = $1;
EXECUTE by_id('3');
EXECUTE by_id('4');
DEALLOCATE by_id;

-- A condition the API cannot evaluate is applied by Postgres: correct rows, full listing.
SELECT * FROM fake.reset;
SELECT id, email FROM crm.contacts WHERE email LIKE 'contact24_@%' ORDER BY id::int;
SELECT requests FROM fake.stats;

-- Phones are unset for every 7th contact: a missing value is NULL.
SELECT count(*) FILTER (WHERE phone IS NULL) AS no_phone, count(*) FROM crm.contacts;

-- archived is a pushable filter: archived = true lists the recycle bin.
SELECT * FROM fake.reset;
SELECT id, email, archived FROM crm.contacts WHERE archived ORDER BY id;
SELECT query FROM fake.requests;
SELECT count(*) FROM crm.contacts WHERE NOT archived;
-- An archived record is found by id only together with archived = true (sent on the GET too).
SELECT id, archived FROM crm.contacts WHERE id = '251';
SELECT * FROM fake.reset;
SELECT id, archived FROM crm.contacts WHERE id = '251' AND archived;
SELECT path, query FROM fake.requests;

-- Columns that are not in the connector map to the HubSpot property of the same name (crm.companies).
SELECT id, name, domain, numberofemployees, annualrevenue, hs_lastmodifieddate
FROM crm.companies ORDER BY id::int LIMIT 3;
SELECT properties ? 'name' AS has_name, properties ? 'hs_object_id' AS has_object_id
FROM crm.companies WHERE id = '1';
SELECT count(*) FROM crm.companies;

-- Statements reuse the connection: several statements, still one connection.
SELECT * FROM fake.reset;
SELECT count(*) FROM crm.companies;
SELECT count(*) FROM crm.companies WHERE id = '2';
SELECT count(*) FROM crm.contacts LIMIT 1;
SELECT requests, connections FROM fake.stats;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
