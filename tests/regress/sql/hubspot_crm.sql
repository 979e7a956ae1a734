-- HubSpot deals, conditions pushed through the CRM search endpoint, and OAuth2 against HubSpot's
-- token endpoint.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\set token_url :fake_url/oauth/v1/token
\getenv client_secret TETHER_TEST_CLIENT_SECRET
\getenv refresh_token TETHER_TEST_REFRESH_TOKEN
CREATE SCHEMA hub;
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (deals) FROM SERVER hs INTO hub;
\d hub.deals

-- A listing across pages (250 deals, 100 a page, the cursor in paging.next.after).
SELECT * FROM fake.reset;
SELECT count(*), count(DISTINCT id), sum(amount) > 0 AS has_amounts FROM hub.deals;
SELECT method, path, query FROM fake.requests;

-- Conditions on properties go to the search endpoint: equality, IN, and ranges on numbers and dates,
-- paged with the cursor in the request body.
SELECT * FROM fake.reset;
SELECT count(*) FROM hub.deals WHERE dealstage = 'closedwon';
SELECT count(*) FROM hub.deals WHERE dealstage IN ('closedwon', 'closedlost') AND amount >= 1000;
SELECT count(*) FROM hub.deals WHERE amount > 0;
SELECT method, path, body FROM fake.requests;

-- Dates go to the search as epoch milliseconds; the answer is the one Postgres gives alone.
SELECT * FROM fake.reset;
SELECT count(*) FROM hub.deals WHERE closedate >= '2024-06-01 00:00+00';
SELECT count(*) FROM hub.deals WHERE closedate + interval '0 s' >= '2024-06-01 00:00+00';
SELECT body::jsonb #> '{filterGroups,0,filters,0}' AS filter FROM fake.requests WHERE path LIKE '%/search';

-- Text ranges stay with Postgres; so does a condition the search cannot combine with a list filter
-- (archived is a list parameter).
EXPLAIN (COSTS OFF) SELECT id FROM hub.deals WHERE dealname > 'M';
EXPLAIN (COSTS OFF) SELECT id FROM hub.deals WHERE archived AND dealstage = 'closedwon';

-- Arrays and JSON are not compared by the search endpoint the way Postgres compares them: such
-- conditions stay with Postgres.
CREATE FOREIGN TABLE hub.tagged (id text, hs_interests text[] OPTIONS (separator ';'), properties jsonb)
    SERVER hs OPTIONS (object 'contacts');
EXPLAIN (COSTS OFF) SELECT id FROM hub.tagged WHERE hs_interests = '{math}' AND properties = '{}';
-- A table reading another object through the table option path searches (and writes) that object.
CREATE FOREIGN TABLE hub.deals_by_path (id text, dealname text)
    SERVER hs OPTIONS (object 'contacts', path '/crm/v3/objects/deals');
EXPLAIN (COSTS OFF) SELECT id FROM hub.deals_by_path WHERE dealname = 'x';
SELECT count(*) FROM hub.deals_by_path WHERE dealname LIKE 'Acme%';

-- At most 10 conditions go into one search; the rest are checked by Postgres.
EXPLAIN (COSTS OFF) SELECT id FROM hub.deals
WHERE dealstage = 'a' AND pipeline = 'b' AND amount > 1 AND amount < 2 AND amount >= 3 AND amount <= 4
  AND closedate > '2020-01-01' AND closedate < '2030-01-01' AND hubspot_owner_id = 'c' AND dealname = 'd'
  AND amount <> 5 AND dealstage IN ('x', 'y');

-- A LIMIT sets the search's page size.
SELECT * FROM fake.reset;
SELECT dealname FROM hub.deals WHERE amount > 100 LIMIT 2;
SELECT body::jsonb -> 'limit' AS page_size FROM fake.requests;

-- Searches are paced to the endpoint's 4 requests a second, so a join that searches once per row
-- does not run into 429s.
CREATE TEMP TABLE stages AS SELECT unnest(ARRAY['appointmentscheduled', 'qualifiedtobuy',
    'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost',
    'appointmentscheduled', 'closedwon']) AS stage;
