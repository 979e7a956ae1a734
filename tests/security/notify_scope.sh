#!/usr/bin/env bash
# Hole 7 (NOTIFY): a mirror's changes were announced on one well-known channel, tether_changes, on
# which any role may LISTEN: every role learned every mirror's name and changed record ids. Each
# mirror now announces on its own channel with a random name, told (tether.changes_channel) only to
# roles that may read the mirror table. sec_carol, granted SELECT, hears the changes; sec_bob, who
# may not read the mirror, can neither get the channel nor hear anything on tether_changes.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_bob sec_carol
hubspot_source sec_notify sec_alice
as sec_alice "SELECT tether.mirror('sec_alice.contacts', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_alice.m)" = idle ] || fail "the mirror did not sync"
as sec_alice "GRANT USAGE ON SCHEMA sec_alice TO sec_carol, sec_bob; GRANT SELECT ON sec_alice.m TO sec_carol" >/dev/null

denied=$(as sec_bob "SELECT tether.changes_channel('sec_alice.m')" 2>&1 || true)
case "$denied" in *"permission denied for table sec_alice.m"*) ;; *) fail "sec_bob got the channel: $denied" ;; esac
channel=$(as sec_carol "SELECT tether.changes_channel('sec_alice.m')")
[ "$channel" = "$(as sec_alice "SELECT tether.changes_channel('sec_alice.m')")" ] || fail "carol and alice see different channels"
case "$channel" in tether_????????????????????????????????) ;; *) fail "unexpected channel name: $channel" ;; esac
ok "the channel is told to roles that may read the mirror only"

# Listeners: carol on the channel, bob on the old well-known channel; a record changes at the
# provider and the mirror is refreshed.
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
psql -X -U sec_carol -d "$DB" -c "LISTEN \"$channel\"" -c "SELECT pg_sleep(6)" -c "SELECT 1" >"$OUT/carol" 2>&1 &
psql -X -U sec_bob -d "$DB" -c "LISTEN tether_changes" -c "SELECT pg_sleep(6)" -c "SELECT 1" >"$OUT/bob" 2>&1 &
sleep 1
as sec_alice "UPDATE sec_alice.contacts SET city = 'Notified' WHERE id = '5'" >/dev/null
as sec_alice "SELECT tether.refresh('sec_alice.m', wait => true) IS NOT NULL" >/dev/null
wait
grep -q '"op" : "update"' "$OUT/carol" || { cat "$OUT/carol"; fail "sec_carol did not hear the change"; }
if grep -q "notification" "$OUT/bob"; then cat "$OUT/bob"; fail "sec_bob heard a mirror's changes"; fi
ok "sec_carol hears the mirror's changes; sec_bob hears nothing"

new=$(as sec_alice "SELECT tether.rotate_changes_channel('sec_alice.m')")
[ "$new" != "$channel" ] || fail "the channel did not change"
rotated=$(as sec_carol "SELECT tether.rotate_changes_channel('sec_alice.m')" 2>&1 || true)
case "$rotated" in *"is not a mirror table you own"*) ;; *) fail "sec_carol rotated sec_alice's channel: $rotated" ;; esac
ok "the owner can change the channel (after revoking a reader); others cannot"

drop_role sec_carol
drop_role sec_bob
drop_role sec_alice
q "DROP SERVER sec_notify CASCADE" >/dev/null
echo "ok: notify scope"
