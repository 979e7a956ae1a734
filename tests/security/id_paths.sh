#!/usr/bin/env bash
# Hole 7 (ids in paths): an id is put in the request path as one segment, but `.` is not encoded, so
# WHERE id = '..' turned a get, update or delete of one record into one of the path above it (with
# the user mapping's credentials): /contacts/.. is /contacts, and worse with nested paths. Ids that
# are or contain a `.` or `..` segment are refused before any request.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_alice
hubspot_source sec_ids sec_alice
requests() { curl -sf "$FAKE_URL/_control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
before=$(requests)
for stmt in "SELECT * FROM sec_alice.contacts WHERE id = '..'" \
            "SELECT * FROM sec_alice.contacts WHERE id = '.'" \
            "UPDATE sec_alice.contacts SET city = 'x' WHERE id = '..'" \
            "DELETE FROM sec_alice.contacts WHERE id = '1/../2'"; do
    out=$(as sec_alice "$stmt" 2>&1 || true)
    case "$out" in *"which would name another path"*) ;; *) fail "$stmt: $out" ;; esac
done
after=$(requests)
# UPDATE and DELETE read the rows first (by id); none of the four may reach the provider.
[ "$after" = "$before" ] || fail "$((after - before)) requests reached the provider"
ok "ids . and .. are refused before any request"
[ "$(as sec_alice "SELECT count(*) FROM sec_alice.contacts WHERE id = '3'")" = 1 ] || fail "a normal id no longer works"
ok "a normal id still works"

drop_role sec_alice
q "DROP SERVER sec_ids CASCADE" >/dev/null
echo "ok: id paths"
