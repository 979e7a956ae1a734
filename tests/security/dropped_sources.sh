#!/usr/bin/env bash
# Hole 7 (dropped sources): the event trigger that forgets mirrors whose source or table is dropped
# ran as the dropping role, under row-level security: when sec_alice dropped her foreign table, the
# mirror sec_bob had made of it stayed registered, pointing at a dropped table, with its write-back
# trigger calling a source that no longer exists. Now the registration goes, and bob's table stays as
# an ordinary table he can write to.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_bob
hubspot_source sec_drop sec_alice
q "GRANT USAGE ON FOREIGN SERVER sec_drop TO sec_bob" >/dev/null
as sec_bob "CREATE USER MAPPING FOR CURRENT_USER SERVER sec_drop OPTIONS (token '$TETHER_TEST_TOKEN'); CREATE SCHEMA sec_bob" >/dev/null
as sec_alice "GRANT USAGE ON SCHEMA sec_alice TO sec_bob; GRANT SELECT ON sec_alice.contacts TO sec_bob" >/dev/null
as sec_bob "SELECT tether.mirror('sec_alice.contacts', 'sec_bob.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_bob.m)" = idle ] || fail "sec_bob's mirror did not sync"

as sec_alice "DROP FOREIGN TABLE sec_alice.contacts" >/dev/null
[ "$(q "SELECT count(*) FROM tether.mirror_config WHERE target = 'sec_bob.m'::regclass")" = 0 ] \
    || fail "sec_bob's mirror of the dropped table is still registered"
[ "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'sec_bob.m'::regclass AND tgname = 'tether_write_back'")" = 0 ] \
    || fail "sec_bob's mirror still has its write-back trigger"
as sec_bob "INSERT INTO sec_bob.m (id, email) VALUES ('local-1', 'kept@example.com')" >/dev/null \
    || fail "sec_bob cannot write to his table"
ok "dropping sec_alice's source forgets sec_bob's mirror of it; his table stays as an ordinary table"

drop_role sec_bob
drop_role sec_alice
q "DROP SERVER sec_drop CASCADE" >/dev/null
echo "ok: dropped sources"
