#!/usr/bin/env bash
# pg_dump of a database using every feature, restored by pg_restore into a fresh cluster: a registered
# connector, servers, a user mapping, foreign tables (one from IMPORT FOREIGN SCHEMA), a mirror with its
# rows and what the worker knew of it, and a push with its map table. In the new cluster the tables
# read, the mirror resumes (its state and runs restored, a refresh works, a write through it reaches
# the provider: its write-back trigger names no oid of the old cluster), and the push goes on from its
# map table without creating anything twice. Both clusters are the test's own, with the worker
# (shared_preload_libraries) serving the database. Run by scripts/test with FAKE_URL set.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
: "${FAKE_URL:?FAKE_URL is not set (scripts/test sets it)}"

DB=tether_dump
DIR=$(mktemp -d /tmp/tether-dump.XXXXXX)
chmod 755 "$DIR"
mkdir -p "$DIR/src" "$DIR/dst"
keep_logs() {
    [ -n "${TETHER_LOG_DIR:-}" ] || return 0
    mkdir -p "$TETHER_LOG_DIR/dump-restore"
    cp "$DIR/src/postgres.log" "$TETHER_LOG_DIR/dump-restore/src.log" 2>/dev/null || true
    cp "$DIR/dst/postgres.log" "$TETHER_LOG_DIR/dump-restore/dst.log" 2>/dev/null || true
}
trap 'stop_pg "$DIR/src"; stop_pg "$DIR/dst"; keep_logs; rm -rf "$DIR"' EXIT
SETTINGS=(shared_preload_libraries=tether tether.database=$DB tether.poll_interval=200)

start_pg "$DIR/src" "${SETTINGS[@]}"
SRC_PORT=$PGPORT
start_pg "$DIR/dst" "${SETTINGS[@]}"
DST_PORT=$PGPORT
# src SQL / dst SQL: one statement in that cluster's database, unaligned.
src() { psql -X -At -h "$DIR/src" -p "$SRC_PORT" -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
dst() { psql -X -At -h "$DIR/dst" -p "$DST_PORT" -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
# wait_for src|dst SQL WHAT: until SQL returns t (30 s).
wait_for() {
    for _ in $(seq 1 150); do
        [ "$("$1" "$2")" = t ] && return 0
        sleep 0.2
    done
    fail "timed out waiting for $3"
}

psql -X -q -h "$DIR/src" -p "$SRC_PORT" -d postgres -c "CREATE DATABASE $DB"
psql -X -q -h "$DIR/src" -p "$SRC_PORT" -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" \
    -v token="${TETHER_TEST_TOKEN:?TETHER_TEST_TOKEN is not set (scripts/lib.sh sets it)}" \
    -f "$TETHER_ROOT/tests/integration/in_use.sql" >/dev/null
src "CREATE TABLE crm.leads (lead_id int PRIMARY KEY, email text, firstname text);
     INSERT INTO crm.leads SELECT i, 'dump-lead-' || i || '@example.com', 'Lead' FROM generate_series(1, 5) i" >/dev/null
src "SELECT tether.push('crm.leads', 'crm.contacts', key => 'lead_id', name => 'leads')" >/dev/null
wait_for src "SELECT state = 'idle' AND last_success IS NOT NULL FROM tether.mirrors" "the mirror's backfill"
[ "$(src "SELECT created || ' ' || failed FROM tether.push_now('leads', wait => true)")" = "5 0" ] \
    || fail "the push did not create its 5 rows before the dump"
rows=$(src "SELECT count(*) FROM crm.local_contacts")
items=$(src "SELECT count(*) FROM shop.items")
runs=$(src "SELECT count(*) FROM tether.sync_runs")
success=$(src "SELECT last_success FROM tether.mirrors")
[ "$rows" -gt 0 ] && [ "$items" -gt 0 ] || fail "nothing to dump ($rows mirror rows, $items items)"

# The dump, and its restore into the other cluster (as a DBA would: the extension installed and the
# worker configured there, an empty database).
pg_dump -h "$DIR/src" -p "$SRC_PORT" -Fc -d "$DB" -f "$DIR/dump"
psql -X -q -h "$DIR/dst" -p "$DST_PORT" -d postgres -c "CREATE DATABASE $DB"
pg_restore -h "$DIR/dst" -p "$DST_PORT" --exit-on-error -d "$DB" "$DIR/dump" || fail "pg_restore failed"

[ "$(dst "SELECT name FROM tether.user_connectors")" = items_api ] || fail "the registered connector was not restored"
[ "$(dst "SELECT count(*) FROM shop.items")" = "$items" ] || fail "the imported foreign table reads differently"
[ "$(dst "SELECT count(*) FROM crm.local_contacts")" = "$rows" ] || fail "the mirror's rows were not restored"
[ "$(dst "SELECT count(*) FROM tether.sync_runs")" = "$runs" ] || fail "the mirror's runs were not restored"
[ "$(dst "SELECT last_success FROM tether.mirrors")" = "$success" ] || fail "what the worker knew of the mirror was not restored"
echo "ok: restored into a fresh cluster: connector, servers, mapping, tables, the mirror ($rows rows, $runs run(s)) and its state"

# The mirror resumes: a refresh by the new cluster's worker, and a write through the mirror.
dst "SELECT tether.refresh('crm.local_contacts', wait => true)" >/dev/null
[ "$(dst "SELECT count(*) FROM tether.sync_runs")" -gt "$runs" ] || fail "no refresh ran in the restored cluster"
id=$(dst "SELECT id FROM crm.local_contacts ORDER BY id LIMIT 1")
dst "UPDATE crm.local_contacts SET firstname = 'Restored' WHERE id = '$id'" >/dev/null
[ "$(dst "SELECT firstname FROM crm.contacts WHERE id = '$id'")" = Restored ] || fail "a write through the restored mirror did not reach the provider"
# The push goes on from its restored map table: nothing is created twice.
[ "$(dst "SELECT created || ' ' || failed FROM tether.push_now('leads', wait => true)")" = "0 0" ] \
    || fail "the restored push created its rows again"
dst "INSERT INTO crm.leads VALUES (6, 'dump-lead-6@example.com', 'Lead')" >/dev/null
[ "$(dst "SELECT created FROM tether.push_now('leads', wait => true)")" = 1 ] || fail "the restored push did not create a new row"
[ "$(dst "SELECT count(*) FROM crm.contacts WHERE email LIKE 'dump-lead-%'")" = 6 ] || fail "the provider does not have each lead once"
echo "ok: in the restored cluster the mirror refreshes and writes through; the push creates only the new row"
