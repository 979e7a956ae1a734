#!/usr/bin/env bash
# A connector's deletions listing is network input that decides which mirror rows are deleted. A
# provider (or whoever controls what it lists) sends ids built to widen the deletion: SQL fragments,
# LIKE and regex wildcards, array and row literals. Each listed id removes at
# most the one row whose id reads exactly the same; the listing is read with the mirror owner's
# credentials and rights (tether.request_pages as sec_alice), and the refresh goes on.
#
# The listing here is the fake REST items listed by name, so the test decides what the "ids" are.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_listing CASCADE; SELECT tether.drop_connector('hostile_listing') FROM tether.user_connectors WHERE name = 'hostile_listing'" >/dev/null
q "SELECT tether.register_connector(\$json\$
{\"name\": \"hostile_listing\", \"base_url\": \"https://items.invalid\", \"auth\": {\"scheme\": \"none\"},
 \"objects\": {\"items\": {
   \"list\": {\"path\": \"/rest/plain/items\", \"records\": \"\"},
   \"columns\": [{\"name\": \"id\", \"type\": \"integer\", \"pointer\": \"/id\"},
                {\"name\": \"name\", \"type\": \"text\", \"pointer\": \"/name\", \"field\": \"name\"},
                {\"name\": \"created_at\", \"type\": \"timestamptz\", \"pointer\": \"/created_at\"}],
   \"updated_column\": \"created_at\",
   \"create\": {\"method\": \"POST\", \"path\": \"/rest/plain/items\"},
   \"deletions\": {\"path\": \"/rest/plain/items\", \"records\": \"\", \"id\": \"/name\"}}}}
\$json\$)" >/dev/null
q "CREATE SERVER sec_listing FOREIGN DATA WRAPPER tether OPTIONS (connector 'hostile_listing', base_url '$FAKE_URL');
   GRANT USAGE ON FOREIGN SERVER sec_listing TO sec_alice" >/dev/null
as_script sec_alice <<'SQL' >/dev/null
CREATE SCHEMA sec_alice;
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_listing;
CREATE FOREIGN TABLE sec_alice.items (id integer, name text, created_at timestamptz)
    SERVER sec_listing OPTIONS (object 'items');
SELECT tether.mirror('sec_alice.items', 'sec_alice.m', every => '1 day', sweep_every => '1 day');
SQL
[ "$(synced sec_alice.m)" = idle ] || fail "the mirror did not sync"
before=$(q "SELECT count(*) FROM sec_alice.m")
[ "$before" -ge 8 ] || fail "expected the seeded items in the mirror, got $before"

# Items whose names are the hostile "ids" the listing will send; "2" is the one genuine id among them.
for name in "1' OR '1'='1" "%" ".*" "{3,4}" "(5)" "6 OR true" "2"; do
    as sec_alice "SELECT tether.request('sec_listing', 'POST', '/rest/plain/items', body => jsonb_build_object('name', \$n\$${name}\$n\$, 'price', 1)) IS NOT NULL" >/dev/null
done

as sec_alice "SELECT tether.refresh('sec_alice.m', wait => true) IS NOT NULL" >/dev/null \
    || fail "the refresh failed: $(q "SELECT last_error FROM tether.mirrors WHERE mirror = 'sec_alice.m'::regclass")"
run=$(q "SELECT pass || ' ' || rows_deleted FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('sec_alice.m') ORDER BY id DESC LIMIT 1")
[ "$run" = "incremental 1" ] || fail "expected an incremental refresh deleting one row, got: $run"
[ "$(q "SELECT count(*) FROM sec_alice.m WHERE id = 2")" = 0 ] || fail "record 2, listed as deleted, is still in the mirror"
for id in 1 3 4 5 6; do
    [ "$(q "SELECT count(*) FROM sec_alice.m WHERE id = $id")" = 1 ] || fail "record $id was deleted by a hostile listed id"
done
after=$(q "SELECT count(*) FROM sec_alice.m")
[ "$after" -ge "$before" ] || fail "the mirror lost more than record 2: $before rows before, $after after (7 items were added)"
ok "hostile ids in a deletions listing remove only the row whose id is listed exactly (record 2 of $before)"

q "SET client_min_messages = warning; DROP SCHEMA sec_alice CASCADE; DROP SERVER sec_listing CASCADE; SELECT tether.drop_connector('hostile_listing')" >/dev/null
