-- Options are validated when servers, user mappings and tables are created or altered, and the errors
-- list what is accepted.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL

-- Servers.
CREATE SERVER v1 FOREIGN DATA WRAPPER tether;
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspto');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_ulr 'http://x');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url 'ftp://files.example.com');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url 'https://x.test', auth 'oauth3');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url 'https://x.test', read_timeout 'soon');
CREATE SERVER v1 FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url 'https://x.test', read_timeout '5s', connect_timeout '500ms');
ALTER SERVER v1 OPTIONS (SET connect_timeout '0');
ALTER SERVER v1 OPTIONS (ADD colour 'blue');
ALTER SERVER v1 OPTIONS (ADD rate_limit 'fast');
ALTER SERVER v1 OPTIONS (ADD auth 'oauth2');
ALTER SERVER v1 OPTIONS (ADD token_url 'ldap://x');
-- Options on the wrapper itself are refused.
ALTER FOREIGN DATA WRAPPER tether OPTIONS (ADD connector 'rest');

-- User mappings.
CREATE USER MAPPING FOR CURRENT_USER SERVER v1 OPTIONS (tokn 'abc');
CREATE USER MAPPING FOR CURRENT_USER SERVER v1 OPTIONS (token 'abc');

-- Foreign tables: unknown options, unknown objects, bad values, paths that leave the base URL.
CREATE FOREIGN TABLE vt (id text) SERVER hs;
CREATE FOREIGN TABLE vt (id text) SERVER hs OPTIONS (object 'tickets');
CREATE FOREIGN TABLE vt (id text) SERVER hs OPTIONS (object 'contacts', colour 'blue');
CREATE FOREIGN TABLE vt (id text) SERVER hs OPTIONS (object 'contacts', page_size '500');
CREATE FOREIGN TABLE vt (id text) SERVER hs OPTIONS (object 'contacts', page_size 'many');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (object 'contacts');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path 'customers');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path 'https://evil.test/customers');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/api/../admin');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/items', pagination 'sideways');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/items', pagination 'cursor');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/items', offset_param 'skip');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/items', records 'data');
CREATE FOREIGN TABLE vt (id text) SERVER v1 OPTIONS (path '/items', get_path '/items/one');

-- Columns.
CREATE FOREIGN TABLE vt (id text OPTIONS (json_pointer 'id')) SERVER v1 OPTIONS (path '/items');
CREATE FOREIGN TABLE vt (id text OPTIONS (jsonpointer '/id')) SERVER v1 OPTIONS (path '/items');
CREATE FOREIGN TABLE vt (id text OPTIONS (json_pointer '/id', column_name 'x')) SERVER v1 OPTIONS (path '/items');

-- A valid table; a later ALTER is checked too.
CREATE FOREIGN TABLE vt (id text, name text) SERVER v1 OPTIONS (path '/items', pagination 'page');
ALTER FOREIGN TABLE vt OPTIONS (ADD cursor_param 'after');
ALTER FOREIGN TABLE vt ALTER COLUMN name OPTIONS (ADD json_pointer 'name');
ALTER FOREIGN TABLE vt OPTIONS (SET pagination 'link_header');
DROP FOREIGN TABLE vt;

-- Foreign tables of other wrappers are not checked by Tether.
CREATE FOREIGN DATA WRAPPER other_fdw;
CREATE SERVER other FOREIGN DATA WRAPPER other_fdw;
CREATE FOREIGN TABLE other_table (x int) SERVER other OPTIONS (anything 'goes');
DROP SERVER other CASCADE;
DROP FOREIGN DATA WRAPPER other_fdw;
DROP SERVER v1 CASCADE;

-- The catalog of connectors and their objects.
SELECT connector, object, pagination, id_lookup, pushdown FROM tether.connectors() ORDER BY 1, 2;
SELECT connector, object, writes FROM tether.connectors() ORDER BY 1, 2;
SELECT columns FROM tether.connectors() WHERE connector = 'hubspot' AND object = 'contacts';
SELECT tether.connector_definition('hubspot') -> 'objects' -> 'contacts' -> 'list';
SELECT tether.connector_definition('nope');

-- Clean-up: nothing is left of the above.
CALL fake.check_clean();
