-- Airtable: tables discovered by IMPORT FOREIGN SCHEMA from the base's schema, fields under
-- `fields`, pageSize/offset paging, conditions as a filterByFormula formula, writes in batches of at
-- most 10, and the 5 requests per second per base limit.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
\set airtable_url :fake_url/v0
CREATE SERVER at FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'airtable', base_url :'airtable_url', base_id 'appTether0000001');
CREATE USER MAPPING FOR CURRENT_USER SERVER at OPTIONS (token :'token');
CREATE SCHEMA air;
SELECT * FROM fake.reset;
IMPORT FOREIGN SCHEMA airtable FROM SERVER at INTO air;
SELECT method, path FROM fake.requests;
\d air.contacts
\d air.projects
-- Only the tables named are created.
CREATE SCHEMA air2;
IMPORT FOREIGN SCHEMA airtable LIMIT TO (projects) FROM SERVER at INTO air2;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'air2';
-- A table can also be declared by hand: the option table names it, columns map to fields by name.
CREATE FOREIGN TABLE air2.people (id text, "Name" text, "Email" text, years numeric OPTIONS (column_name 'Age'))
    SERVER at OPTIONS (table 'Contacts');
SELECT "Name", "Email", years FROM air2.people WHERE id IS NOT NULL ORDER BY id LIMIT 2;
CREATE FOREIGN TABLE air2.nothing (id text) SERVER at OPTIONS (path '/x');

-- All 250 contacts, 100 a page, the offset sent back; only the fields the query reads are asked for.
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), count(email), min(age), max(age) FROM air.contacts;
SELECT method, path, regexp_replace(query_text, 'offset=[^&]+', 'offset=…') AS query FROM fake.requests;

-- Conditions become one formula, with quotes escaped and field names braced.
SELECT * FROM fake.reset;
SELECT name, email, age FROM air.contacts WHERE name = 'Pat O''Neil';
SELECT name FROM air.contacts WHERE name IN ('Say "Hi" Smith', 'Back\Slash') ORDER BY 1;
SELECT count(*) FROM air.contacts WHERE active AND age >= 40;
SELECT count(*) FROM air.contacts WHERE signed_up >= '2024-06-01';
SELECT regexp_replace(query_text, 'offset=[^&]+', 'offset=…') AS query FROM fake.requests;
-- Record ids go to the record endpoint.
SELECT id FROM air.contacts ORDER BY id LIMIT 1 \gset first_
SELECT * FROM fake.reset;
SELECT name FROM air.contacts WHERE id = :'first_id';
SELECT method, path FROM fake.requests;

-- Writes: create and update return the record; batches of at most 10.
SELECT * FROM fake.reset;
INSERT INTO air.contacts (name, email, age, tags) VALUES ('New Person', 'new@example.com', 33, '{vip}')
RETURNING id LIKE 'rec%' AS record_id, name, email, age, tags, created_time IS NOT NULL AS created;
UPDATE air.contacts SET age = 34, notes = 'updated' WHERE email = 'new@example.com' RETURNING name, age, notes;
INSERT INTO air.contacts (name, email) SELECT 'Bulk ' || g, 'bulk' || g || '@example.com' FROM generate_series(1, 25) g;
SELECT method, path, jsonb_array_length(body::jsonb -> 'records') AS records FROM fake.requests WHERE method = 'POST';
SELECT body FROM fake.requests WHERE method = 'PATCH';
DELETE FROM air.contacts WHERE email = 'new@example.com' RETURNING name;
SELECT count(*) FROM air.contacts WHERE name LIKE 'Bulk %';

-- Airtable's errors become the statement's error.
INSERT INTO air.contacts (name, tags) VALUES ('Bad tag', '{not-a-tag}');
INSERT INTO air.contacts (name, age) VALUES ('Too old', 1e30);
UPDATE air.contacts SET created_time = now() WHERE false;

-- Requests are paced to stay under 5 a second per base: no 429 although the statement below sends 30
-- requests (one lookup per row) as fast as it can.
CREATE FOREIGN TABLE fake.airtable_rate_limited (rate_limited bigint) SERVER fake
    OPTIONS (path '/v0/_fake/rate_limited');
SELECT rate_limited AS before FROM fake.airtable_rate_limited \gset
SELECT count(name) FROM (SELECT (SELECT name FROM air.contacts c WHERE c.name = 'Bulk ' || g) AS name FROM generate_series(1, 30) g) s;
SELECT rate_limited - :before AS rate_limited FROM fake.airtable_rate_limited;
-- Without pacing (rate_limit 'none') and without retries, the same statement runs into Airtable's
-- limit (SQLSTATE 53400).
ALTER SERVER at OPTIONS (ADD rate_limit 'none', ADD max_retries '0');
SELECT fake.sqlstate_of($$SELECT count(name) FROM (SELECT (SELECT name FROM air.contacts c WHERE c.name = 'Bulk ' || g) AS name FROM generate_series(1, 30) g) s$$);
SELECT rate_limited - :before > 0 AS rate_limited FROM fake.airtable_rate_limited;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.airtable_rate_limited;
DROP SCHEMA air, air2 CASCADE;
DROP SERVER at CASCADE;
CALL fake.check_clean();
