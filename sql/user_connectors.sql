-- Connectors registered with tether.register_connector(jsonb). Definitions hold no credentials
-- (those live in user mappings), so every role may read them; only the extension owner or a
-- superuser may change them, through the functions (which check) or directly.
CREATE TABLE tether.user_connectors (
    name text PRIMARY KEY,
    definition jsonb NOT NULL,
    registered_by name NOT NULL DEFAULT current_user,
    registered_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_connectors_name_matches CHECK (definition ->> 'name' = name)
);

COMMENT ON TABLE tether.user_connectors IS 'connectors registered with tether.register_connector()';

REVOKE ALL ON tether.user_connectors FROM PUBLIC;
GRANT SELECT ON tether.user_connectors TO PUBLIC;

-- pg_dump keeps registered connectors with the extension.
SELECT pg_catalog.pg_extension_config_dump('tether.user_connectors', '');
