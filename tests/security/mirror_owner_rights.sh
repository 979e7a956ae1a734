#!/usr/bin/env bash
# Hole 1: a mirror owner must not gain the sync process's superuser rights. The sync process merges
# each page into the owner's table, which runs the owner's triggers and defaults; the owner's code
# runs as the owner, and whatever it leaves behind (a search_path naming the owner's schema of
# look-alike operators and functions) must not reach the worker's own statements that follow.
#
# sec_alice owns a mirror with triggers (ordinary and ENABLE ALWAYS) and a DEFAULT that set
# search_path to a schema of operators and functions shadowing the ones the worker uses; each of them
# tries ALTER ROLE ... SUPERUSER and records who ran it. The refresh must succeed, sec_alice must stay an
# ordinary role, and every recorded call must have run as sec_alice. Her trigger also writes into a
# table of sec_bob's: bob's own trigger on it must fire (a sync that ran with
# session_replication_role = replica would have let her skip it).
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice sec_bob
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_rights CASCADE" >/dev/null
q "CREATE SERVER sec_rights FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url '$FAKE_URL', rate_limit 'none');
   GRANT USAGE ON FOREIGN SERVER sec_rights TO sec_alice" >/dev/null

as_script sec_bob <<'SQL'
CREATE SCHEMA bob;
CREATE TABLE bob.audit (what text, checked_by_bob boolean NOT NULL DEFAULT false);
CREATE FUNCTION bob.check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.checked_by_bob := true; RETURN NEW; END $$;
CREATE TRIGGER bob_checks BEFORE INSERT ON bob.audit FOR EACH ROW EXECUTE FUNCTION bob.check();
GRANT USAGE ON SCHEMA bob TO sec_alice;
GRANT INSERT ON bob.audit TO sec_alice;
SQL

as_script sec_alice <<'SQL'
CREATE SCHEMA a;
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_rights OPTIONS (token :'token');
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER sec_rights INTO a;

-- Who ran the look-alikes: a row per call, with the role it ran as.
CREATE SCHEMA evil;
CREATE TABLE evil.calls (what text, ran_as name, became_superuser boolean);
GRANT INSERT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.escalate(what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ok boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE sec_alice SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        ok := false;
    END;
    INSERT INTO evil.calls VALUES (what, current_user, ok);
END $$;
-- Look-alikes of what the worker's statements call, with the same argument types.
CREATE FUNCTION evil.plus_bi(a bigint, b int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('+(bigint,int)'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = int, FUNCTION = evil.plus_bi);
CREATE FUNCTION evil.plus_bb(a bigint, b bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('+(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.plus_bb);
CREATE FUNCTION evil.eq_ii(a int, b int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('=(int,int)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.eq_ii);
CREATE FUNCTION evil.eq_bb(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('=(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.eq_bb);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $$;
CREATE FUNCTION evil.power(a float8, b float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('power()'); RETURN pg_catalog.power(a, b); END $$;
CREATE FUNCTION evil.pg_notify(a text, b text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate('pg_notify()'); PERFORM pg_catalog.pg_notify(a, b); END $$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;

SELECT tether.mirror('a.contacts', 'a.m', every => '1 hour') IS NOT NULL AS created;

-- The traps: leave search_path pointing at evil (set_config(..., false): for the session), and write
-- into bob's table.
CREATE FUNCTION a.trap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog', false);
    INSERT INTO evil.calls VALUES ('trigger ' || TG_WHEN || ' ' || TG_OP, current_user, false);
    IF TG_WHEN = 'AFTER' THEN
        INSERT INTO bob.audit (what) VALUES ('contact ' || NEW.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER trap_always BEFORE INSERT OR UPDATE ON a.m FOR EACH ROW EXECUTE FUNCTION a.trap();
ALTER TABLE a.m ENABLE ALWAYS TRIGGER trap_always;
CREATE TRIGGER trap_after AFTER INSERT ON a.m FOR EACH ROW EXECUTE FUNCTION a.trap();
CREATE FUNCTION a.default_trap() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog', false);
    INSERT INTO evil.calls VALUES ('default', current_user, false);
    RETURN 'x';
END $$;
ALTER TABLE a.m ADD COLUMN note text DEFAULT a.default_trap();
SQL

state=$(synced a.m)
[ "$state" = idle ] || fail "the refresh did not succeed: $(q "SELECT last_error FROM tether.mirrors WHERE mirror = 'a.m'::regclass")"
rows=$(q "SELECT count(*) FROM a.m")
[ "$rows" -gt 0 ] || fail "the mirror is empty"
ok "the mirror of sec_alice synced ($rows rows) with her triggers and default in place"

[ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_alice'")" = f ] || fail "sec_alice became superuser"
ok "sec_alice is still an ordinary role"

calls=$(q "SELECT count(*) FROM evil.calls")
[ "$calls" -gt 0 ] || fail "the owner's code did not run at all (the test proves nothing)"
escalated=$(q "SELECT coalesce(string_agg(DISTINCT what || ' as ' || ran_as, ', '), '') FROM evil.calls
               WHERE ran_as <> 'sec_alice' OR became_superuser")
[ -z "$escalated" ] || fail "owner-controlled code ran with other rights: $escalated"
lookalikes=$(q "SELECT count(*) FROM evil.calls WHERE what NOT LIKE 'trigger%' AND what <> 'default'")
[ "$lookalikes" = 0 ] || fail "the worker called $lookalikes of sec_alice's look-alike operators or functions"
ok "$calls calls of sec_alice's code, all as sec_alice; none of her look-alikes was called"

audited=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE checked_by_bob) FROM bob.audit")
[ "$audited" = "$rows $rows" ] || fail "bob's trigger must check every row sec_alice's trigger wrote (rows, checked): $audited"
ok "sec_bob's trigger fired for each of the $rows rows sec_alice's trigger wrote into his table"

# A second pass (an update of every row) goes through the same statements.
q "UPDATE tether.mirror_config SET sweep_every = '1 second' WHERE target = 'a.m'::regclass" >/dev/null
sleep 1.1
as sec_alice "SELECT tether.refresh('a.m', wait => true) IS NOT NULL" >/dev/null
[ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_alice'")" = f ] || fail "sec_alice became superuser in a full pass"
[ -z "$(q "SELECT string_agg(what, ', ') FROM evil.calls WHERE ran_as <> 'sec_alice' OR became_superuser")" ] \
    || fail "a full pass ran owner code with other rights"
ok "a full pass (sweep) too"

drop_role sec_alice
drop_role sec_bob
q "DROP SERVER sec_rights CASCADE" >/dev/null
echo "ok: mirror owner rights"
