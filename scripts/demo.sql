-- Tether walkthrough: a HubSpot account and a Salesforce org (served by the bundled fake provider)
-- read and written as Postgres tables. Run by scripts/demo, which sets FAKE_URL.
\getenv fake_url FAKE_URL
\getenv hooks TETHER_WEBHOOK_URL
\set sf_data_url :fake_url/services/data/v59.0
\set sf_token_url :fake_url/services/oauth2/token
\pset footer off

-- 1. Install Tether and see which APIs it knows.
CREATE EXTENSION tether;
SELECT connector, string_agg(object, ', ' ORDER BY object) AS objects FROM tether.connectors() GROUP BY 1 ORDER BY 1;

-- 2. Point a server at HubSpot (base_url is only needed here because the fake provider stands in for
--    api.hubapi.com) and give it your private app token. The token lives in a user mapping, which other
--    roles cannot read.
CREATE SERVER hubspot FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hubspot OPTIONS (token 'demo-private-app-token');

-- 3. One foreign table per API object. Columns the connector does not list (hs_interests here) map
--    to the HubSpot property of the same name.
CREATE SCHEMA crm;
CREATE FOREIGN TABLE crm.contacts (
    id text,
    email text,
    firstname text,
    lastname text,
    company text,
    lifecyclestage text,
    created_at timestamptz,
    hs_interests text[] OPTIONS (separator ';')
) SERVER hubspot OPTIONS (object 'contacts');
-- Or let Tether create them, with the connector's columns and types:
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (companies, deals) FROM SERVER hubspot INTO crm;
\d crm.companies

-- 4. Query them like tables. Tether follows HubSpot's pagination (3 pages of 100 here).
SELECT count(*) AS contacts FROM crm.contacts;
SELECT id, email, firstname, lastname, hs_interests FROM crm.contacts LIMIT 5;

-- 5. Conditions the API understands are sent to it: an id is one GET, a condition on a property goes
--    to HubSpot's search endpoint, LIMIT asks for a small page.
EXPLAIN (COSTS OFF) SELECT email FROM crm.contacts WHERE id = '42';
SELECT id, email, company, created_at FROM crm.contacts WHERE id = '42';
EXPLAIN (COSTS OFF) SELECT id, firstname FROM crm.contacts WHERE email = 'contact77@example.com';
SELECT id, firstname FROM crm.contacts WHERE email = 'contact77@example.com';
EXPLAIN (COSTS OFF) SELECT email FROM crm.contacts LIMIT 5;

-- 6. Everything else is plain SQL: aggregates, joins with local tables, window functions.
SELECT lifecyclestage, count(*) FROM crm.contacts GROUP BY 1 ORDER BY 2 DESC;

CREATE TABLE campaign_list (email text PRIMARY KEY, campaign text);
INSERT INTO campaign_list VALUES
    ('contact3@example.com', 'spring launch'),
    ('contact77@example.com', 'spring launch'),
    ('contact250@example.com', 'webinar'),
    ('not-in-hubspot@example.com', 'webinar');
SELECT l.campaign, l.email, c.id AS hubspot_id, c.firstname, c.company
FROM campaign_list l LEFT JOIN crm.contacts c USING (email)
ORDER BY l.campaign, l.email;

SELECT country, count(*) AS companies, sum(numberofemployees) AS employees,
       round(avg(annualrevenue)) AS avg_revenue
FROM crm.companies GROUP BY country ORDER BY companies DESC, country LIMIT 5;

-- 7. Writes call HubSpot during the statement. RETURNING shows what HubSpot answered (its id and
--    timestamps); UPDATE sends only the changed property; INSERT ... SELECT uses the batch endpoint.
INSERT INTO crm.contacts (email, firstname, lastname, company)
VALUES ('grace@example.com', 'Grace', 'Hopper', 'Navy')
RETURNING id, email, created_at;
UPDATE crm.contacts SET lifecyclestage = 'customer' WHERE email = 'grace@example.com'
RETURNING id, firstname, lifecyclestage;
INSERT INTO crm.contacts (email, firstname, company)
SELECT l.email, 'Campaign', l.campaign FROM campaign_list l
WHERE NOT EXISTS (SELECT 1 FROM crm.contacts c WHERE c.email = l.email);
SELECT id, email, company FROM crm.contacts WHERE email = 'not-in-hubspot@example.com';
DELETE FROM crm.contacts WHERE email = 'grace@example.com' RETURNING id, email;

-- 8. HubSpot's refusals are native errors with its own message.
\set ON_ERROR_STOP 0
INSERT INTO crm.contacts (email) VALUES ('not-an-email');
INSERT INTO crm.contacts (email) VALUES ('contact1@example.com');
\set ON_ERROR_STOP 1

-- 9. Provider errors are native Postgres errors, with HubSpot's own message, that PL/pgSQL can catch
--    by SQLSTATE.
CREATE SERVER hubspot_expired FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hubspot_expired OPTIONS (token 'an-expired-token');
CREATE FOREIGN TABLE crm.contacts_expired (id text) SERVER hubspot_expired OPTIONS (object 'contacts');
DO $$
BEGIN
    PERFORM count(*) FROM crm.contacts_expired;
EXCEPTION WHEN invalid_authorization_specification THEN
    RAISE NOTICE 'caught SQLSTATE %: %', SQLSTATE, SQLERRM;
END
$$;

