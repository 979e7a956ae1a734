#!/usr/bin/env bash
# Mirror tables across sessions and processes: the sync process is killed (pg_terminate_backend) in the
# middle of a backfill, after its first batch of pages (50) was committed; the launcher starts a new
# one, which resumes after the last committed batch. The
# mirror ends with every record exactly once, and a listening session receives exactly one NOTIFY per
# inserted record (a page applied twice would announce its records twice, or fail on the primary key).
# Run by scripts/test with PGHOST/PGPORT/PGUSER and FAKE_URL set, against the database the worker
# serves (tether.database = tether_regress).
set -euo pipefail

DB=${TETHER_MIRROR_DB:-tether_regress}
RECORDS=15000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; psql -X -q -d "$DB" -c "SELECT * FROM mirror_it.latency_off" >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { psql -X -At -d "$DB" -c "$1"; }

if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
    psql -X -q -d postgres -c "CREATE DATABASE $DB"
fi
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v seed_query="object=contacts&count=$RECORDS" \
    -v token="${TETHER_TEST_TOKEN:?TETHER_TEST_TOKEN is not set (scripts/lib.sh sets it)}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tether;
DROP SCHEMA IF EXISTS mirror_it CASCADE;
DROP SERVER IF EXISTS mirror_it_hs CASCADE;
DROP SERVER IF EXISTS mirror_it_control CASCADE;
CREATE SCHEMA mirror_it;
CREATE SERVER mirror_it_control FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE FOREIGN TABLE mirror_it.seed (seeded bigint) SERVER mirror_it_control
    OPTIONS (path '/_control/seed', query :'seed_query');
CREATE FOREIGN TABLE mirror_it.latency_on (latency_ms bigint) SERVER mirror_it_control
    OPTIONS (path '/_control/latency', query 'ms=20');
CREATE FOREIGN TABLE mirror_it.latency_off (latency_ms bigint) SERVER mirror_it_control
    OPTIONS (path '/_control/latency', query 'ms=0');
CREATE SERVER mirror_it_hs FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER mirror_it_hs OPTIONS (token :'token');
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER mirror_it_hs INTO mirror_it;
SELECT seeded FROM mirror_it.seed;
SELECT latency_ms FROM mirror_it.latency_on;
SQL

# The mirror, created paused so that a session can listen on its changes channel before the backfill.
q "BEGIN; SELECT tether.mirror('mirror_it.contacts', 'mirror_it.local_contacts', every => '1 hour');
   SELECT tether.pause('mirror_it.local_contacts'); COMMIT" >/dev/null
channel=$(q "SELECT tether.changes_channel('mirror_it.local_contacts')")

# A session listening for changes for the whole test.
mkfifo "$WORK/listen.in"
psql -X -d "$DB" <"$WORK/listen.in" >"$WORK/listen.out" 2>&1 &
LISTENER=$!
exec 3>"$WORK/listen.in"
echo "LISTEN \"$channel\";" >&3
echo "SELECT 'listening';" >&3
for _ in $(seq 1 50); do grep -q listening "$WORK/listen.out" && break; sleep 0.1; done
q "SELECT tether.resume('mirror_it.local_contacts')" >/dev/null

# Wait until the first batch is in, then kill the sync process (reading the second).
pid=""
for _ in $(seq 1 300); do
    pages=$(q "SELECT coalesce(pages_so_far, 0) FROM tether.mirrors WHERE mirror = 'mirror_it.local_contacts'::regclass")
    if [ "${pages:-0}" -ge 50 ]; then
        pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tether sync'")
        break
    fi
    sleep 0.1
done
[ -n "$pid" ] || fail "the backfill did not commit its first batch with a sync process running"
[ "$(q "SELECT pg_terminate_backend($pid)")" = t ] || fail "could not terminate the sync process $pid"
before=$(q "SELECT count(*) FROM mirror_it.local_contacts")
[ "$before" -lt "$RECORDS" ] || fail "the backfill was complete before the kill ($before rows)"

# The launcher starts a new process that resumes the pass.
state=""
for _ in $(seq 1 600); do
    state=$(q "SELECT state || ':' || (last_success IS NOT NULL) FROM tether.mirrors WHERE mirror = 'mirror_it.local_contacts'::regclass")
    [ "$state" = "idle:true" ] && break
    [ "${state%%:*}" = error ] && fail "the mirror failed: $(q "SELECT last_error FROM tether.mirrors")"
    sleep 0.1
done
[ "$state" = "idle:true" ] || fail "the resumed backfill did not finish (state $state)"

rows=$(q "SELECT count(*) || ' ' || count(DISTINCT id) FROM mirror_it.local_contacts")
[ "$rows" = "$RECORDS $RECORDS" ] || fail "expected $RECORDS distinct rows, got (rows, distinct ids) = $rows"
missing=$(q "SELECT count(*) FROM (SELECT id FROM mirror_it.contacts EXCEPT SELECT id FROM mirror_it.local_contacts) m")
[ "$missing" = 0 ] || fail "$missing records missing from the mirror"

runs=$(q "SELECT string_agg(r.pass || ',' || r.resumed || ',' || (r.error IS NOT NULL), ' ' ORDER BY r.id) FROM tether.sync_runs r
          JOIN tether.mirror_config m ON m.id = r.mirror_id WHERE m.target = 'mirror_it.local_contacts'::regclass")
[ "$runs" = "backfill,false,true backfill,true,false" ] \
    || fail "expected an interrupted run then a resumed one, got: $runs"
inserted=$(q "SELECT sum(rows_inserted) FROM tether.sync_runs r JOIN tether.mirror_config m ON m.id = r.mirror_id
              WHERE m.target = 'mirror_it.local_contacts'::regclass")
[ "$inserted" = "$RECORDS" ] || fail "the runs inserted $inserted rows in all, expected $RECORDS"

# The listener has received one insert notification per record.
echo "SELECT 'listener done';" >&3
exec 3>&-
wait $LISTENER || true
notified=$(grep -c '"op" : "insert"' "$WORK/listen.out" || true)
distinct=$(grep -o '"id" : "[0-9]*", "op" : "insert"' "$WORK/listen.out" | sort -u | wc -l)
[ "$notified" = "$RECORDS" ] && [ "$distinct" = "$RECORDS" ] \
    || fail "expected $RECORDS insert notifications for distinct ids, got $notified ($distinct distinct)"
grep -q '"mirror" : "mirror_it.local_contacts"' "$WORK/listen.out" || fail "notifications do not name the mirror"

q "SELECT tether.unmirror('mirror_it.local_contacts', drop => true)" >/dev/null
q "SELECT latency_ms FROM mirror_it.latency_off" >/dev/null
psql -X -q -d "$DB" -c "SET client_min_messages = warning" -c "DROP SCHEMA mirror_it CASCADE" \
    -c "DROP SERVER mirror_it_hs CASCADE" -c "DROP SERVER mirror_it_control CASCADE"
echo "ok: killed after page 50 with $before of $RECORDS rows applied; resumed without loss or duplicates; $notified notifications"
