#!/usr/bin/env bash
# pg_cancel_backend and pg_terminate_backend stop a scan stuck on a provider that never answers within
# about a second (the HTTP call runs on a helper thread and the backend checks for interrupts every
# 50 ms). Needs two sessions, so it is a script rather than a pg_regress scenario.
# Run by scripts/test with PGHOST/PGPORT/PGUSER and FAKE_URL set.
set -euo pipefail

DB=tether_cancel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" <<'SQL'
CREATE EXTENSION tether;
CREATE SERVER api FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE FOREIGN TABLE stalled (id int) SERVER api OPTIONS (path '/faults/stall');
SQL

# stop_stalled_scan FUNCTION EXPECTED_MESSAGE: run a stalled scan in one session, stop it from another.
stop_stalled_scan() {
    local fn=$1 expected=$2 tag="tether-stall-$1"
    psql -X -d "$DB" -c "SELECT '$tag', * FROM stalled" >"$WORK/$fn.out" 2>&1 &
    local bg=$! pid=""
    for _ in $(seq 1 100); do
        pid=$(psql -X -At -d "$DB" -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%$tag%' AND state = 'active' AND pid <> pg_backend_pid()")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || fail "the stalled scan did not start"
    sleep 1 # well inside the HTTP wait by now
    kill -0 $bg 2>/dev/null || fail "the scan ended before $fn: $(cat "$WORK/$fn.out")"
    local t0 t1
    t0=$(now_ms)
    [ "$(psql -X -At -d "$DB" -c "SELECT $fn($pid)")" = t ] || fail "$fn($pid) returned false"
    wait $bg || true
    t1=$(now_ms)
    grep -q "$expected" "$WORK/$fn.out" || fail "$fn: expected \"$expected\", got: $(cat "$WORK/$fn.out")"
    local elapsed=$((t1 - t0))
    [ $elapsed -lt 3000 ] || fail "$fn took ${elapsed} ms to stop the scan"
    echo "$fn stopped the stalled scan in ${elapsed} ms"
}

stop_stalled_scan pg_cancel_backend "canceling statement due to user request"
stop_stalled_scan pg_terminate_backend "terminating connection due to administrator command"

# The server is healthy afterwards: a new session reads normally.
[ "$(psql -X -At -d "$DB" -c "SELECT 1")" = 1 ] || fail "the server does not answer after the cancellations"
psql -X -q -d postgres -c "DROP DATABASE $DB"
