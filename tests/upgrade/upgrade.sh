#!/usr/bin/env bash
# ALTER EXTENSION tether UPDATE from the last release to this tree's version:
#   1. builds the release from its commit (tests/upgrade/from: "<version> <commit>") and installs it;
#   2. on a cluster of its own, uses it: a registered connector, servers, user mappings, foreign tables
#      (one made by IMPORT FOREIGN SCHEMA), a mirror with data and a finished backfill;
#   3. installs this tree's build over it and restarts: until the update, the new launcher starts no
#      refresh and the webhook receiver records nothing (503), and both say why in the server log;
#   4. ALTER EXTENSION tether UPDATE, then checks that nothing was lost (connector, servers, mappings,
#      tables, the mirror's rows and what the worker knew of it) and that everything works: reads, a
#      refresh, a write through the mirror, the features the release did not have (a push);
#   5. compares the updated database's extension objects (tests/upgrade/describe.sql) with a fresh
#      CREATE EXTENSION of this version: any difference is SQL the update script does not cover.
# The release was built for PostgreSQL 15 only, so the test runs there (on other majors it says so and
# passes). Run by scripts/test with FAKE_URL set; leaves this tree's build installed.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$PG_MAJOR" != 15 ]; then
    echo "skipped on PostgreSQL $PG_MAJOR: the release upgraded from was built for PostgreSQL 15 only"
    exit 0
fi
: "${FAKE_URL:?FAKE_URL is not set (scripts/test sets it)}"
read -r FROM_VERSION FROM_COMMIT <"$TETHER_ROOT/tests/upgrade/from"
TO_VERSION=$(tether_version)
[ "$FROM_VERSION" != "$TO_VERSION" ] || fail "Cargo.toml's version is still $FROM_VERSION, the release tests/upgrade/from names"
[ -f "$TETHER_ROOT/sql/tether--$FROM_VERSION--$TO_VERSION.sql" ] \
    || fail "no update script sql/tether--$FROM_VERSION--$TO_VERSION.sql for $FROM_VERSION to $TO_VERSION"

# The release's source, from git (a shallow clone lacks it: git fetch --unshallow). Kept under target/
# with its own target directory, so that a second run builds nothing.
SRC=$TETHER_ROOT/target/upgrade/tether-$FROM_VERSION
if [ "$(cat "$SRC/.commit" 2>/dev/null)" != "$FROM_COMMIT" ]; then
    git -C "$TETHER_ROOT" cat-file -e "$FROM_COMMIT^{commit}" 2>/dev/null \
        || fail "commit $FROM_COMMIT ($FROM_VERSION) is not in this clone; fetch the history (git fetch --unshallow)"
    rm -rf "$SRC"
    mkdir -p "$SRC"
    git -C "$TETHER_ROOT" archive "$FROM_COMMIT" | tar -x -C "$SRC"
    echo "$FROM_COMMIT" >"$SRC/.commit"
fi
LOGS=${TETHER_LOG_DIR:-$(mktemp -d)}/upgrade
mkdir -p "$LOGS"
log "upgrade: building and installing tether $FROM_VERSION (commit ${FROM_COMMIT:0:10}) for PostgreSQL 15"
(cd "$SRC" && CARGO_TARGET_DIR="$TETHER_ROOT/target/upgrade/target" cargo pgrx install --pg-config "$PG_CONFIG" \
    >"$LOGS/install-$FROM_VERSION.log" 2>&1) || { tail -30 "$LOGS/install-$FROM_VERSION.log"; fail "could not build $FROM_VERSION"; }

