# Shared by the attack tests in tests/security/ (source it). Each test plays an unprivileged role (or a
# network client) attacking Tether, asserts that the attack fails, and that the legitimate use next to
# it still works. scripts/test runs them against the database the worker serves, with PGHOST, PGPORT,
# PGUSER (a superuser, for set-up only), FAKE_URL and TETHER_WEBHOOK_URL set. Roles connect over the
# cluster's Unix socket with trust authentication.

set -euo pipefail

DB=${TETHER_MIRROR_DB:-tether_regress}
: "${FAKE_URL:?FAKE_URL is not set (scripts/test sets it)}"
# The test run's secrets (scripts/lib.sh): the fake provider's token and OAuth2 client secret.
: "${TETHER_TEST_TOKEN:?TETHER_TEST_TOKEN is not set (scripts/lib.sh sets it)}"
: "${TETHER_TEST_CLIENT_SECRET:?TETHER_TEST_CLIENT_SECRET is not set (scripts/lib.sh sets it)}"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# q SQL: one statement as the superuser, unaligned output.
q() { psql -X -At -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
# as ROLE SQL: as an ordinary role.
as() { local role=$1; shift; psql -X -At -U "$role" -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
# as_script ROLE: a psql script from stdin as ROLE (variables fake_url, webhook_url and token, the fake
# provider's token, are set).
as_script() {
    psql -X -q -U "$1" -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v webhook_url="${TETHER_WEBHOOK_URL:-}" \
        -v token="$TETHER_TEST_TOKEN"
}

# roles NAME...: fresh LOGIN roles (dropped first with what they own), allowed to create schemas in the
# test database and to call tether's functions.
roles() {
    for r in "$@"; do
        drop_role "$r"
        q "CREATE ROLE $r LOGIN" >/dev/null
        q "GRANT CREATE ON DATABASE $DB TO $r; GRANT USAGE ON SCHEMA tether TO $r" >/dev/null
    done
}

# drop_role ROLE: the role and what it owns. A sync process refreshing one of its mirrors runs as the
# role and has temporary tables of the role's while it lives: DROP OWNED, which sees other sessions'
# temporary tables, fails ("cache lookup failed for relation") when such a process exits as it drops
# them. So it waits for the tether processes to end first, and tries again once.
drop_role() {
    if [ "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$1'")" = 1 ]; then
        for _ in $(seq 1 100); do
            [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('tether sync', 'tether push')")" = 0 ] && break
            sleep 0.1
        done
        q "SET client_min_messages = warning; DROP OWNED BY $1 CASCADE; DROP ROLE $1" >/dev/null 2>&1 \
            || { sleep 1; q "SET client_min_messages = warning; DROP OWNED BY $1 CASCADE; DROP ROLE $1" >/dev/null; }
    fi
}

ensure_database() {
    if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
        psql -X -q -d postgres -c "CREATE DATABASE $DB"
    fi
    q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS tether" >/dev/null
}

# wait_until SECONDS SQL: until SQL (as the superuser) returns t; fails the test when it never does.
wait_until() {
    local secs=$1 sql=$2
    for _ in $(seq 1 $((secs * 10))); do
        [ "$(q "$sql")" = t ] && return 0
        sleep 0.1
    done
    fail "timed out after ${secs}s waiting for: $sql"
}

# synced MIRROR [SECONDS]: wait until the mirror finished a pass (or failed); prints its state.
synced() {
    wait_until "${2:-60}" "SELECT EXISTS (SELECT 1 FROM tether.mirrors WHERE mirror = '$1'::regclass
                                          AND (last_success IS NOT NULL OR state = 'error'))"
    q "SELECT state FROM tether.mirrors WHERE mirror = '$1'::regclass"
}

# hubspot_delivery SERVER SECRET BODY: POST a HubSpot v3-signed delivery (signed here, with python3's
# hmac) to the webhook receiver; prints "status body".
hubspot_delivery() {
    python3 - "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set}" "$@" <<'PY'
import base64, hashlib, hmac, sys, time, urllib.request, urllib.error
base, server, secret, body = sys.argv[1:5]
url = base + "/webhooks/" + server
ts = str(int(time.time() * 1000))
sig = base64.b64encode(hmac.new(secret.encode(), ("POST" + url + body + ts).encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
    "Content-Type": "application/json", "X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}

# rest_delivery SERVER SECRET BODY: POST a delivery signed as the generic rest connector's scheme
# (X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">); prints "status body".
rest_delivery() {
    python3 - "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set}" "$@" <<'PY'
import hashlib, hmac, sys, time, urllib.request, urllib.error
base, server, secret, body = sys.argv[1:5]
ts = str(int(time.time()))
sig = "sha256=" + hmac.new(secret.encode(), (ts + "." + body).encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(base + "/webhooks/" + server, data=body.encode(), method="POST", headers={
    "Content-Type": "application/json", "X-Signature": sig, "X-Signature-Timestamp": ts})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}

# hubspot_source SERVER ROLE...: a HubSpot server on the fake provider (pacing off) that each ROLE may
# use with a user mapping of its own, and a schema named after each role holding the contacts table.
hubspot_source() {
    local server=$1; shift
    q "SET client_min_messages = warning; DROP SERVER IF EXISTS $server CASCADE" >/dev/null
    q "CREATE SERVER $server FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url '$FAKE_URL', rate_limit 'none')" >/dev/null
    for r in "$@"; do
        q "GRANT USAGE ON FOREIGN SERVER $server TO $r" >/dev/null
        as "$r" "CREATE SCHEMA $r; CREATE USER MAPPING FOR CURRENT_USER SERVER $server OPTIONS (token '$TETHER_TEST_TOKEN');
                 IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER $server INTO $r" >/dev/null
    done
}
