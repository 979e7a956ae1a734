#!/usr/bin/env bash
# Deletions through a mirror are noted (tether.mirror_tombstones) so that a refresh does not put the
# record back from a page it fetched before the deletion. A note hides a record from the refreshes
# of that moment, so noting one is the same power as deleting through the mirror: tether.note_deletion
# refuses roles that may not DELETE from the mirror table, and no role reads or writes the notes
# directly. sec_mallory tries both against sec_alice's mirror; sec_alice's own deletion is noted and
# the note is forgotten once a refresh fetched after it.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_mallory
hubspot_source sec_tomb sec_alice
as sec_alice "SELECT tether.mirror('sec_alice.contacts', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_alice.m)" = idle ] || fail "the mirror did not sync"
mirror_oid=$(q "SELECT 'sec_alice.m'::regclass::oid")
notes() { q "SELECT count(*) FROM tether.mirror_tombstones WHERE mirror_id = tether.mirror_id('sec_alice.m')$1"; }

# Her call names the mirror by number: she cannot even look the name up (no USAGE on the schema).
out=$(as sec_mallory "SELECT tether.note_deletion($mirror_oid, '5')" 2>&1 || true)
case "$out" in *"permission denied for table sec_alice.m"*) ;; *) fail "sec_mallory noted a deletion in sec_alice's mirror: $out" ;; esac
state=$(psql -X -At -U sec_mallory -d "$DB" -c "\\set VERBOSITY sqlstate" -c "SELECT tether.note_deletion($mirror_oid, '5')" 2>&1 || true)
case "$state" in *42501*) ;; *) fail "the refusal's SQLSTATE is not 42501: $state" ;; esac
[ "$(notes "")" = 0 ] || fail "a refused note was recorded"
for sql in "SELECT count(*) FROM tether.mirror_tombstones" \
           "INSERT INTO tether.mirror_tombstones (mirror_id, record_id) VALUES (1, '5')" \
           "DELETE FROM tether.mirror_tombstones"; do
    out=$(as sec_mallory "$sql" 2>&1 || true)
    case "$out" in *"permission denied for table mirror_tombstones"*) ;; *) fail "sec_mallory ran \"$sql\": $out" ;; esac
done
ok "sec_mallory can neither note a deletion in sec_alice's mirror nor touch the notes"

# A table of her own that is not a mirror: nothing to note.
as sec_mallory "CREATE SCHEMA sec_mallory; CREATE TABLE sec_mallory.t (id text)" >/dev/null
[ "$(as sec_mallory "SELECT tether.note_deletion('sec_mallory.t'::regclass, '5')")" = f ] || fail "a note for a table that is not a mirror"
[ "$(q "SELECT count(*) FROM tether.mirror_tombstones")" = 0 ] || fail "a note for a table that is not a mirror was recorded"
ok "a table that is not a mirror gets no note"

# sec_alice deletes through her mirror: the provider deletes, the note is made, and the next refresh
# (whose pages were fetched after it) forgets it.
as sec_alice "DELETE FROM sec_alice.m WHERE id = '7'" >/dev/null
[ "$(notes " AND record_id = '7'")" = 1 ] || fail "sec_alice's deletion was not noted"
[ "$(as sec_alice "SELECT count(*) FROM sec_alice.contacts WHERE id = '7'")" = 0 ] || fail "the provider still has record 7"
as sec_alice "SELECT tether.refresh('sec_alice.m', wait => true) IS NOT NULL" >/dev/null
[ "$(notes "")" = 0 ] || fail "the note outlived a refresh fetched after it"
[ "$(as sec_alice "SELECT count(*) FROM sec_alice.m WHERE id = '7'")" = 0 ] || fail "record 7 came back"
ok "sec_alice's deletion is noted, and forgotten after the next refresh"
