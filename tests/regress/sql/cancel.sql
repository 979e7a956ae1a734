-- A scan waiting on a provider that never answers is stopped by statement_timeout within about a
-- second (the HTTP call runs on a helper thread; the backend keeps checking for interrupts).

-- Set-up: the shared fixture (the fake provider reset, servers hs and api) and the tables crm.contacts
-- and crm.companies.
\i tests/regress/fixtures/base.sql
\i tests/regress/fixtures/crm.sql
CREATE FOREIGN TABLE stalled (id int) SERVER api OPTIONS (path '/faults/stall');
SET statement_timeout = '1s';
SELECT * FROM stalled;
RESET statement_timeout;

-- The same, measured: the statement is cancelled in well under 3 seconds.
SET statement_timeout = '1s';
DO $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    PERFORM * FROM stalled;
    RAISE NOTICE 'not cancelled';
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'cancelled after less than 3 s: %', clock_timestamp() - started < interval '3 s';
END
$$;
RESET statement_timeout;

-- The backend keeps working afterwards.
SELECT count(*) FROM crm.contacts WHERE id = '5';

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE stalled;
DROP SCHEMA crm CASCADE;
CALL fake.check_clean();
