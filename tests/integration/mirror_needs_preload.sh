#!/usr/bin/env bash
# Without shared_preload_libraries = 'tether' there is no background worker: tether.mirror() refuses
# with an error that says what to add to postgresql.conf, and creates nothing. Needs a cluster started
# without the setting, so it starts its own (the suite's cluster preloads tether). The same cluster then
# checks that a tether.webhook_listen value the worker cannot use stops the server from starting with a
# message naming the accepted forms.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"

DIR=$(mktemp -d /tmp/tether-nopreload.XXXXXX)
# The cluster's logs are kept with the test run's (scripts/test sets TETHER_LOG_DIR), where the secrets
# sweep reads them.
keep_logs() {
    [ -n "${TETHER_LOG_DIR:-}" ] || return 0
    mkdir -p "$TETHER_LOG_DIR/nopreload-pg"
    cp "$DIR"/*.log "$TETHER_LOG_DIR/nopreload-pg/" 2>/dev/null || true
}
trap 'stop_pg "$DIR"; keep_logs; rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start_pg "$DIR"
out=$(psql -X -d postgres -v fake_url="$FAKE_URL" 2>&1 <<'SQL' || true
CREATE EXTENSION tether;
CREATE SERVER hs FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE FOREIGN TABLE contacts (id text, email text) SERVER hs OPTIONS (object 'contacts');
SELECT tether.mirror('contacts', 'contacts_copy');
SELECT count(*) AS registered FROM tether.mirror_config;
SELECT to_regclass('contacts_copy') IS NULL AS no_table;
SQL
)
echo "$out" | grep -q "ERROR:  mirror tables need the tether background worker, which runs only when tether is in shared_preload_libraries" \
    || fail "expected the shared_preload_libraries error, got: $out"
echo "$out" | grep -q "HINT:  add shared_preload_libraries = 'tether' and tether.database = 'postgres' to postgresql.conf" \
    || fail "expected a hint naming the settings, got: $out"
echo "$out" | grep -A2 "registered" | grep -q "^ *0$" || fail "a mirror was registered: $out"
echo "$out" | grep -A2 "no_table" | grep -q "^ *t$" || fail "the mirror table was created: $out"
echo "ok: tether.mirror() without the worker explains what to configure"

stop_pg "$DIR"
if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/bad.log" -w -t 30 \
    -o "-k $DIR -p $(free_port) -c listen_addresses='' -c shared_preload_libraries=tether -c tether.webhook_listen=somewhere:80" \
    start >/dev/null 2>&1; then
    fail "the server started with tether.webhook_listen = somewhere:80"
fi
grep -q 'invalid value for parameter "tether.webhook_listen": "somewhere:80"; accepted: off, on (127.0.0.1:8787), a port' "$DIR/bad.log" \
    || fail "expected the webhook_listen error in the server log, got: $(cat "$DIR/bad.log")"
echo "ok: an unusable tether.webhook_listen stops the server with the accepted forms"