-- 10. Salesforce: OAuth2 (the refresh token is exchanged for an access token and the org's instance URL),
--     reads through SOQL with the conditions written into the query, values escaped.
CREATE SERVER salesforce FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'salesforce', base_url :'sf_data_url', token_url :'sf_token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER salesforce
    OPTIONS (client_id 'sf-client', client_secret 'sf-secret', refresh_token 'rt-demo');
CREATE SCHEMA sfdc;
IMPORT FOREIGN SCHEMA salesforce FROM SERVER salesforce INTO sfdc;
EXPLAIN (COSTS OFF)
SELECT name, industry, number_of_employees FROM sfdc.account WHERE name = 'O''Neil & Sons';
SELECT name, industry, number_of_employees FROM sfdc.account WHERE name = 'O''Neil & Sons';
SELECT name, industry, number_of_employees FROM sfdc.account
WHERE industry = 'Finance' AND number_of_employees > 4500 ORDER BY number_of_employees DESC LIMIT 3;
-- Two APIs in one query: accounts per industry in Salesforce next to companies per industry in HubSpot.
SELECT coalesce(s.industry, h.industry) AS industry, s.accounts AS salesforce_accounts, h.companies AS hubspot_companies
FROM (SELECT industry, count(*) AS accounts FROM sfdc.account GROUP BY 1) s
FULL JOIN (SELECT industry, count(*) AS companies FROM crm.companies GROUP BY 1) h USING (industry)
ORDER BY 1 NULLS LAST LIMIT 8;

-- 11. A generic REST API needs no connector file: the table options describe it.
CREATE SERVER shop FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE FOREIGN TABLE items (id int, name text, price numeric, active boolean,
                            color text OPTIONS (json_pointer '/attributes/color'))
    SERVER shop OPTIONS (path '/rest/page/items', records '/data', pagination 'page', page_size '10',
                         total_pages_pointer '/meta/pagination/total_pages');
SELECT count(*) AS items, round(avg(price), 2) AS avg_price FROM items;
SELECT * FROM items WHERE color = 'red' ORDER BY price DESC LIMIT 3;

-- 12. Mirror tables: a local copy that the background worker keeps in sync (scripts/demo starts Postgres
--     with shared_preload_libraries = 'tether'). Queries, joins and indexes on it cost no API calls;
--     writes to it still go to HubSpot first.
SELECT tether.mirror('crm.contacts', 'contacts_copy', every => '1 hour');
SELECT tether.refresh('contacts_copy', wait => true) IS NOT NULL AS refreshed;
SELECT mirror, source, state, rows, incremental_by FROM tether.mirrors;
SELECT pass, pages, rows_inserted, requests FROM tether.sync_runs ORDER BY id;

-- 13. Webhooks: with tether.webhook_listen set, the worker receives HubSpot's change events at
--     POST /webhooks/<server>, checks their signature with the webhook_secret in the server owner's
--     user mapping (which no other role can read), records them, and refreshes the mirror at once.
--     Here the fake provider plays HubSpot and sends a signed event after each write.
ALTER USER MAPPING FOR CURRENT_USER SERVER hubspot OPTIONS (ADD webhook_secret 'demo-app-secret');
CREATE SERVER fake_control FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
\set subscribe 'provider=hubspot&secret=demo-app-secret&url=' :hooks '/webhooks/hubspot'
CREATE FOREIGN TABLE fake_subscribe (subscribed boolean) SERVER fake_control
    OPTIONS (path '/_control/webhook_subscribe', query :'subscribe');
SELECT subscribed FROM fake_subscribe;
SELECT min(id) AS contact_id FROM contacts_copy \gset
SELECT set_config('demo.contact_id', :'contact_id', false) AS noted \gset
SELECT id, firstname FROM contacts_copy WHERE id = :'contact_id';
UPDATE crm.contacts SET firstname = 'Ada (changed at HubSpot)' WHERE id = :'contact_id';
DO $$
BEGIN
    FOR i IN 1..100 LOOP  -- the change reaches the mirror within a second or so
        EXIT WHEN (SELECT firstname FROM contacts_copy WHERE id = current_setting('demo.contact_id'))
                  = 'Ada (changed at HubSpot)';
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT id, firstname FROM contacts_copy WHERE id = :'contact_id';
SELECT topic, object, record_id FROM tether.webhook_events;
SELECT pass, rows_updated FROM tether.sync_runs ORDER BY id DESC LIMIT 1;

-- 14. Any API call from SQL: tether.request sends one request through the server's settings
--     (credentials, pacing, retries) and returns the answer as jsonb; tether.request_pages streams
--     every record of a listing, following the connector's pagination. docs/recipes.md has more.
SELECT tether.request('hubspot', 'GET', '/crm/v3/objects/deals/1') #>> '{properties,dealname}' AS deal_1;
SELECT r ->> 'id' AS id, r #>> '{properties,dealstage}' AS stage
FROM tether.request_pages('hubspot', 'GET', '/crm/v3/objects/deals', '{"limit": 100, "properties": "dealstage"}') AS r
LIMIT 3;
SELECT count(*) AS deals FROM tether.request_pages('hubspot', 'GET', '/crm/v3/objects/deals', '{"limit": 100}');
-- raw => true returns the status instead of raising, for PL/pgSQL to branch on.
SELECT tether.request('hubspot', 'GET', '/crm/v3/objects/deals/999999', raw => true) -> 'status' AS status;
