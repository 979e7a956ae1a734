-- A scan waiting on a provider that never answers is stopped by statement_timeout within about a
-- second (the HTTP call runs on a helper thread; the backend keeps checking for interrupts).
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
