-- Webhooks: the test cluster runs the receiver (tether.webhook_listen); the fake provider sends signed
-- deliveries in each provider's real shape, on demand (/_control/webhook) or after every write made
-- through its API (/_control/webhook_subscribe). A good delivery is recorded and refreshes the mirrors
-- of its object; badly signed, unsigned, stale or tampered ones are refused and nothing is recorded.
-- A server's webhook secret lives in its owner's user mapping, which no other role can read.

-- Set-up: the shared fixtures (the fake provider reset, servers hs and api; servers shopify and
-- bigcommerce), and the Stripe server as stripe.sql defines it, with Stripe's customers.
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv hooks TETHER_WEBHOOK_URL
\getenv token TETHER_TEST_TOKEN
\getenv hs_secret TETHER_TEST_HUBSPOT_WEBHOOK_SECRET
\getenv stripe_secret TETHER_TEST_STRIPE_WEBHOOK_SECRET
\getenv shop_secret TETHER_TEST_SHOPIFY_WEBHOOK_SECRET
\getenv bc_secret TETHER_TEST_BIGCOMMERCE_WEBHOOK_SECRET
\getenv rest_secret TETHER_TEST_REST_WEBHOOK_SECRET
\set stripe_url :fake_url/v1
CREATE SERVER st FOREIGN DATA WRAPPER tether OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER st OPTIONS (token :'token');
CREATE SCHEMA stripe;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers) FROM SERVER st INTO stripe;
\i tests/regress/fixtures/shops.sql

CREATE SCHEMA whk;
CREATE SERVER hs_hooks FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_hooks OPTIONS (token :'token', webhook_secret :'hs_secret');
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER hs_hooks INTO whk;
SELECT tether.mirror('whk.contacts', 'whk.contacts_copy', every => '1 day');
SELECT fake.wait_for_first_sync('whk.contacts_copy');

-- fake.webhook('provider=...&url=...&secret=...&object=...&id=...&op=...&mode=...'): one delivery;
-- the receiver's status and answer.
CREATE FOREIGN TABLE fake.webhook_sender (status int, body text) SERVER fake OPTIONS (path '/_control/webhook');
CREATE FUNCTION fake.webhook(params text) RETURNS TABLE (status int, answer jsonb) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER FOREIGN TABLE fake.webhook_sender OPTIONS (SET query %L)', params);
    RETURN QUERY SELECT s.status, s.body::jsonb FROM fake.webhook_sender s;
