#!/usr/bin/env bash
# Hole 6 (the worker pool): one role's mirrors must not keep every sync process busy. sec_mallory has
# four mirrors whose refreshes are slow on purpose (her own trigger sleeps 20 s on each page); they
# all want a refresh at once. The launcher gives one role at most all but one of the processes, so
# sec_alice's refresh still runs at once.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_mallory
hubspot_source sec_fair sec_alice sec_mallory
as sec_alice "SELECT tether.mirror('sec_alice.contacts', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_alice.m)" = idle ] || fail "sec_alice's mirror did not sync"

cleanup() {
    q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'tether sync'" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# Created with their slow triggers in one transaction: the first backfills start once it commits.
as_script sec_mallory <<'SQL'
BEGIN;
CREATE FUNCTION sec_mallory.slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.pg_sleep(20); RETURN NULL; END $$;
SELECT count(tether.mirror('sec_mallory.contacts', 'sec_mallory.m' || i, every => '1 second')) FROM generate_series(1, 4) i;
DO $$
BEGIN
    FOR i IN 1..4 LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER slow AFTER INSERT OR UPDATE ON sec_mallory.m%s FOR EACH STATEMENT EXECUTE FUNCTION sec_mallory.slow()', i);
    END LOOP;
END $$;
COMMIT;
SQL
workers=$(q "SHOW tether.max_sync_workers")
wait_until 20 "SELECT count(*) >= greatest(1, $workers - 1) FROM tether.mirrors WHERE owner = 'sec_mallory'::regrole AND state = 'running'"
busy=$(q "SELECT count(*) FROM tether.mirrors WHERE owner = 'sec_mallory'::regrole AND state = 'running'")
[ "$busy" -lt "$workers" ] || fail "sec_mallory's mirrors hold all $workers sync processes"

start=$(date +%s)
got=$(as sec_alice "SELECT tether.refresh('sec_alice.m', wait => true, timeout => '15 seconds')" 2>&1 || true)
[[ "$got" =~ ^[0-9]+$ ]] || fail "with sec_mallory's slow mirrors running, sec_alice's refresh did not run: $got"
ok "sec_mallory's mirrors hold $busy of $workers sync processes; sec_alice's refresh ran in $(( $(date +%s) - start )) s"

as sec_mallory "SELECT count(tether.pause(('sec_mallory.m' || i)::regclass)) FROM generate_series(1, 4) i" >/dev/null
cleanup
drop_role sec_mallory
drop_role sec_alice
q "DROP SERVER sec_fair CASCADE" >/dev/null
echo "ok: worker fairness"
