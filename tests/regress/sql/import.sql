-- IMPORT FOREIGN SCHEMA: the remote schema names the connector; LIMIT TO and EXCEPT name tables.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA hubspot EXCEPT (companies) FROM SERVER hs INTO imp;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'imp' ORDER BY 1;
\d imp.contacts
-- Importing again: the tables exist.
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER hs INTO imp;
-- A table name that is not one of the connector's is an error, not a silent no-op.
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contact) FROM SERVER hs INTO imp;
IMPORT FOREIGN SCHEMA hubspot EXCEPT (tickets) FROM SERVER hs INTO imp;
-- The remote schema must be the server's connector.
IMPORT FOREIGN SCHEMA salesforce FROM SERVER hs INTO imp;
-- No import options are taken.
IMPORT FOREIGN SCHEMA hubspot FROM SERVER hs INTO imp OPTIONS (prefix 'hs_');
-- The generic REST connector has no fixed tables.
IMPORT FOREIGN SCHEMA rest FROM SERVER api INTO imp;
-- The imported tables work.
SELECT count(*) > 0 AS has_rows FROM imp.contacts;
DROP SCHEMA imp CASCADE;

-- Clean-up: nothing is left of the above.
CALL fake.check_clean();
