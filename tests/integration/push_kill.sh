#!/usr/bin/env bash
# A push killed between sending a batch and recording its outcome creates nothing twice and loses no
# mapping. The fake provider holds the answer of a create request; the push process is killed while
# it waits (paused first, so that the launcher does not start another at once); the request is then
# carried out. The next run settles the rows whose outcome it did not learn before it sends anything:
# HubSpot, which has no idempotency key, by looking each up by match_on (the email); Stripe by sending
# the create again with the same idempotency key. In the end the provider holds exactly one record per
# source row and the map one row per record.
# Run by scripts/test with PGHOST/PGPORT/PGUSER and FAKE_URL set, against the database the worker
# serves (tether.database = tether_regress).
set -euo pipefail

DB=${TETHER_MIRROR_DB:-tether_regress}
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
q() { psql -X -At -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
cleanup() {
    psql -X -q -d "$DB" -c "ALTER SYSTEM RESET tether.push_settle_after" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
    psql -X -q -d postgres -c "CREATE DATABASE $DB"
fi
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v stripe_url="$FAKE_URL/v1" \
    -v token="${TETHER_TEST_TOKEN:?TETHER_TEST_TOKEN is not set (scripts/lib.sh sets it)}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tether;
DO $$ BEGIN PERFORM tether.unpush(name, drop_map => true) FROM tether.pushes; END $$;
DROP SCHEMA IF EXISTS push_it, push_it_stripe CASCADE;
DROP SERVER IF EXISTS push_it_hs, push_it_st, push_it_control CASCADE;
CREATE SCHEMA push_it;
CREATE SERVER push_it_control FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER push_it_control;
CREATE SERVER push_it_hs FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER push_it_hs OPTIONS (token :'token');
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER push_it_hs INTO push_it;
CREATE SERVER push_it_st FOREIGN DATA WRAPPER tether OPTIONS (connector 'stripe', base_url :'stripe_url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER push_it_st OPTIONS (token :'token');
CREATE SCHEMA push_it_stripe;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers) FROM SERVER push_it_st INTO push_it_stripe;
CREATE TABLE push_it.people (source_id int PRIMARY KEY, email text, firstname text);
INSERT INTO push_it.people SELECT i, 'push-it-' || i || '@example.com', 'P' || i FROM generate_series(1, 1000) i;
CREATE TABLE push_it.payers (source_id int PRIMARY KEY, email text, name text);
INSERT INTO push_it.payers SELECT i, 'push-it-payer-' || i || '@example.com', 'Payer ' || i FROM generate_series(1, 120) i;
ALTER SYSTEM SET tether.push_settle_after = 0;
DO $$ BEGIN PERFORM pg_reload_conf(); END $$;
SQL

control() { q "SELECT tether.request('push_it_control', '$1', '$2')" >/dev/null; }

# kill_in_flight PUSH PATH: hold the next create request to PATH, start the push, and once the request
# is held pause the push and kill its process; then let the provider carry the request out.
kill_in_flight() {
    local push=$1 path=$2 pid=""
    control POST "/_control/reset"
    control POST "/_control/hold?method=POST&path_prefix=$path&times=1"
    q "SELECT tether.push_now('$push')" >/dev/null
    [ "$(q "SELECT (tether.request('push_it_control', 'GET', '/_control/held', jsonb_build_object('at_least', 1, 'wait_ms', 20000)) ->> 'held')::int >= 1")" = t ] \
        || fail "$push: no create request was held"
    q "UPDATE tether.push_config SET paused = true WHERE name = '$push'" >/dev/null
    pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tether push'")
    [ -n "$pid" ] || fail "$push: no push process is running"
    [ "$(q "SELECT pg_terminate_backend($pid, 10000)")" = t ] || fail "$push: could not terminate the push process $pid"
    control POST "/_control/release"
}

# HubSpot: the push sends 4 batches of 100 at once (concurrency 4); one is held, the others answered,
# but the process dies before it records any of them: the provider has the 400 records, the map has
# their rows unknown.
q "SELECT tether.push('push_it.people', 'push_it.contacts', 'source_id', name => 'people', match_on => 'email')" >/dev/null
kill_in_flight people /crm/v3/objects/contacts/batch/create
sleep 0.5
unknown=$(q "SELECT count(*) FROM push_it.people_map WHERE status = 'unknown'")
[ "$unknown" = 400 ] || fail "people: $unknown rows unknown after the kill, expected the 4 batches of 100 in flight"
at_provider=$(q "SELECT count(*) FROM push_it.contacts WHERE email LIKE 'push-it-%'")
[ "$at_provider" = 400 ] || fail "people: the provider has $at_provider records of the batches in flight, expected 400"
q "UPDATE tether.push_config SET paused = false WHERE name = 'people'" >/dev/null
run=$(q "SELECT created || ' ' || matched || ' ' || unknown || ' ' || failed FROM tether.push_now('people', wait => true, timeout => '2 minutes')")
[ "$run" = "600 400 0 0" ] || fail "people: the run after the kill made created/matched/unknown/failed $run, expected 600 400 0 0"
totals=$(q "SELECT count(*) || ' ' || count(DISTINCT email) FROM push_it.contacts WHERE email LIKE 'push-it-%'")
[ "$totals" = "1000 1000" ] || fail "people: the provider holds $totals (records, distinct emails), expected 1000 1000"
mapped=$(q "SELECT count(*) FILTER (WHERE status = 'ok') || ' ' || count(DISTINCT provider_id) FROM push_it.people_map")
[ "$mapped" = "1000 1000" ] || fail "people: the map has $mapped (ok rows, distinct ids), expected 1000 1000"
wrong=$(q "SELECT count(*) FROM push_it.people p JOIN push_it.people_map m USING (source_id)
           LEFT JOIN push_it.contacts c ON c.id = m.provider_id WHERE c.email IS DISTINCT FROM p.email")
[ "$wrong" = 0 ] || fail "people: $wrong map rows point at another record than their row's"
ok "HubSpot: killed with 4 batches in flight, then resumed: 1000 records, each once, each mapped to its row (400 found by email)"

# Stripe: creates one per request; the held one is created at the provider while its step's rows
# are unknown.
q "SELECT tether.push('push_it.payers', 'push_it_stripe.customers', 'source_id', name => 'payers')" >/dev/null
kill_in_flight payers /v1/customers
sleep 0.5
unknown=$(q "SELECT count(*) FROM push_it.payers_map WHERE status = 'unknown'")
[ "$unknown" -ge 1 ] || fail "payers: no row unknown after the kill"
q "UPDATE tether.push_config SET paused = false WHERE name = 'payers'" >/dev/null
run=$(q "SELECT unknown || ' ' || failed FROM tether.push_now('payers', wait => true, timeout => '2 minutes')")
[ "$run" = "0 0" ] || fail "payers: the run after the kill left unknown/failed $run"
totals=$(q "SELECT count(*) || ' ' || count(DISTINCT email) FROM push_it_stripe.customers WHERE email LIKE 'push-it-payer-%'")
[ "$totals" = "120 120" ] || fail "payers: Stripe holds $totals (customers, distinct emails), expected 120 120"
mapped=$(q "SELECT count(*) FILTER (WHERE status = 'ok') || ' ' || count(DISTINCT provider_id) FROM push_it.payers_map")
[ "$mapped" = "120 120" ] || fail "payers: the map has $mapped (ok rows, distinct ids), expected 120 120"
ok "Stripe: killed with a create in flight, then resumed: 120 customers, each once (the create sent again with its idempotency key)"

# A running push shows its progress: with 300 ms per request and one batch at a time, tether.pushes
# shows some of the 300 rows created while the run is still going.
q "CREATE TABLE push_it.slow (source_id int PRIMARY KEY, email text);
   INSERT INTO push_it.slow SELECT i, 'push-it-slow-' || i || '@example.com' FROM generate_series(1, 300) i;
   SELECT tether.push('push_it.slow', 'push_it.contacts', 'source_id', name => 'slow', concurrency => 1)" >/dev/null
control GET "/_control/latency?ms=300"
q "SELECT tether.push_now('slow')" >/dev/null
seen=""
for _ in $(seq 1 200); do
    progress=$(q "SELECT state || ' ' || coalesce(created_so_far, -1) FROM tether.pushes WHERE name = 'slow'")
    case "$progress" in "running 100" | "running 200") seen=$progress; break ;; esac
    sleep 0.05
done
control GET "/_control/latency?ms=0"
[ -n "$seen" ] || fail "slow: no progress was shown while the run went on (last: $progress)"
q "SELECT tether.push_now('slow', wait => true)" >/dev/null
ok "a running push shows its progress ($seen of 300 created so far)"

q "SET client_min_messages = warning; SELECT count(tether.unpush(name, drop_map => true)) FROM tether.pushes;
   DROP SCHEMA push_it, push_it_stripe CASCADE; DROP SERVER push_it_hs, push_it_st, push_it_control CASCADE" >/dev/null
