-- Shared set-up for the SQL scenarios: the extension, readable output settings, and foreign tables
-- over the fake provider's control endpoints (request counters, request log, fault injection).
-- The fake provider's URL comes from the environment, so no port appears in expected output; so do the
-- test run's secrets (scripts/lib.sh), and since psql echoes a line before it puts the variables in,
-- no secret appears in the output either.
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN
CREATE EXTENSION tether;
-- (pg_regress runs every session with TimeZone PST8PDT and DateStyle 'Postgres, MDY'.)
ALTER DATABASE tether_regress SET extra_float_digits = 0;

-- The fake provider's control endpoints, read through Tether's own generic REST connector.
CREATE SERVER fake FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE SCHEMA fake;
CREATE FOREIGN TABLE fake.stats (requests bigint, connections bigint, by_path jsonb)
    SERVER fake OPTIONS (path '/_control/stats');
CREATE FOREIGN TABLE fake.reset (reset boolean)
    SERVER fake OPTIONS (path '/_control/reset');
CREATE FOREIGN TABLE fake.requests (method text, path text, query text, body text,
                                    idempotency_key text OPTIONS (json_pointer '/headers/idempotency-key'),
                                    query_text text, headers jsonb)
    SERVER fake OPTIONS (path '/_control/requests', records '/requests');
-- fake.inject('status=500&times=1&path_prefix=/crm'): the next matching requests fail as asked.
CREATE FOREIGN TABLE fake.injector (injected boolean) SERVER fake OPTIONS (path '/_control/inject');
CREATE FUNCTION fake.inject(params text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER FOREIGN TABLE fake.injector OPTIONS (SET query %L)', params);
    RETURN (SELECT injected FROM fake.injector);
END
$$;
ALTER FOREIGN TABLE fake.injector OPTIONS (ADD query 'status=200&times=0');
SELECT * FROM fake.reset;
SELECT requests, connections FROM fake.stats;

-- The SQLSTATE a statement fails with (scenarios show messages, DETAIL and HINT as psql prints them,
-- and the SQLSTATE through this, since verbose output would also print source locations).
CREATE FUNCTION fake.sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- The servers most scenarios use.
CREATE SERVER hs FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs OPTIONS (token :'token');
CREATE SERVER api FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
