#!/usr/bin/env bash
# Hole 6 (locks): no LOGIN role may stop other roles' mirrors with a lock.
#  - sec_mallory holds advisory locks with the key the sync processes used (and every key around it):
#    sec_alice's refresh still runs (refresh processes now hold a lock no SQL function can take).
#  - sec_mallory asks for a refresh of her own mirror and keeps her transaction open: the launcher and
#    the webhook receiver must not wait for her (sec_alice's refresh runs, a delivery is answered).
#  - sec_mallory cannot write requested_at (a time in the future kept her mirror ahead of everyone's),
#    nor DELETE from or LOCK tether.mirror_config (which stopped the launcher, every sync process and
#    the webhook receiver).
. "$(dirname "$0")/lib.sh"

: "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set (scripts/test sets it)}"
ensure_database
roles sec_alice sec_mallory
hubspot_source sec_locks sec_alice sec_mallory
as sec_alice "SELECT tether.mirror('sec_alice.contacts', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
as sec_mallory "SELECT tether.mirror('sec_mallory.contacts', 'sec_mallory.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_alice.m)" = idle ] && [ "$(synced sec_mallory.m)" = idle ] || fail "the mirrors did not sync"
alice_id=$(q "SELECT tether.mirror_id('sec_alice.m')")
HOLDERS=()
cleanup() {
    q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'sec_mallory'" >/dev/null || true
    for p in "${HOLDERS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

refresh_alice() { # prints the run id, or the error
    as sec_alice "SELECT tether.refresh('sec_alice.m', wait => true, timeout => '25 seconds')" 2>&1 || true
}

# Advisory locks on the sync processes' old lock class (0x7e7e0001), for every mirror id nearby.
psql -X -q -U sec_mallory -d "$DB" -c "SELECT count(pg_advisory_lock(2122186753, i)) FROM generate_series(1, $((alice_id + 50))) i" \
    -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
HOLDERS+=($!)
wait_until 10 "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND classid::int = 2122186753"
got=$(refresh_alice)
[[ "$got" =~ ^[0-9]+$ ]] || fail "with sec_mallory holding advisory locks, sec_alice's refresh did not run: $got"
ok "sec_mallory's advisory locks do not stop sec_alice's refreshes"

# A refresh asked for in a transaction kept open.
psql -X -q -U sec_mallory -d "$DB" -c "BEGIN" -c "SELECT tether.refresh('sec_mallory.m')" \
    -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
HOLDERS+=($!)
wait_until 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = 'sec_mallory' AND state = 'active' AND query LIKE '%pg_sleep(120)%' AND backend_xid IS NOT NULL)"
got=$(refresh_alice)
[[ "$got" =~ ^[0-9]+$ ]] || fail "with sec_mallory's transaction open, sec_alice's refresh did not run: $got"
start=$(date +%s%N)
answer=$(hubspot_delivery no_such_server x '[]')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
case "$answer" in 404\ *) ;; *) fail "the webhook receiver did not answer: $answer" ;; esac
[ "$ms" -lt 5000 ] || fail "the webhook receiver took $ms ms to answer"
ok "sec_mallory's open transaction stops neither the launcher nor the webhook receiver"

for attack in "UPDATE tether.mirror_config SET requested_at = 'infinity'" \
              "UPDATE tether.mirror_state SET next_run = '-infinity'" \
              "DELETE FROM tether.mirror_config" \
              "DELETE FROM tether.mirror_state" \
              "BEGIN; LOCK TABLE tether.mirror_config IN ACCESS EXCLUSIVE MODE; COMMIT" \
              "BEGIN; LOCK TABLE tether.mirror_config IN ROW EXCLUSIVE MODE; COMMIT" \
              "BEGIN; LOCK TABLE tether.mirror_state IN ROW EXCLUSIVE MODE; COMMIT" \
              "BEGIN; SELECT 1 FROM tether.mirror_state FOR UPDATE; COMMIT"; do
    out=$(as sec_mallory "$attack" 2>&1 || true)
    case "$out" in *"permission denied for table mirror_"*) ;; *) fail "sec_mallory could: $attack ($out)" ;; esac
done
ok "sec_mallory can neither write requested_at or next_run, nor DELETE from or LOCK tether.mirror_config or tether.mirror_state"

# Her own mirror still works through the functions (once her transaction is gone).
cleanup
HOLDERS=()
wait_until 10 "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = 'sec_mallory')"
as sec_mallory "SELECT tether.pause('sec_mallory.m'), tether.resume('sec_mallory.m')" >/dev/null
as sec_mallory "SELECT tether.unmirror('sec_mallory.m', drop => true)" >/dev/null
[ "$(q "SELECT count(*) FROM tether.mirror_config WHERE target::text = 'sec_mallory.m'")" = 0 ] || fail "unmirror left the registration"
[ "$(as sec_mallory "SELECT tether.forget_mirror($alice_id)")" = f ] || fail "sec_mallory removed sec_alice's mirror"
[ "$(as sec_mallory "SELECT tether.request_refresh($alice_id)")" = f ] || fail "sec_mallory asked for sec_alice's refresh"
ok "pause, resume and unmirror of her own mirror work; sec_alice's she cannot touch"

drop_role sec_alice
drop_role sec_mallory
q "DROP SERVER sec_locks CASCADE" >/dev/null
echo "ok: worker locks"