SELECT * FROM fake.reset;
SELECT s.stage, d.n FROM stages s
CROSS JOIN LATERAL (SELECT count(*) AS n FROM hub.deals d WHERE d.dealstage = s.stage OFFSET 0) d
ORDER BY 1, 2;
SELECT count(*) AS searches FROM fake.requests WHERE path = '/crm/v3/objects/deals/search';
CREATE FOREIGN TABLE fake.hubspot_rate_limited (rate_limited bigint) SERVER fake
    OPTIONS (path '/crm/v3/_fake/rate_limited');
SELECT rate_limited FROM fake.hubspot_rate_limited;

-- Writes to deals, and HubSpot's validation error.
INSERT INTO hub.deals (dealname, amount, dealstage, pipeline)
VALUES ('Tether pilot', 12500, 'qualifiedtobuy', 'default')
RETURNING dealname, amount, dealstage, created_at IS NOT NULL AS created;
UPDATE hub.deals SET dealstage = 'closedwon' WHERE dealname = 'Tether pilot' RETURNING dealname, dealstage;
\set VERBOSITY terse
INSERT INTO hub.deals (dealname, dealstage) VALUES ('Bad stage', 'napping');
\set VERBOSITY default
DELETE FROM hub.deals WHERE dealname = 'Tether pilot' RETURNING dealname;

-- OAuth2: the token endpoint is asked once, then its token is used until shortly before it expires.
CREATE SERVER hs_oauth FOREIGN DATA WRAPPER tether OPTIONS (
    connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_oauth
    OPTIONS (client_id 'test-client-short', client_secret :'client_secret', refresh_token :'refresh_token');
CREATE FOREIGN TABLE hub.oauth_deals (id text, dealname text) SERVER hs_oauth OPTIONS (object 'deals');
SELECT * FROM fake.reset;
SELECT count(*) FROM hub.oauth_deals;
SELECT count(*) FROM hub.oauth_deals WHERE id = '1';
-- These tokens live one second: the next statement gets a new one first.
SELECT pg_sleep(1.2);
SELECT count(*) FROM hub.oauth_deals WHERE id = '2';
-- (the mapping's client_secret and refresh_token, which the bodies carry, shown by name)
SELECT method, path, replace(replace(body, :'client_secret', '<client_secret>'), :'refresh_token', '<refresh_token>') AS body
FROM fake.requests WHERE path = '/oauth/v1/token';
SELECT count(*) FILTER (WHERE headers ->> 'authorization' LIKE 'Bearer %') AS with_token, count(*)
FROM fake.requests WHERE path LIKE '/crm/%';

-- Without a refresh token, the client_credentials grant is used.
CREATE SERVER hs_client FOREIGN DATA WRAPPER tether OPTIONS (
    connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_client
    OPTIONS (client_id 'test-client', client_secret :'client_secret', scope 'crm.objects.deals.read');
CREATE FOREIGN TABLE hub.client_deals (id text) SERVER hs_client OPTIONS (object 'deals');
SELECT * FROM fake.reset;
SELECT count(*) FROM hub.client_deals WHERE id = '1';
SELECT path, replace(body, :'client_secret', '<client_secret>') AS body FROM fake.requests WHERE path = '/oauth/v1/token';

-- A refresh token the provider refuses is a clear authorization error.
ALTER USER MAPPING FOR CURRENT_USER SERVER hs_oauth
    OPTIONS (SET client_id 'test-client', SET refresh_token 'rt-revoked-1');
SELECT count(*) FROM hub.oauth_deals;
SELECT fake.sqlstate_of('SELECT count(*) FROM hub.oauth_deals');
-- And a mapping without client_id or refresh token is refused before any request.
ALTER USER MAPPING FOR CURRENT_USER SERVER hs_oauth OPTIONS (DROP refresh_token, DROP client_secret);
SELECT count(*) FROM hub.oauth_deals;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE fake.hubspot_rate_limited;
DROP SCHEMA hub CASCADE;
DROP SERVER hs_oauth, hs_client CASCADE;
CALL fake.check_clean();
