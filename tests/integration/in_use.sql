-- A database using Tether as 0.1.0 already could: a registered connector (items_api) with a server and
-- IMPORT FOREIGN SCHEMA into shop, a HubSpot server with a user mapping and crm.contacts, and a mirror of
-- it (crm.local_contacts, refreshed daily). Shared by tests/upgrade/upgrade.sh (which runs it on 0.1.0)
-- and tests/integration/dump_restore.sh. Variables: fake_url, token.
CREATE EXTENSION tether;
SELECT tether.register_connector('{
  "name": "items_api",
  "base_url": "https://items.invalid",
  "objects": {"items": {
    "list": {"path": "/rest/page/items", "records": "/data",
             "page_size": {"param": "per_page", "default": 10},
             "pagination": {"style": "page", "param": "page", "total_pages": "/meta/pagination/total_pages"}},
    "columns": [{"name": "id", "type": "integer", "pointer": "/id"}, {"name": "name", "type": "text", "pointer": "/name"}]
  }}
}');
CREATE SERVER items FOREIGN DATA WRAPPER tether OPTIONS (connector 'items_api', base_url :'fake_url');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA items_api FROM SERVER items INTO shop;
CREATE SERVER hs FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs OPTIONS (token :'token');
CREATE SCHEMA crm;
CREATE FOREIGN TABLE crm.contacts (id text, email text, firstname text, updated_at timestamptz)
    SERVER hs OPTIONS (object 'contacts');
SELECT tether.mirror('crm.contacts', 'crm.local_contacts', every => '1 day');
