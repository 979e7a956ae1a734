-- Provider failures become one native ERROR each: the provider's message, the HTTP exchange in DETAIL,
-- a HINT where the fix is known, and a documented SQLSTATE (docs/errors.md; listed at the end).

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the tables crm.contacts
-- and crm.companies.
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
\getenv fake_url FAKE_URL

SELECT * FROM fake.reset;
-- Failed requests are retried (retries.sql shows how); here each failure is reported at once.
ALTER SERVER api OPTIONS (ADD max_retries '0');

-- 401: a wrong token. HubSpot's own message, the credentials are not shown.
CREATE SERVER hs_badtoken FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs_badtoken OPTIONS (token 'expired-token-123');
CREATE FOREIGN TABLE bad_contacts (id text, email text) SERVER hs_badtoken OPTIONS (object 'contacts');
SELECT * FROM bad_contacts;

-- PL/pgSQL can catch it by SQLSTATE.
DO $$
BEGIN
    PERFORM * FROM bad_contacts;
EXCEPTION WHEN invalid_authorization_specification THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END
$$;

-- No user mapping at all.
CREATE SERVER hs_nomapping FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE FOREIGN TABLE unmapped_contacts (id text) SERVER hs_nomapping OPTIONS (object 'contacts');
SELECT * FROM unmapped_contacts;

-- Malformed JSON in a 200 answer.
CREATE FOREIGN TABLE malformed (id text, email text) SERVER api OPTIONS (path '/faults/malformed', records '/results');
SELECT * FROM malformed;

-- Error statuses: 500 (provider unavailable), 404 on a listing, 422 with a message, 429.
CREATE FOREIGN TABLE status_500 (id int) SERVER api OPTIONS (path '/faults/status/500');
SELECT * FROM status_500;
CREATE FOREIGN TABLE status_404 (id int) SERVER api OPTIONS (path '/faults/status/404');
SELECT * FROM status_404;
CREATE FOREIGN TABLE status_422 (id int) SERVER api OPTIONS (path '/faults/status/422');
SELECT * FROM status_422;
CREATE FOREIGN TABLE status_429 (id int) SERVER api OPTIONS (path '/faults/status/429');
SELECT * FROM status_429;

-- A redirect is reported, not followed (it could carry credentials to another host).
CREATE FOREIGN TABLE redirected (id int) SERVER api OPTIONS (path '/faults/redirect');
SELECT * FROM redirected;

-- A failure fails the statement; the next statement works again.
CREATE FOREIGN TABLE items_paged (id int) SERVER api
    OPTIONS (path '/rest/link/items', pagination 'link_header', page_size '10', page_size_param 'per_page');
CREATE FOREIGN TABLE fake.inject_503 (injected boolean) SERVER fake
    OPTIONS (path '/_control/inject', query 'status=503&times=1&path_prefix=/rest/link/items');
-- (with retries, a single 503 would have been retried and not seen at all)
SELECT * FROM fake.inject_503;
SELECT count(*) FROM items_paged;
SELECT count(*) FROM items_paged;

-- An API that keeps returning the same cursor, or ignores the page number, stops with an error.
CREATE FOREIGN TABLE looping (id text) SERVER hs OPTIONS (object 'contacts', path '/faults/repeat-cursor');
SELECT count(*) FROM looping;
CREATE FOREIGN TABLE same_page (id int) SERVER api
    OPTIONS (path '/faults/same-page', pagination 'page', page_size '5');
SELECT count(*) FROM same_page;

-- Records not where the table says they are.
CREATE FOREIGN TABLE wrong_records (id int) SERVER api OPTIONS (path '/rest/offset/items', records '/results');
SELECT * FROM wrong_records;

-- Nothing listens: a connection error naming the host, with a hint.
CREATE SERVER nowhere FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url 'http://127.0.0.1:1', max_retries '0');
CREATE FOREIGN TABLE nowhere_items (id int) SERVER nowhere OPTIONS (path '/items');
SELECT * FROM nowhere_items;

-- A slow provider and a short read_timeout.
CREATE SERVER slow FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url', read_timeout '300ms', max_retries '0');
CREATE FOREIGN TABLE slow_items (id int) SERVER slow OPTIONS (path '/faults/slow', query 'ms=3000');
SELECT * FROM slow_items;
ALTER SERVER slow OPTIONS (SET read_timeout '10s');
ALTER FOREIGN TABLE slow_items OPTIONS (SET query 'ms=50');
SELECT * FROM slow_items;

-- The backend is fine after all of the above.
SELECT count(*) FROM crm.contacts WHERE id = '1';

-- The SQLSTATE of each failure above.
SELECT statement, fake.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('SELECT * FROM bad_contacts'),
    ('SELECT * FROM unmapped_contacts'),
    ('SELECT * FROM malformed'),
    ('SELECT * FROM status_500'),
    ('SELECT * FROM status_404'),
    ('SELECT * FROM status_422'),
    ('SELECT * FROM status_429'),
    ('SELECT * FROM redirected'),
    ('SELECT count(*) FROM looping'),
    ('SELECT count(*) FROM same_page'),
    ('SELECT * FROM wrong_records'),
    ('SELECT * FROM nowhere_items')
) AS t(statement);
ALTER SERVER api OPTIONS (DROP max_retries);

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE malformed, status_500, status_404, status_422, status_429, redirected, items_paged, looping,
    same_page, wrong_records, fake.inject_503;
DROP SERVER hs_badtoken, hs_nomapping, nowhere, slow CASCADE;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
