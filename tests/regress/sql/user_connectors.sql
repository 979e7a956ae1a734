-- Connectors registered with SQL: validated with the JSON path at fault, used like built-in ones,
-- updated and dropped; only the extension's owner or a superuser may change them.

-- Set-up: the shared fixture (the fake provider reset, servers hs and api).
\i tests/regress/fixtures/base.sql
\getenv fake_url FAKE_URL
\getenv token TETHER_TEST_TOKEN

-- A small connector for the fake provider's deals, with a search endpoint limited to 50 results.
SELECT tether.register_connector($json$
{
  "name": "pipeline",
  "title": "Deals of our CRM",
  "base_url": "https://crm.invalid",
  "auth": {"scheme": "bearer"},
  "errors": {"message": ["/message"], "code": ["/category"]},
  "objects": {
    "deals": {
      "list": {
        "path": "/crm/v3/objects/deals",
        "records": "/results",
        "page_size": {"param": "limit", "default": 100, "max": 100},
        "pagination": {"style": "cursor", "cursor": "/paging/next/after", "param": "after"},
        "fields_param": {"param": "properties"}
      },
      "get": {"path": "/crm/v3/objects/deals/{id}"},
      "columns": [
        {"name": "id", "type": "text", "pointer": "/id"},
        {"name": "title", "type": "text", "pointer": "/properties/dealname", "field": "dealname"},
        {"name": "stage", "type": "text", "pointer": "/properties/dealstage", "field": "dealstage"},
        {"name": "value", "type": "numeric", "pointer": "/properties/amount", "field": "amount"}
      ],
      "search": {
        "path": "/crm/v3/objects/deals/search",
        "body": {"filterGroups": [{"filters": "$filters"}], "properties": "$fields", "limit": "$page_size", "after": "$cursor"},
        "filter": {"propertyName": "$field", "operator": "$op", "value": "$value", "values": "$values"},
        "ops": {"eq": "EQ", "in": "IN", "gt": "GT"},
        "records": "/results",
        "cursor": "/paging/next/after",
        "page_size": {"default": 100, "max": 200},
        "max_results": 50,
        "total": "/total"
      },
      "update": {"method": "PATCH", "path": "/crm/v3/objects/deals/{id}"}
    }
  }
}
$json$);
SELECT name, definition ->> 'title' AS title, registered_by = current_user AS by_me FROM tether.user_connectors;
SELECT connector, object, pagination, columns, pushdown, writes FROM tether.connectors() WHERE connector = 'pipeline';

-- Used end to end: a server, a table from IMPORT FOREIGN SCHEMA, reads, pushdown and writes.
CREATE SERVER crm2 FOREIGN DATA WRAPPER tether OPTIONS (connector 'pipeline', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER crm2 OPTIONS (token :'token');
CREATE SCHEMA crm2;
IMPORT FOREIGN SCHEMA pipeline FROM SERVER crm2 INTO crm2;
SELECT count(*), count(title) FROM crm2.deals;
SELECT * FROM fake.reset;
SELECT count(*) FROM crm2.deals WHERE stage = 'closedwon';
SELECT method, path, body FROM fake.requests;
UPDATE crm2.deals SET value = 999 WHERE id = '3' RETURNING id, title, value;
INSERT INTO crm2.deals (title) VALUES ('no create endpoint');
-- The search endpoint returns at most 50 records here: a search matching more fails instead of
-- returning a cut result.
SELECT count(*) FROM crm2.deals WHERE value > 0;

-- Invalid definitions are refused with the JSON path at fault; nothing is stored.
SELECT tether.register_connector('{"name": "broken", "objects": {"x": {"list": {"path": "x"}}}}');
SELECT tether.register_connector('{"name": "broken", "objects": {"x": {"list": {"path": "/x", "pagination": {"style": "sideways"}}}}}');
SELECT tether.register_connector('{"name": "broken", "objects": {"x": {"list": {"path": "/x"}, "colour": "blue"}}}');
SELECT tether.register_connector('{"name": "Bad Name", "objects": {"x": {"list": {"path": "/x"}}}}');
SELECT tether.register_connector('{"name": "hubspot", "objects": {"x": {"list": {"path": "/x"}}}}');
SELECT tether.register_connector((SELECT definition FROM tether.user_connectors WHERE name = 'pipeline'));
SELECT tether.update_connector('{"name": "nothere", "objects": {"x": {"list": {"path": "/x"}}}}');
SELECT count(*) FROM tether.user_connectors;

-- Updating: servers use the new definition from their next statement.
SELECT tether.update_connector(jsonb_set(definition, '{objects,deals,columns,1,name}', '"deal_title"'))
FROM tether.user_connectors WHERE name = 'pipeline';
SELECT title FROM crm2.deals WHERE id = '3';
CREATE FOREIGN TABLE crm2.deals_v2 (id text, deal_title text) SERVER crm2 OPTIONS (object 'deals');
SELECT deal_title FROM crm2.deals_v2 WHERE id = '3';

-- Only the extension's owner or a superuser may change connectors; anyone may use them.
CREATE ROLE tether_user;
GRANT USAGE ON SCHEMA tether TO tether_user;
SET ROLE tether_user;
SELECT tether.register_connector('{"name": "mine", "objects": {"x": {"list": {"path": "/x"}}}}');
SELECT tether.drop_connector('pipeline');
SELECT count(*) FROM tether.user_connectors;
RESET ROLE;

-- Dropping: refused while a server uses the connector.
SELECT tether.drop_connector('pipeline');
SELECT tether.drop_connector('hubspot');
SELECT tether.drop_connector('nothere');
DROP SERVER crm2 CASCADE;
SELECT tether.drop_connector('pipeline');
SELECT count(*) FROM tether.user_connectors;
CREATE SERVER crm3 FOREIGN DATA WRAPPER tether OPTIONS (connector 'pipeline');
REVOKE USAGE ON SCHEMA tether FROM tether_user;
DROP ROLE tether_user;

-- A dump restores servers and tables before the registered connectors' rows (pg_dump turns
-- check_function_bodies off): a connector not registered yet is accepted then, and checked on use.
SET check_function_bodies = off;
CREATE SERVER restored FOREIGN DATA WRAPPER tether OPTIONS (connector 'pipeline');
CREATE FOREIGN TABLE restored_deals (id text) SERVER restored OPTIONS (object 'deals');
RESET check_function_bodies;
SELECT * FROM restored_deals;
CREATE FOREIGN TABLE restored_more (id text) SERVER restored OPTIONS (object 'deals');
DROP SERVER restored CASCADE;

-- Clean-up: what the scenario created.
SET client_min_messages = warning;
DROP SCHEMA crm2;
CALL fake.check_clean();
