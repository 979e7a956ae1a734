#!/usr/bin/env bash
# The write-back trigger of mirror tables finds its source foreign table through
# tether.mirror_source_of (SECURITY DEFINER: a role another role lets write to its mirror cannot see
# the mirror's registration). Until 0.2.0 the trigger carried its source's oid as an argument, which
# any role could copy into a trigger of its own. The attacks:
#   1. sec_mallory puts tether.mirror_write on her own table, with the arguments 0.1.0's trigger had
#      (sec_alice's source oid) and with 0.2.0's: her writes are refused, and nothing reaches the
#      provider;
#   2. sec_mallory asks tether.mirror_source_of about sec_alice's mirror and about other tables: she
#      learns the source (which the mirror's comment shows every role) and nothing else;
#   3. a search_path of hers with look-alike objects changes nothing in the function.
# And the legitimate use next to them: sec_bob, whom sec_alice granted UPDATE on her mirror (and who
# has his own user mapping), writes through it to the provider.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_bob sec_mallory
hubspot_source sec_wb sec_alice sec_bob
as sec_alice "SELECT tether.mirror('sec_alice.contacts', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
[ "$(synced sec_alice.m)" = idle ] || fail "sec_alice's mirror did not sync"
id=$(q "SELECT min(id) FROM sec_alice.m")
source_oid=$(q "SELECT 'sec_alice.contacts'::regclass::oid")

# 1. Her own table with the trigger function.
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_wb_control CASCADE;
   CREATE SERVER sec_wb_control FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url '$FAKE_URL');
   CREATE USER MAPPING FOR CURRENT_USER SERVER sec_wb_control" >/dev/null
# requests: how many API requests the fake provider has answered (control requests are not counted).
requests() { q "SELECT tether.request('sec_wb_control', 'GET', '/_control/stats') ->> 'requests'"; }
requests_before=$(requests)
as sec_mallory "CREATE SCHEMA sec_mallory; CREATE TABLE sec_mallory.t (id text PRIMARY KEY, email text, _synced_at timestamptz, _sync_gen bigint);
                CREATE TRIGGER old_style BEFORE INSERT OR UPDATE OR DELETE ON sec_mallory.t FOR EACH ROW
                    EXECUTE FUNCTION tether.mirror_write('$source_oid', 'id')" >/dev/null
out=$(as sec_mallory "INSERT INTO sec_mallory.t (id, email) VALUES ('$id', 'owned@example.com')" 2>&1) \
    && fail "sec_mallory's table with tether.mirror_write (0.1.0's arguments) took a write: $out"
echo "$out" | grep -q "sec_mallory.t is no longer a mirror table" || fail "unexpected refusal: $out"
as sec_mallory "DROP TRIGGER old_style ON sec_mallory.t;
                CREATE TRIGGER new_style BEFORE INSERT OR UPDATE OR DELETE ON sec_mallory.t FOR EACH ROW
                    EXECUTE FUNCTION tether.mirror_write('id')" >/dev/null
out=$(as sec_mallory "INSERT INTO sec_mallory.t (id, email) VALUES ('$id', 'owned@example.com')" 2>&1) \
    && fail "sec_mallory's table with tether.mirror_write took a write: $out"
[ "$(requests)" = "$requests_before" ] || fail "sec_mallory's trigger sent a request to the provider"
ok "tether.mirror_write on sec_mallory's own table refuses every write (old and new arguments); nothing sent"

# 2. What tether.mirror_source_of tells her.
# She has no USAGE on sec_alice's schema, so she names the mirror by its oid (pg_class shows it to all).
mirror_oid=$(q "SELECT 'sec_alice.m'::regclass::oid")
[ "$(as sec_mallory "SELECT tether.mirror_source_of($mirror_oid::oid::regclass)")" = sec_alice.contacts ] \
    || fail "tether.mirror_source_of does not answer"
# The comment names the source as sec_alice's search_path showed it (its schema is her own, so not
# qualified), and pg_class shows every role which schemas have a "contacts".
[ "$(as sec_mallory "SELECT obj_description($mirror_oid, 'pg_class') ~ '^mirror of (sec_alice\.)?contacts kept in sync by tether$'")" = t ] \
    || fail "the mirror's comment does not name its source (then tether.mirror_source_of would tell more than the catalogs)"
[ -z "$(as sec_mallory "SELECT tether.mirror_source_of('sec_mallory.t')")" ] || fail "a table that is no mirror has a source"
[ -z "$(as sec_mallory "SELECT string_agg(target::text, ',') FROM tether.mirror_config")" ] \
    || fail "sec_mallory sees mirror registrations"
ok "tether.mirror_source_of tells sec_mallory only the source, which the mirror's comment and pg_class show her anyway"

# 3. Her search_path and look-alikes: the function's body was bound when it was created.
as sec_mallory "CREATE TABLE sec_mallory.mirror_config (target regclass, source regclass);
                INSERT INTO sec_mallory.mirror_config VALUES ('sec_mallory.t', $source_oid::oid::regclass)" >/dev/null
[ "$(as sec_mallory "SET search_path = sec_mallory, tether, pg_catalog;
                      SELECT coalesce(tether.mirror_source_of('sec_mallory.t')::text, 'none')" | tail -1)" = none ] \
    || fail "tether.mirror_source_of read sec_mallory's look-alike table"
ok "a search_path with look-alike tables does not change what tether.mirror_source_of reads"

# The legitimate use: sec_bob writes through sec_alice's mirror, with his own mapping.
as sec_alice "GRANT USAGE ON SCHEMA sec_alice TO sec_bob; GRANT SELECT, UPDATE ON sec_alice.m TO sec_bob;
              GRANT SELECT, UPDATE ON sec_alice.contacts TO sec_bob" >/dev/null
as sec_bob "UPDATE sec_alice.m SET firstname = 'ByBob' WHERE id = '$id'" >/dev/null || fail "sec_bob cannot write through sec_alice's mirror"
[ "$(as sec_alice "SELECT firstname FROM sec_alice.contacts WHERE id = '$id'")" = ByBob ] \
    || fail "sec_bob's write through the mirror did not reach the provider"
ok "sec_bob, granted UPDATE on sec_alice's mirror, writes through it to the provider"

drop_role sec_mallory
drop_role sec_bob
drop_role sec_alice
q "SET client_min_messages = warning; DROP SERVER sec_wb CASCADE; DROP SERVER sec_wb_control CASCADE" >/dev/null
echo "ok: write-back trigger"
