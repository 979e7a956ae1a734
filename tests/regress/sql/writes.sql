-- Writes call HubSpot during the statement: INSERT, UPDATE and DELETE send the create, update and
-- delete requests, RETURNING shows what HubSpot answered, and HubSpot's refusals are native errors.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the crm tables
-- (crm.people: HubSpot's contacts with the columns written here).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql

-- INSERT ... RETURNING: HubSpot chooses the id and the timestamps.
SELECT * FROM fake.reset;
INSERT INTO crm.people (email, firstname, lastname, hs_interests)
VALUES ('ada@example.com', 'Ada', 'Lovelace', ARRAY['math', 'poetry'])
RETURNING id, email, firstname, lastname, hs_interests, created_at;
SELECT method, path, body FROM fake.requests;
SELECT id, email, hs_interests FROM crm.people WHERE id = '253';

-- UPDATE by id sends only the changed column (PATCH), and RETURNING shows the whole updated row.
SELECT * FROM fake.reset;
UPDATE crm.people SET lastname = 'King' WHERE id = '253' RETURNING id, firstname, lastname, updated_at;
SELECT method, path, body FROM fake.requests;

-- UPDATE by another condition: the scan finds the rows (one search by email), then each is updated
-- by id.
SELECT * FROM fake.reset;
UPDATE crm.people SET lifecyclestage = 'customer' WHERE email = 'ada@example.com' RETURNING id, lifecyclestage;
SELECT method, path FROM fake.requests;
SELECT body FROM fake.requests WHERE method = 'PATCH';

-- An UPDATE that matches nothing sends nothing.
SELECT * FROM fake.reset;
UPDATE crm.people SET lastname = 'Nobody' WHERE id = '99999';
SELECT count(*) FROM fake.requests WHERE method = 'PATCH';

-- A record that vanished between the scan and its update (404) is skipped, like a row deleted
-- concurrently: UPDATE 0, no error.
SELECT fake.inject('status=404&times=1&method=PATCH');
WITH u AS (UPDATE crm.people SET lastname = 'Gone' WHERE id = '253' RETURNING id) SELECT count(*) AS updated FROM u;
SELECT lastname FROM crm.people WHERE id = '253';

-- DELETE ... RETURNING gives the old row (as the scan read it; no extra request).
SELECT * FROM fake.reset;
DELETE FROM crm.people WHERE id = '253' RETURNING id, email, lastname, lifecyclestage;
SELECT method, path FROM fake.requests;
-- HubSpot archives deleted records.
SELECT id, email FROM crm.contacts WHERE id = '253';
SELECT id, email, archived FROM crm.contacts WHERE id = '253' AND archived;

-- Many rows: batches of up to 100 through the batch endpoint (250 rows = 3 requests).
SELECT * FROM fake.reset;
INSERT INTO crm.people (email, firstname)
SELECT 'batch' || i || '@example.com', 'Batch ' || i FROM generate_series(1, 250) AS i;
SELECT path, count(*) FROM fake.requests GROUP BY path;
SELECT count(*) FROM crm.people WHERE firstname LIKE 'Batch %';
-- The batch size can be lowered (server or table option batch_size).
ALTER FOREIGN TABLE crm.people OPTIONS (ADD batch_size '20');
SELECT * FROM fake.reset;
INSERT INTO crm.people (email) SELECT 'small' || i || '@example.com' FROM generate_series(1, 50) AS i;
SELECT path, count(*) FROM fake.requests GROUP BY path;
ALTER FOREIGN TABLE crm.people OPTIONS (DROP batch_size);
-- With RETURNING, Postgres sends rows one by one (its batch API cannot return rows).
SELECT * FROM fake.reset;
INSERT INTO crm.people (email) SELECT 'one' || i || '@example.com' FROM generate_series(1, 3) AS i RETURNING email;
SELECT path, count(*) FROM fake.requests GROUP BY path;
EXPLAIN (COSTS OFF) INSERT INTO crm.people (email) SELECT 'x' || i FROM generate_series(1, 3) AS i;
EXPLAIN (COSTS OFF) UPDATE crm.people SET firstname = 'x' WHERE id = '1';

-- HubSpot's refusals are native errors with its message, the exchange in DETAIL and a SQLSTATE.
-- Invalid email: 400, SQLSTATE 22023.
INSERT INTO crm.people (email, firstname) VALUES ('not-an-email', 'Bad');
-- A property HubSpot does not have.
CREATE FOREIGN TABLE crm.people_extra (id text, email text, shoe_size text) SERVER hs OPTIONS (object 'contacts');
INSERT INTO crm.people_extra (email, shoe_size) VALUES ('feet@example.com', '44');
-- Duplicate email: 409, SQLSTATE 23505.
INSERT INTO crm.people (email) VALUES ('contact1@example.com');
-- A batch with rejected rows: the error names them, and says what HubSpot kept.
INSERT INTO crm.people (email) VALUES ('fine1@example.com'), ('bad-email'), ('fine2@example.com'), ('contact2@example.com');
SELECT count(*) AS kept FROM crm.people WHERE email IN ('fine1@example.com', 'fine2@example.com');
-- Rows written before a failure stay written, and the error says so.
INSERT INTO crm.people (email) SELECT e FROM (VALUES ('first@example.com'), ('second@example.com'), ('oops')) AS v(e) RETURNING email;

-- PL/pgSQL catches a validation error by SQLSTATE and carries on.
DO $$
DECLARE
    e text;
    created int := 0;
BEGIN
    FOREACH e IN ARRAY ARRAY['good1@example.com', 'broken', 'good2@example.com'] LOOP
        BEGIN
            INSERT INTO crm.people (email) VALUES (e);
            created := created + 1;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE NOTICE 'skipped %: %', e, SQLERRM;
        END;
    END LOOP;
    RAISE NOTICE '% contacts created', created;
END
$$;

-- A failed write rolls the transaction back: the local row inserted before it is gone.
CREATE TABLE sync_log (email text, at timestamptz DEFAULT now());
BEGIN;
INSERT INTO sync_log (email) VALUES ('will-be-rolled-back@example.com');
INSERT INTO crm.people (email) VALUES ('invalid address');
COMMIT;
SELECT count(*) AS log_rows FROM sync_log;

-- Read-only columns are refused when the statement is planned.
INSERT INTO crm.people (id, email) VALUES ('1', 'x@example.com');
UPDATE crm.people SET created_at = now() WHERE id = '1';
INSERT INTO crm.people SELECT * FROM crm.people LIMIT 1;
-- ON CONFLICT is refused with what to do instead.
INSERT INTO crm.people (email) VALUES ('x@example.com') ON CONFLICT DO NOTHING;
-- A table without the id column cannot be updated or deleted.
CREATE FOREIGN TABLE crm.emails_only (email text) SERVER hs OPTIONS (object 'contacts');
UPDATE crm.emails_only SET email = 'y@example.com' WHERE email = 'x@example.com';
-- COPY FROM sends each row's non-NULL writable columns (COPY does not name the columns it lists).
-- PostgreSQL 15 copies row by row (one create each); 16 and later hand COPY's rows over in batches
-- (one batch create): the records sent are the same.
SELECT * FROM fake.reset;
COPY crm.people (email, firstname) FROM stdin;
copy1@example.com	Copied
copy2@example.com	\N
\.
SELECT r.method, i.input -> 'properties' AS properties
FROM fake.requests r,
     jsonb_array_elements(CASE WHEN r.path = '/crm/v3/objects/contacts/batch/create'
                               THEN r.body::jsonb -> 'inputs'
                               ELSE jsonb_build_array(r.body::jsonb) END) AS i (input)
WHERE r.path LIKE '/crm/v3/objects/contacts%'
ORDER BY i.input -> 'properties' ->> 'email';
SELECT count(*) = CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 1 ELSE 2 END AS requests_as_expected
FROM fake.requests;

-- A read-only table.
CREATE FOREIGN TABLE crm.contacts_ro (id text, email text) SERVER hs OPTIONS (object 'contacts', read_only 'true');
INSERT INTO crm.contacts_ro (email) VALUES ('x@example.com');
DELETE FROM crm.contacts_ro WHERE id = '1';
SELECT table_name, is_insertable_into FROM information_schema.tables
WHERE table_schema = 'crm' AND table_name IN ('people', 'contacts_ro') ORDER BY 1;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP TABLE sync_log;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
