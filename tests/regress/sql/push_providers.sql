-- Push against each kind of answer: BigCommerce refuses a batch as a whole (422), so each row is
-- sent alone to learn which; Salesforce answers a result per record (allOrNone: the rows rolled back
-- for another's sake are sent again); Stripe has no batch endpoint and an idempotency header, so a
-- create whose outcome was not learned is sent again with the same key and not made twice.

-- Set-up: the shared fixture (the fake provider reset), servers bigcommerce (shops.sql), sf
-- (salesforce.sql) and a Stripe server.
\i tests/regress/fixtures/base.sql
-- Creates of unknown outcome are settled at once here (tether.push_settle_after: 1 minute by default).
ALTER SYSTEM SET tether.push_settle_after = 0;
SELECT pg_reload_conf();
\i tests/regress/fixtures/shops.sql
\i tests/regress/fixtures/salesforce.sql
\getenv stripe_token TETHER_TEST_TOKEN
\set stripe_url :fake_url/v1
CREATE SERVER st FOREIGN DATA WRAPPER tether OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER st OPTIONS (token :'stripe_token');
CREATE SCHEMA bc;
IMPORT FOREIGN SCHEMA bigcommerce LIMIT TO (customers) FROM SERVER bigcommerce INTO bc;
CREATE SCHEMA sfdc;
IMPORT FOREIGN SCHEMA salesforce LIMIT TO (account) FROM SERVER sf INTO sfdc;
CREATE SCHEMA stripe;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers) FROM SERVER st INTO stripe;
CREATE SCHEMA app;

-- BigCommerce: the batch of three is refused as a whole for one bad email (422); each row is then sent
-- alone, so the two good ones are created and the bad one is recorded with BigCommerce's message.
CREATE TABLE app.shoppers (source_id int PRIMARY KEY, email text, first_name text, last_name text);
INSERT INTO app.shoppers VALUES (1, 'shopper1@example.com', 'S', 'One'), (2, 'not-an-email', 'S', 'Two'),
                                (3, 'shopper3@example.com', 'S', 'Three');
SELECT tether.push('app.shoppers', 'bc.customers', 'source_id');
SELECT * FROM fake.reset;
SELECT created, failed, unknown, requests FROM tether.push_now('shoppers', wait => true);
SELECT method, path, jsonb_array_length(body::jsonb) AS records FROM fake.requests;
SELECT source_id, status, provider_id IS NOT NULL AS mapped, message, sqlstate FROM app.shoppers_map ORDER BY 1;

-- Salesforce: a push sends allOrNone: false (each record on its own) and reads a result per record:
-- the two good ones are created by the one request, the refused one is recorded.
CREATE TABLE app.companies (source_id int PRIMARY KEY, name text, industry text);
INSERT INTO app.companies VALUES (1, 'Pushed One', 'Energy'), (2, NULL, 'Energy'), (3, 'Pushed Three', 'Retail');
SELECT tether.push('app.companies', 'sfdc.account', 'source_id');
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, failed, unknown, requests FROM tether.push_now('companies', wait => true);
SELECT method, regexp_replace(path, '^.*/services', '…/services') AS path, jsonb_array_length(body::jsonb -> 'records') AS records,
       body::jsonb -> 'allOrNone' AS all_or_none
FROM (SELECT * FROM fake.requests OFFSET :seen) r WHERE path LIKE '%composite%';
SELECT source_id, status, message, sqlstate FROM app.companies_map ORDER BY 1;
SELECT name, industry FROM sfdc.account WHERE name LIKE 'Pushed%' ORDER BY 1;

-- Stripe: one create per request, each with the push's own idempotency key for the row.
CREATE TABLE app.payers (source_id text PRIMARY KEY, email text, name text);
INSERT INTO app.payers VALUES ('p1', 'payer1@example.com', 'Payer One'), ('p2', 'payer2@example.com', 'Payer Two');
SELECT tether.push('app.payers', 'stripe.customers', 'source_id');
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, failed, unknown, requests FROM tether.push_now('payers', wait => true);
SELECT method, path, regexp_replace(idempotency_key, '^tether-push-[0-9]+-[0-9a-f]{32}$', 'tether-push-<push>-<row hash>') AS idempotency_key
FROM (SELECT * FROM fake.requests OFFSET :seen) r;
-- A create whose outcome was not learned (as a kill between sending and recording leaves it) is sent
-- again with the same key: Stripe answers with the customer the first request made.
SELECT provider_id AS p1_customer FROM app.payers_map WHERE source_id = 'p1' \gset
UPDATE app.payers_map SET status = 'unknown', provider_id = NULL, sent = NULL WHERE source_id = 'p1';
SELECT created, unknown, requests FROM tether.push_now('payers', wait => true);
SELECT provider_id = :'p1_customer' AS same_customer, status FROM app.payers_map WHERE source_id = 'p1';
SELECT count(*) AS customers_with_that_email FROM stripe.customers WHERE email = 'payer1@example.com';

-- Without match_on nor an idempotency header, a create of unknown outcome is never sent again
-- blindly: it stays unknown, counted in each run, for the owner to settle.
UPDATE app.shoppers_map SET status = 'unknown', provider_id = NULL WHERE source_id = 1;
SELECT count(*) AS seen FROM fake.requests \gset
SELECT created, unknown, requests FROM tether.push_now('shoppers', wait => true);
SELECT count(*) - :seen AS requests FROM fake.requests;
SELECT source_id, status FROM app.shoppers_map WHERE source_id = 1;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
ALTER SYSTEM RESET tether.push_settle_after;
SELECT pg_reload_conf();
SELECT tether.unpush(name, drop_map => true) FROM tether.pushes;
DROP SCHEMA app, bc, sfdc, stripe CASCADE;
DROP SERVER bigcommerce, shopify, sf, st CASCADE;
CALL fake.check_clean();
