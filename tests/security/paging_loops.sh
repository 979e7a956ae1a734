#!/usr/bin/env bash
# Hole 6 (paging for ever): a provider that sends the same cursor again kept a mirror's refresh paging
# without end (each page was its own scan, so the scan's own loop check never saw the repeat): one
# role's mirror then hammers the API and holds a sync process for ever. The refresh must stop at the
# first repeat with an error, after a handful of requests; a plain SELECT stops too.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_loop CASCADE" >/dev/null
q "CREATE SERVER sec_loop FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url '$FAKE_URL');
   GRANT USAGE ON FOREIGN SERVER sec_loop TO sec_alice" >/dev/null
# The listing is sent the cursor in a parameter it ignores, so it answers the first page, with the same
# next cursor, every time.
as_script sec_alice <<'SQL'
CREATE SCHEMA sec_alice;
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_loop;
CREATE FOREIGN TABLE sec_alice.looping (id int, name text) SERVER sec_loop
    OPTIONS (path '/rest/cursor/items', records '/records', pagination 'cursor',
             cursor_pointer '/next_cursor', cursor_param 'ignored_by_the_api');
SQL
requests() { curl -sf "$FAKE_URL/_control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_path"].get("/rest/cursor/items", 0))'; }

before=$(requests)
out=$(as sec_alice "SELECT count(*) FROM sec_alice.looping" 2>&1 || true)
case "$out" in *"a second time"*) ;; *) fail "a plain SELECT did not stop at the repeated cursor: $out" ;; esac

as sec_alice "SELECT tether.mirror('sec_alice.looping', 'sec_alice.m', every => '1 day') IS NOT NULL" >/dev/null
state=$(synced sec_alice.m 30)
after=$(requests)
[ "$state" = error ] || fail "the refresh of a looping listing ended in state $state"
err=$(q "SELECT last_error FROM tether.mirrors WHERE mirror = 'sec_alice.m'::regclass")
# Stopped by the scan (a batch reads several pages on one stream) or by the refresh (across batches).
case "$err" in *"sent before"*"instead of looping"* | *"a second time"*"instead of looping"*) ;; *) fail "unexpected error: $err" ;; esac
sleep 2
settled=$(requests)
[ $((after - before)) -lt 20 ] && [ "$settled" = "$after" ] \
    || fail "the looping listing took $((after - before)) requests, and $((settled - after)) more after the error"
ok "a refresh stops at the first repeated cursor ($((after - before)) requests in all, SELECT included): $err"

drop_role sec_alice
q "DROP SERVER sec_loop CASCADE" >/dev/null
echo "ok: paging loops"