END
$$;
ALTER FOREIGN TABLE fake.webhook_sender OPTIONS (ADD query '');
-- fake.eventually(condition): true once the condition holds (checked for up to 20 s).
CREATE FUNCTION fake.eventually(condition text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    ok boolean;
BEGIN
    LOOP
        EXECUTE 'SELECT ' || condition INTO ok;
        IF ok OR clock_timestamp() - t0 > interval '20 seconds' THEN
            RETURN coalesce(ok, false);
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
\set hs_url 'url=' :hooks '/webhooks/hs_hooks'

-- A record changes at HubSpot (written here through the foreign table, not the mirror): the mirror,
-- refreshed once a day, does not know yet.
UPDATE whk.contacts SET email = 'hooked@example.com' WHERE id = '7';
SELECT email FROM whk.contacts_copy WHERE id = '7';
-- HubSpot's delivery (contact.propertyChange, signed with X-HubSpot-Signature-v3) is recorded and
-- asks for a refresh, which picks the change up.
SELECT * FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&object=contacts&id=7&op=update');
SELECT fake.eventually($$ (SELECT email FROM whk.contacts_copy WHERE id = '7') = 'hooked@example.com' $$) AS refreshed;
SELECT server, topic, object, record_id, deleted, mirrors = ARRAY[tether.mirror_id('whk.contacts_copy')] AS this_mirror,
       payload ? 'eventId' AS has_event_id
FROM tether.webhook_events WHERE server = 'hs_hooks';
SELECT pass, rows_inserted, rows_updated, rows_deleted, error
FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('whk.contacts_copy') ORDER BY id;

-- Refused, recorded nothing: a wrong secret, no signature, a timestamp 10 minutes old, a body changed
-- after signing, and a server that does not exist (told apart from one without webhooks only in the
-- server log).
-- (The receiver's port, which varies, is replaced by PORT.)
CREATE FUNCTION fake.portless(answer jsonb) RETURNS text LANGUAGE sql
    RETURN regexp_replace(answer->>'message', '127\.0\.0\.1:[0-9]+', '127.0.0.1:PORT');
SELECT status, fake.portless(answer) FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&id=7&mode=bad');
SELECT * FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&id=7&mode=missing');
SELECT * FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&id=7&mode=stale');
SELECT status, fake.portless(answer) FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&id=7&mode=tampered');
SELECT * FROM fake.webhook('provider=hubspot&url=' || :'hooks' || '/webhooks/no_such_server&secret=' || :'hs_secret' || '&id=7');
SELECT count(*) AS events FROM tether.webhook_events WHERE server = 'hs_hooks';

-- A record deleted at HubSpot: the deletion event makes the next refresh ask HubSpot for the record
-- (GET by id: 404) and remove it from the mirror.
DELETE FROM whk.contacts WHERE id = '8';
SELECT count(*) AS still_mirrored FROM whk.contacts_copy WHERE id = '8';
SELECT status, answer->>'recorded' AS recorded
FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&object=contacts&id=8&op=delete');
SELECT fake.eventually($$ NOT EXISTS (SELECT 1 FROM whk.contacts_copy WHERE id = '8') $$) AS removed;
SELECT rows_deleted FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('whk.contacts_copy') ORDER BY id DESC LIMIT 1;
-- A deletion event for a record HubSpot still has removes nothing.
SELECT min(id::int) AS kept_id FROM whk.contacts_copy WHERE id::int > 10 \gset
SELECT :kept_id AS kept_id, status
FROM fake.webhook('provider=hubspot&' || :'hs_url' || '&secret=' || :'hs_secret' || '&object=contacts&id=' || :kept_id || '&op=delete');
SELECT fake.eventually($$ (SELECT count(*) FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('whk.contacts_copy')) = 4
                          AND (SELECT finished_at IS NOT NULL FROM tether.sync_runs ORDER BY id DESC LIMIT 1) $$) AS refreshed;
SELECT count(*) AS kept FROM whk.contacts_copy WHERE id = :'kept_id';
SELECT count(*) AS pending_deletions FROM tether.mirror_deletions;

-- The whole round trip without help: the fake sends Stripe's events after each write to its API.
ALTER USER MAPPING FOR CURRENT_USER SERVER st OPTIONS (ADD webhook_secret :'stripe_secret');
SELECT tether.mirror('stripe.customers', 'whk.stripe_customers', every => '1 day');
SELECT fake.wait_for_first_sync('whk.stripe_customers');
CREATE FOREIGN TABLE fake.webhook_subscriber (subscribed boolean) SERVER fake OPTIONS (path '/_control/webhook_subscribe');
CREATE FUNCTION fake.subscribe(params text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER FOREIGN TABLE fake.webhook_subscriber OPTIONS (SET query %L)', params);
    RETURN (SELECT subscribed FROM fake.webhook_subscriber);
END
$$;
ALTER FOREIGN TABLE fake.webhook_subscriber OPTIONS (ADD query '');
SELECT fake.subscribe('provider=stripe&url=' || :'hooks' || '/webhooks/st&secret=' || :'stripe_secret');
UPDATE stripe.customers SET name = 'Renamed At Stripe' WHERE id = (SELECT min(id) FROM whk.stripe_customers);
SELECT fake.eventually($$ EXISTS (SELECT 1 FROM whk.stripe_customers WHERE name = 'Renamed At Stripe') $$) AS refreshed;
SELECT topic, object, deleted FROM tether.webhook_events WHERE server = 'st';
SELECT fake.subscribe('provider=stripe&off=1');

-- Shopify (X-Shopify-Hmac-Sha256 over the body; topic and event id in headers), BigCommerce (Standard
-- Webhooks with a whsec_ secret) and the generic rest scheme (X-Signature over "<timestamp>.<body>"):
-- a good delivery is recorded with its object and record, a tampered one refused.
ALTER USER MAPPING FOR CURRENT_USER SERVER shopify OPTIONS (ADD webhook_secret :'shop_secret');
ALTER USER MAPPING FOR CURRENT_USER SERVER bigcommerce OPTIONS (ADD webhook_secret :'bc_secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER api OPTIONS (webhook_secret :'rest_secret');
SELECT status, answer FROM fake.webhook('provider=shopify&url=' || :'hooks' || '/webhooks/shopify&secret=' || :'shop_secret' || '&object=customers&id=3&op=delete');
SELECT status, answer FROM fake.webhook('provider=shopify&url=' || :'hooks' || '/webhooks/shopify&secret=' || :'shop_secret' || '&id=3&mode=tampered');
SELECT status, answer FROM fake.webhook('provider=shopify&url=' || :'hooks' || '/webhooks/shopify&secret=' || :'shop_secret' || '&id=3&mode=stale');
SELECT status, answer FROM fake.webhook('provider=bigcommerce&url=' || :'hooks' || '/webhooks/bigcommerce&secret=' || :'bc_secret' || '&object=customers&id=4&op=create');
SELECT status, answer FROM fake.webhook('provider=bigcommerce&url=' || :'hooks' || '/webhooks/bigcommerce&secret=' || :'bc_secret' || '&id=4&mode=bad');
SELECT status, answer FROM fake.webhook('provider=rest&url=' || :'hooks' || '/webhooks/api&secret=' || :'rest_secret' || '&object=items&id=5&op=update');
SELECT status, answer FROM fake.webhook('provider=rest&url=' || :'hooks' || '/webhooks/api&secret=' || :'rest_secret' || '&id=5&mode=missing');
SELECT server, topic, object, record_id, deleted FROM tether.webhook_events WHERE server IN ('shopify', 'bigcommerce', 'api') ORDER BY id;

-- Options checked when they are set: the secret's form, a connector without webhooks, a secret in a
-- mapping other than the server owner's (PUBLIC, or a role with USAGE), and the old server option.
ALTER USER MAPPING FOR CURRENT_USER SERVER bigcommerce OPTIONS (SET webhook_secret 'not-a-standard-webhooks-secret');
CREATE SERVER sf_hooks FOREIGN DATA WRAPPER tether OPTIONS (connector 'salesforce');
CREATE USER MAPPING FOR CURRENT_USER SERVER sf_hooks OPTIONS (webhook_secret 'x');
CREATE USER MAPPING FOR PUBLIC SERVER hs_hooks OPTIONS (webhook_secret 'for-everyone');
CREATE ROLE hook_user;
CREATE USER MAPPING FOR hook_user SERVER hs_hooks OPTIONS (webhook_secret 'mine');
DROP ROLE hook_user;
ALTER SERVER hs_hooks OPTIONS (ADD webhook_secret 'x');
CREATE SERVER hs_old FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', webhook_secret 'x');
DROP SERVER sf_hooks;
ALTER SERVER hs_hooks OPTIONS (ADD webhook_url 'hooks.example.com/hs');

-- Events are visible to roles that may use the server.
CREATE ROLE hook_reader;
GRANT USAGE ON SCHEMA tether TO hook_reader;
SET ROLE hook_reader;
SELECT count(*) AS visible_events FROM tether.webhook_events;
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER hs_hooks TO hook_reader;
SET ROLE hook_reader;
SELECT DISTINCT server AS visible_server FROM tether.webhook_events;
RESET ROLE;
REVOKE USAGE ON FOREIGN SERVER hs_hooks FROM hook_reader;
REVOKE USAGE ON SCHEMA tether FROM hook_reader;
DROP ROLE hook_reader;

SELECT tether.unmirror('whk.contacts_copy', drop => true);
SELECT tether.unmirror('whk.stripe_customers', drop => true);
DROP USER MAPPING FOR CURRENT_USER SERVER api;
-- A refresh the last deliveries asked for may still be running: let it end before the scenario ends
-- (a later scenario counts requests).
SELECT fake.eventually($$ NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'tether sync') $$) AS quiet;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.webhook_sender, fake.webhook_subscriber;
DROP FUNCTION fake.webhook(text), fake.eventually(text), fake.portless(jsonb), fake.subscribe(text);
DROP SCHEMA whk, stripe CASCADE;
DROP SERVER hs_hooks, st, shopify, bigcommerce CASCADE;
CALL fake.check_clean();