DIR=$(mktemp -d /tmp/tether-upgrade.XXXXXX)
keep_logs() { cp "$DIR"/*.log "$LOGS/" 2>/dev/null || true; }
trap 'stop_pg "$DIR"; keep_logs; rm -rf "$DIR"' EXIT
DB=tether_upgrade
WEBHOOK_PORT=$(free_port)
SETTINGS=(shared_preload_libraries=tether tether.database=$DB tether.poll_interval=200 tether.webhook_listen=$WEBHOOK_PORT)
# delivery: the status the webhook receiver answers an (unsigned) delivery for server hs.
delivery() {
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
        "http://127.0.0.1:$WEBHOOK_PORT/webhooks/hs"
}
start_pg "$DIR" "${SETTINGS[@]}"
q() { psql -X -At -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
# wait_for SQL WHAT: until SQL returns t (30 s).
wait_for() {
    for _ in $(seq 1 150); do
        [ "$(q "$1")" = t ] && return 0
        sleep 0.2
    done
    fail "timed out waiting for $2"
}

psql -X -q -d postgres -c "CREATE DATABASE $DB"
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v token="$TETHER_TEST_TOKEN" \
    -f "$TETHER_ROOT/tests/integration/in_use.sql" >/dev/null
wait_for "SELECT state = 'idle' AND last_success IS NOT NULL FROM tether.mirrors WHERE mirror = 'crm.local_contacts'::regclass" \
    "the $FROM_VERSION mirror's backfill"
rows_before=$(q "SELECT count(*) FROM crm.local_contacts")
items_before=$(q "SELECT count(*) FROM shop.items")
success_before=$(q "SELECT last_success FROM tether.mirrors")
[ "$rows_before" -gt 0 ] && [ "$items_before" -gt 0 ] || fail "$FROM_VERSION read nothing ($rows_before contacts, $items_before items)"
echo "ok: tether $FROM_VERSION in use: mirror of $rows_before contacts, $items_before items through a registered connector"

# This tree's build over the release, as a DBA would install it, and a restart to load it.
stop_pg "$DIR"
install_extension
start_pg "$DIR" "${SETTINGS[@]}"
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'tether'")" = "$FROM_VERSION" ] || fail "the extension changed version by itself"
for _ in $(seq 1 50); do
    grep -q "mirrors and pushes wait until ALTER EXTENSION tether UPDATE" "$DIR/postgres.log" && break
    sleep 0.2
done
grep -q "the tether extension in this database is version $FROM_VERSION, the library version $TO_VERSION" "$DIR/postgres.log" \
    || fail "the $TO_VERSION launcher did not say it waits for ALTER EXTENSION tether UPDATE"
q "SELECT tether.refresh('crm.local_contacts')" >/dev/null 2>&1 || true
sleep 1
[ "$(q "SELECT count(*) FROM tether.sync_runs")" = 1 ] || fail "a refresh ran against the $FROM_VERSION catalog"
for _ in $(seq 1 50); do [ "$(delivery)" != 000 ] && break; sleep 0.2; done
[ "$(delivery)" = 503 ] || fail "before the update, the webhook receiver answered $(delivery), not 503"
grep -q "a delivery was not recorded: the tether extension in this database is version $FROM_VERSION" "$DIR/postgres.log" \
    || fail "the webhook receiver did not log why it recorded nothing"
echo "ok: before the update, the $TO_VERSION launcher waits and the webhook receiver records nothing (503), and both say why"

q "ALTER EXTENSION tether UPDATE" >/dev/null
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'tether'")" = "$TO_VERSION" ] || fail "not at $TO_VERSION after the update"
[ "$(q "SELECT count(*) FROM crm.local_contacts")" = "$rows_before" ] || fail "mirror rows lost in the update"
[ "$(q "SELECT last_success FROM tether.mirrors")" = "$success_before" ] || fail "the mirror's last success was not carried over"
[ "$(q "SELECT state FROM tether.mirrors")" = idle ] || fail "the mirror's state was not carried over"
[ "$(q "SELECT name FROM tether.user_connectors")" = items_api ] || fail "the registered connector was lost"
[ "$(q "SELECT count(*) FROM shop.items")" = "$items_before" ] || fail "the imported foreign table reads differently"
[ "$(q "SELECT count(*) FROM pg_user_mappings WHERE srvname = 'hs'")" = 1 ] || fail "the user mapping was lost"
[ "$(delivery)" = 404 ] || fail "after the update, an unsigned delivery for a server without a webhook secret got $(delivery), not 404"
echo "ok: ALTER EXTENSION tether UPDATE kept the connector, servers, mapping, tables and the mirror ($rows_before rows)"

# Everything works on the updated catalog: a refresh, a write through the mirror (its trigger was made
# again), the changes channel, and a push (new in this version).
run=$(q "SELECT tether.refresh('crm.local_contacts', wait => true)")
[ -n "$run" ] || fail "the refresh after the update returned no run"
id=$(q "SELECT id FROM crm.local_contacts ORDER BY id LIMIT 1")
q "UPDATE crm.local_contacts SET firstname = 'Upgraded' WHERE id = '$id'" >/dev/null
[ "$(q "SELECT firstname FROM crm.contacts WHERE id = '$id'")" = Upgraded ] || fail "a write through the mirror did not reach the provider"
[ -n "$(q "SELECT tether.changes_channel('crm.local_contacts')")" ] || fail "the mirror has no changes channel"
q "CREATE TABLE crm.leads (lead_id int PRIMARY KEY, email text, firstname text);
   INSERT INTO crm.leads VALUES (1, 'upgraded-lead@example.com', 'Lead')" >/dev/null
q "SELECT tether.push('crm.leads', 'crm.contacts', key => 'lead_id', name => 'leads')" >/dev/null
[ "$(q "SELECT created || ' ' || failed FROM tether.push_now('leads', wait => true)")" = '1 0' ] || fail "the push after the update did not create its row"
[ "$(q "SELECT count(*) FROM crm.contacts WHERE email = 'upgraded-lead@example.com'")" = 1 ] || fail "the push created nothing"
echo "ok: after the update: refresh (run $run), write through the mirror, changes channel, push"

# The updated catalog is the one a fresh install makes.
psql -X -q -d postgres -c "CREATE DATABASE tether_fresh"
psql -X -q -d tether_fresh -c "CREATE EXTENSION tether"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$TETHER_ROOT/tests/upgrade/describe.sql" >"$LOGS/updated.txt"
psql -X -q -v ON_ERROR_STOP=1 -d tether_fresh -f "$TETHER_ROOT/tests/upgrade/describe.sql" >"$LOGS/fresh.txt"
[ "$(wc -l <"$LOGS/fresh.txt")" -gt 100 ] || fail "describe.sql described almost nothing ($(wc -l <"$LOGS/fresh.txt") lines)"
if ! diff -u "$LOGS/fresh.txt" "$LOGS/updated.txt" >"$LOGS/catalog.diff"; then
    cat "$LOGS/catalog.diff"
    fail "the catalog after ALTER EXTENSION tether UPDATE differs from a fresh CREATE EXTENSION (- fresh, + updated): sql/tether--$FROM_VERSION--$TO_VERSION.sql does not cover these changes"
fi
echo "ok: the updated catalog equals a fresh install of $TO_VERSION ($(wc -l <"$LOGS/fresh.txt") facts compared)"
