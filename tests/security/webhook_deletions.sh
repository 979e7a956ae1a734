#!/usr/bin/env bash
# Hole 4: a signed deletion event must not delete what the provider still has, and one bad event must
# not wedge a mirror. (Signed: whoever holds the webhook secret, or a provider's event replayed or out
# of order.)
#  - For an object without a get by id, the record was deleted on the event's word. Now the event asks
#    for a full pass, whose sweep removes only what the provider no longer lists.
#  - An id that does not convert to the id column's type made every later pass fail, and only a
#    superuser could clear the queue. Now it is dropped (with a line in the server log) and the mirror
#    goes on.
#  - Where there is a get by id, the provider is asked: a record it has is kept, one it lost goes.
. "$(dirname "$0")/lib.sh"

SECRET="tsec-rest-hooks-$(date +%s%N | sha256sum | cut -c1-12)"
LOG=${TETHER_PG_LOG:-$PGHOST/postgres.log}
ensure_database
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_rest CASCADE; DROP SCHEMA IF EXISTS sec_d CASCADE" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v secret="$SECRET" <<'SQL'
CREATE SERVER sec_rest FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_rest OPTIONS (webhook_secret :'secret');
CREATE SCHEMA sec_d;
-- items: a get by id; things: none (the same records, listed only).
CREATE FOREIGN TABLE sec_d.items (id int, name text) SERVER sec_rest
    OPTIONS (path '/rest/plain/items', get_path '/rest/plain/items/{id}');
CREATE FOREIGN TABLE sec_d.things (id int, name text) SERVER sec_rest OPTIONS (path '/rest/plain/items');
SELECT tether.mirror('sec_d.items', 'sec_d.m_items', every => '1 day') IS NOT NULL AS created;
SELECT tether.mirror('sec_d.things', 'sec_d.m_things', every => '1 day') IS NOT NULL AS created;
SQL
[ "$(synced sec_d.m_items)" = idle ] && [ "$(synced sec_d.m_things)" = idle ] || fail "the mirrors did not sync"
n=$(q "SELECT count(*) FROM sec_d.m_things")
[ "$n" -ge 10 ] || fail "expected at least 10 items, got $n"

event() { printf '{"id": "evt-%s", "type": "%s.deleted", "record_id": "%s"}' "$(date +%s%N)" "$1" "$2"; }
expect_200() { case "$1" in 200\ *'"recorded":1'*) ;; *) fail "the signed delivery was not accepted: $1" ;; esac; }

# No get by id: the event's word is not enough. (These mirrors have no updated-since column, so every
# pass is a full one anyway: what matters is that the record the provider still lists stays.)
last=$(q "SELECT coalesce(max(id), 0) FROM tether.sync_runs")
expect_200 "$(rest_delivery sec_rest "$SECRET" "$(event things 5)")"
wait_until 30 "SELECT EXISTS (SELECT 1 FROM tether.sync_runs WHERE mirror_id = tether.mirror_id('sec_d.m_things')
                              AND id > $last AND finished_at IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM tether.mirror_deletions WHERE mirror_id = tether.mirror_id('sec_d.m_things'))"
[ "$(q "SELECT count(*) FROM sec_d.m_things WHERE id = 5")" = 1 ] || fail "record 5, which the provider has, was deleted on an event's word"
ok "a deletion the provider cannot confirm by id is left to a full pass, which keeps the record"

# An id that is not an id of the mirror.
expect_200 "$(rest_delivery sec_rest "$SECRET" "$(event items oops)")"
wait_until 30 "SELECT NOT EXISTS (SELECT 1 FROM tether.mirror_deletions WHERE mirror_id = tether.mirror_id('sec_d.m_items'))"
as_is=$(q "SELECT state FROM tether.mirrors WHERE mirror = 'sec_d.m_items'::regclass")
[ "$as_is" = idle ] || fail "a bad id in a deletion event put the mirror in state $as_is: $(q "SELECT last_error FROM tether.mirrors WHERE mirror = 'sec_d.m_items'::regclass")"
grep -q 'ignored a reported deletion of record "oops"' "$LOG" || fail "the ignored deletion is not in the server log"
q "SELECT tether.refresh('sec_d.m_items', wait => true) IS NOT NULL" >/dev/null || fail "the next refresh failed"
ok "a deletion event with an id that is not one is dropped and logged; the mirror keeps syncing"

# With a get by id: a record the provider has is kept, one it lost goes.
q "DELETE FROM sec_d.items WHERE id = 7" >/dev/null
expect_200 "$(rest_delivery sec_rest "$SECRET" "$(event items 6)")"
expect_200 "$(rest_delivery sec_rest "$SECRET" "$(event items 7)")"
wait_until 30 "SELECT NOT EXISTS (SELECT 1 FROM sec_d.m_items WHERE id = 7)"
[ "$(q "SELECT count(*) FROM sec_d.m_items WHERE id = 6")" = 1 ] || fail "record 6, which the provider has, was deleted"
ok "with a get by id, the provider decides: 7 (gone) removed, 6 (there) kept"

q "SELECT tether.unmirror('sec_d.m_items', drop => true), tether.unmirror('sec_d.m_things', drop => true)" >/dev/null
q "DELETE FROM tether.webhook_events WHERE server = 'sec_rest'; DROP SERVER sec_rest CASCADE; DROP SCHEMA sec_d CASCADE" >/dev/null
echo "ok: webhook deletions"
