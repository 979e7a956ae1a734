-- Every supported column type, converted from the JSON the provider sends. A missing field is NULL; a
-- value that does not convert is an error naming the column, the object and the value.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
CREATE FOREIGN TABLE typed (
    id int,
    t_text text,
    t_varchar varchar(20) OPTIONS (column_name 't_text'),
    t_int2 smallint,
    t_int4 integer,
    t_int8 bigint,
    t_numeric numeric,
    t_float double precision,
    t_bool boolean,
    t_date date,
    t_ts timestamptz,
    t_ts_epoch timestamptz,
    t_json jsonb,
    t_array text[],
    t_csv text[] OPTIONS (separator ';'),
    t_null text,
    t_missing text,
    t_uuidish text OPTIONS (json_pointer '/t_json/a/0')
) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed ORDER BY id;
SELECT pg_typeof(t_int8), pg_typeof(t_ts), pg_typeof(t_json) FROM typed LIMIT 1;

-- json, real, varchar[] and a type without a direct conversion (through its input function).
CREATE FOREIGN TABLE typed_more (
    id int,
    t_json json,
    t_float real,
    t_array varchar[],
    t_date timestamp,
    t_int4 int8
) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed_more ORDER BY id;

-- Failing conversions.
CREATE FOREIGN TABLE typed_bad (id int, t_int4 integer) SERVER api OPTIONS (path '/rest/types_bad');
SELECT * FROM typed_bad;
CREATE FOREIGN TABLE typed_bad_ts (id int, t_text timestamptz) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed_bad_ts;
CREATE FOREIGN TABLE typed_range (id int, t_int8 smallint) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed_range;
CREATE FOREIGN TABLE typed_varchar (id int, t_text varchar(3)) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed_varchar;
CREATE FOREIGN TABLE typed_array (id int, t_csv text[]) SERVER api OPTIONS (path '/rest/types');
SELECT * FROM typed_array;
-- The failing column is not read when the query does not need it.
SELECT id FROM typed_bad ORDER BY id;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP FOREIGN TABLE typed, typed_more, typed_bad, typed_bad_ts, typed_range, typed_varchar, typed_array;
CALL fake.check_clean();
