#!/usr/bin/env bash
# A push runs in the background worker (a superuser process) and sends rows with its owner's user
# mapping: it must never do more than its owner may. sec_mallory tries to push sec_alice's table and
# into sec_alice's foreign table, to see, run and change sec_alice's push; sec_alice's source is a view
# over a function that tries to make her a superuser when the worker reads it, and must run as her;
# a push whose owner lost USAGE on the server fails before sending anything.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_mallory
hubspot_source sec_push sec_alice sec_mallory

as_script sec_alice <<'SQL'
CREATE TABLE sec_alice.signups (source_id text PRIMARY KEY, email text, firstname text);
INSERT INTO sec_alice.signups VALUES ('a1', 'alice-push-1@example.com', 'A1');
-- What the worker runs when it reads the source: the view calls her function, which records who ran
-- it and tries to become a superuser.
CREATE TABLE sec_alice.calls (ran_as name, escalated boolean);
CREATE FUNCTION sec_alice.who() RETURNS name LANGUAGE plpgsql AS $$
DECLARE
    escalated boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE sec_alice SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        escalated := false;
    END;
    INSERT INTO sec_alice.calls VALUES (current_user, escalated);
    RETURN current_user;
END $$;
CREATE VIEW sec_alice.outbound AS SELECT source_id, email, sec_alice.who()::text AS firstname FROM sec_alice.signups;
GRANT USAGE ON SCHEMA sec_alice TO sec_mallory;
SQL

# sec_mallory may see the schema but may neither read sec_alice's table nor write her foreign table.
out=$(as sec_mallory "SELECT tether.push('sec_alice.signups', 'sec_mallory.contacts', 'source_id', name => 'steal')" 2>&1 || true)
case "$out" in *"permission denied: a push needs to SELECT from sec_alice.signups"*) ;; *) fail "sec_mallory pushed sec_alice's table: $out" ;; esac
as sec_mallory "CREATE TABLE sec_mallory.mine (id text PRIMARY KEY, email text)" >/dev/null
out=$(as sec_mallory "SELECT tether.push('sec_mallory.mine', 'sec_alice.contacts', 'id', name => 'spam')" 2>&1 || true)
case "$out" in *"permission denied: a push needs to INSERT into sec_alice.contacts"*) ;; *) fail "sec_mallory pushed into sec_alice's foreign table: $out" ;; esac
state=$(psql -X -At -U sec_mallory -d "$DB" -c "\\set VERBOSITY sqlstate" -c "SELECT tether.push('sec_mallory.mine', 'sec_alice.contacts', 'id', name => 'spam')" 2>&1 || true)
case "$state" in *42501*) ;; *) fail "the refusal's SQLSTATE is not 42501: $state" ;; esac
[ "$(q "SELECT count(*) FROM tether.push_config")" = 0 ] || fail "a refused push was registered"
ok "sec_mallory can push neither sec_alice's table nor into sec_alice's foreign table"

# sec_alice's push: the worker reads her view as her; her function cannot make her a superuser.
as sec_alice "SELECT tether.push('sec_alice.outbound', 'sec_alice.contacts', 'source_id', name => 'alice_push')" >/dev/null
run=$(as sec_alice "SELECT created || ' ' || coalesce(error, '') FROM tether.push_now('alice_push', wait => true)")
[ "$run" = "1 " ] || fail "sec_alice's push did not create her record: $run"
[ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_alice'")" = f ] || fail "sec_alice became a superuser through the push worker"
calls=$(q "SELECT string_agg(DISTINCT ran_as || ':' || escalated, ',') FROM sec_alice.calls")
[ "$calls" = "sec_alice:false" ] || fail "the worker ran sec_alice's function as someone else, or it escalated: $calls"
sent=$(as sec_alice "SELECT firstname FROM sec_alice.contacts WHERE email = 'alice-push-1@example.com'")
[ "$sent" = sec_alice ] || fail "the record was not sent with the values read as sec_alice: $sent"
[ "$(q "SELECT status FROM sec_alice.alice_push_map WHERE source_id = 'a1'")" = ok ] || fail "the created record is not mapped"
ok "the worker reads a push's source as its owner: her function ran as sec_alice and could not escalate"

# sec_mallory neither sees nor runs nor changes sec_alice's push.
[ "$(as sec_mallory "SELECT count(*) FROM tether.pushes")" = 0 ] || fail "sec_mallory sees sec_alice's push"
[ "$(as sec_mallory "SELECT count(*) FROM tether.push_runs")" = 0 ] || fail "sec_mallory sees sec_alice's runs"
out=$(as sec_mallory "SELECT tether.push_now('alice_push', wait => true)" 2>&1 || true)
case "$out" in *"there is no push named 'alice_push' of yours"*) ;; *) fail "sec_mallory ran sec_alice's push: $out" ;; esac
out=$(as sec_mallory "SELECT tether.unpush('alice_push')" 2>&1 || true)
case "$out" in *"there is no push named 'alice_push' of yours"*) ;; *) fail "sec_mallory removed sec_alice's push: $out" ;; esac
[ "$(as sec_mallory "WITH u AS (UPDATE tether.push_config SET paused = true RETURNING 1) SELECT count(*) FROM u")" = 0 ] \
    || fail "sec_mallory paused sec_alice's push"
for sql in "UPDATE tether.push_config SET requested_at = 'infinity'" "DELETE FROM tether.push_config" \
           "INSERT INTO tether.push_runs (push_id) VALUES (1)" "UPDATE tether.push_state SET next_run = now()"; do
    out=$(as sec_mallory "$sql" 2>&1 || true)
    case "$out" in *"permission denied for table push_"*) ;; *) fail "sec_mallory ran \"$sql\": $out" ;; esac
done
ok "sec_mallory cannot see, run, remove, pause or schedule sec_alice's push"

# An owner who lost USAGE on the server: the run fails with 42501 and sends nothing.
q "REVOKE USAGE ON FOREIGN SERVER sec_push FROM sec_alice" >/dev/null
as sec_alice "INSERT INTO sec_alice.signups VALUES ('a2', 'alice-push-2@example.com', 'A2')" >/dev/null
state=$(psql -X -At -U sec_alice -d "$DB" -c "\\set VERBOSITY sqlstate" -c "SELECT tether.push_now('alice_push', wait => true)" 2>&1 || true)
case "$state" in *42501*) ;; *) fail "a push whose owner lost USAGE on the server did not fail with 42501: $state" ;; esac
[ "$(q "SELECT count(*) FROM sec_alice.alice_push_map WHERE source_id = 'a2'")" = 0 ] || fail "the row was marked as sent"
[ "$(q "SELECT requests FROM tether.push_runs ORDER BY id DESC LIMIT 1")" = 0 ] || fail "the failed run sent requests"
ok "a push whose owner lost USAGE on the server fails (42501) and sends nothing"

q "GRANT USAGE ON FOREIGN SERVER sec_push TO sec_alice" >/dev/null
as sec_alice "SELECT tether.unpush('alice_push', drop_map => true)" >/dev/null
