-- Shared set-up for the SQL scenarios: the extension, readable output settings, and foreign tables
-- over the fake provider's control endpoints (request counters, request log, fault injection).
-- The fake provider's URL comes from the environment, so no port appears in expected output.
\getenv fake_url FAKE_URL
CREATE EXTENSION tether;
ALTER DATABASE tether_regress SET timezone = 'UTC';
ALTER DATABASE tether_regress SET datestyle = 'ISO, YMD';
ALTER DATABASE tether_regress SET extra_float_digits = 0;

-- The fake provider's control endpoints, read through Tether's own generic REST connector.
CREATE SERVER fake FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE SCHEMA fake;
CREATE FOREIGN TABLE fake.stats (requests bigint, connections bigint, by_path jsonb)
    SERVER fake OPTIONS (path '/_control/stats');
CREATE FOREIGN TABLE fake.reset (reset boolean)
    SERVER fake OPTIONS (path '/_control/reset');
CREATE FOREIGN TABLE fake.requests (method text, path text, query text)
    SERVER fake OPTIONS (path '/_control/requests', records '/requests');
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
CREATE USER MAPPING FOR CURRENT_USER SERVER hs OPTIONS (token 'test-token');
CREATE SERVER api FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
