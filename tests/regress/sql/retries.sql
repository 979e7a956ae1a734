-- Retries: a rate-limited request waits as asked and tries again; requests that are safe to repeat are
-- retried after provider failures; a create is resent only when the API takes an idempotency key.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the crm tables
-- (crm.people: HubSpot's contacts as the write scenarios use them).
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
\getenv fake_url FAKE_URL

-- 429 with Retry-After is waited out, for any method (the provider did not process the request).
SELECT * FROM fake.reset;
SELECT fake.inject('status=429&times=1&retry_after=1&path_prefix=/crm/v3/objects/contacts');
INSERT INTO crm.people (email) VALUES ('patient@example.com') RETURNING email;
SELECT method, path FROM fake.requests;

-- 500 then success for an update: retried with backoff.
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=2&method=PATCH');
UPDATE crm.people SET firstname = 'Persistent' WHERE email = 'patient@example.com' RETURNING email, firstname;
SELECT method, count(*) FROM fake.requests GROUP BY method ORDER BY method;

-- A provider that keeps failing: the error comes after the retries (max_retries, here 1).
ALTER SERVER hs OPTIONS (ADD max_retries '1');
SELECT * FROM fake.reset;
SELECT fake.inject('status=503&times=5&method=PATCH');
UPDATE crm.people SET firstname = 'Doomed' WHERE email = 'patient@example.com';
SELECT count(*) AS patch_attempts FROM fake.requests WHERE method = 'PATCH';
ALTER SERVER hs OPTIONS (DROP max_retries);

-- A Retry-After longer than max_retry_wait fails at once (SQLSTATE 53400).
SELECT * FROM fake.reset;
SELECT fake.inject('status=429&times=1&retry_after=120&path_prefix=/crm');
SELECT count(*) FROM crm.people WHERE id = '1';

-- A create that fails after reaching HubSpot, which takes no idempotency key: it is not resent (it
-- could create the contact twice), and the error says the outcome is unknown (SQLSTATE 08007).
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=1&method=POST&after=true&path_prefix=/crm/v3/objects/contacts');
INSERT INTO crm.people (email) VALUES ('maybe@example.com');
SELECT count(*) AS create_attempts FROM fake.requests WHERE method = 'POST';
-- Here HubSpot had created it: checking is up to the user.
SELECT count(*) AS created FROM crm.people WHERE email = 'maybe@example.com';

-- An API that takes an idempotency key: the create is retried with the same key and happens once.
CREATE SERVER idem FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'rest', base_url :'fake_url', idempotency_header 'Idempotency-Key');
CREATE FOREIGN TABLE idem_items (id int, name text, price numeric) SERVER idem OPTIONS (path '/rest/plain/items');
SELECT * FROM fake.reset;
SELECT fake.inject('status=500&times=1&method=POST&after=true&path_prefix=/rest/plain/items');
INSERT INTO idem_items (name, price) VALUES ('Exactly once', 1.50) RETURNING name, price;
SELECT count(*) AS attempts, count(DISTINCT idempotency_key) AS distinct_keys,
       bool_and(idempotency_key IS NOT NULL) AS all_keyed
FROM fake.requests WHERE method = 'POST';
SELECT count(*) AS created FROM idem_items WHERE name = 'Exactly once';

-- A statement cancelled while waiting to retry a write does not send it later.
SELECT * FROM fake.reset;
SELECT fake.inject('status=429&times=1&retry_after=2&method=POST&path_prefix=/rest/plain/items');
SET statement_timeout = '500ms';
INSERT INTO idem_items (name, price) VALUES ('Cancelled', 2);
RESET statement_timeout;
SELECT pg_sleep(2.5);
SELECT count(*) AS post_attempts FROM fake.requests WHERE method = 'POST';
SELECT count(*) AS created FROM idem_items WHERE name = 'Cancelled';

-- The SQLSTATE of each write failure class.
SELECT * FROM fake.reset;
CREATE SERVER hs_wrongtoken FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_wrongtoken OPTIONS (token 'revoked');
CREATE FOREIGN TABLE people_wrongtoken (id text, email text) SERVER hs_wrongtoken OPTIONS (object 'contacts');
SELECT statement, fake.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ($$INSERT INTO crm.people (email) VALUES ('not an email')$$),
    ($$INSERT INTO crm.people (email) VALUES ('contact3@example.com')$$),
    ($$INSERT INTO people_wrongtoken (email) VALUES ('a@example.com')$$),
    ($$INSERT INTO idem_items (price) VALUES (1)$$),
    ($$INSERT INTO crm.people (id) VALUES ('1')$$),
    ($$INSERT INTO crm.people (email) VALUES ('x@example.com') ON CONFLICT DO NOTHING$$)
) AS t(statement);

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SERVER idem, hs_wrongtoken CASCADE;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
