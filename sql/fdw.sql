-- The foreign data wrapper, and the check that runs when foreign tables are created or altered.

CREATE FOREIGN DATA WRAPPER tether
    HANDLER tether.tether_fdw_handler
    VALIDATOR tether.tether_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER tether IS 'HTTP APIs as tables (see tether.connectors())';

-- A validator is not told which server a foreign table belongs to, so the full check of a table's
-- options against its server's connector (object names, column mapping) runs here, at the end of
-- CREATE / ALTER FOREIGN TABLE and IMPORT FOREIGN SCHEMA. An error aborts the command.
CREATE FUNCTION tether.check_foreign_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT c.objid
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.objid
        JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
        JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE c.classid = 'pg_catalog.pg_class'::regclass
          AND w.fdwhandler = 'tether.tether_fdw_handler'::regproc
    LOOP
        PERFORM tether.validate_foreign_table(r.objid);
    END LOOP;
END
$$;

CREATE EVENT TRIGGER tether_check_foreign_tables ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'IMPORT FOREIGN SCHEMA')
    EXECUTE FUNCTION tether.check_foreign_tables();
