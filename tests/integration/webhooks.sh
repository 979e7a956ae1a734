#!/usr/bin/env bash
# The webhook receiver at the HTTP level, with deliveries signed here (python3's hmac, independent of
# Tether and of the fake provider): what it refuses and with which status (method, path, unknown
# server, connector without webhooks, server without webhook_secret, oversized, unsigned, badly
# signed, stale, malformed), that nothing refused is recorded, that a provider's retry of an event is
# recorded once, and that webhook_url is the URL HubSpot signatures are checked against. The three
# kinds of missing receiver answer alike (no server or connector names to unauthenticated clients);
# the server log tells them apart.
# Run by scripts/test with PGHOST/PGPORT/PGUSER, FAKE_URL and TETHER_WEBHOOK_URL set.
set -euo pipefail

DB=${TETHER_MIRROR_DB:-tether_regress}
HOOKS=${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set (scripts/test sets it)}
SECRET=${TETHER_TEST_HUBSPOT_WEBHOOK_SECRET:?TETHER_TEST_HUBSPOT_WEBHOOK_SECRET is not set (scripts/lib.sh sets it)}
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { psql -X -At -d "$DB" -c "$1"; }

if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
    psql -X -q -d postgres -c "CREATE DATABASE $DB"
fi
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v secret="$SECRET" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tether;
DROP SERVER IF EXISTS wh_hs, wh_public, wh_nosecret, wh_sf CASCADE;
CREATE SERVER wh_hs FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER wh_hs OPTIONS (webhook_secret :'secret');
CREATE SERVER wh_public FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', webhook_url 'https://hooks.example.com/tether/hs?portal=1');
CREATE USER MAPPING FOR CURRENT_USER SERVER wh_public OPTIONS (webhook_secret :'secret');
CREATE SERVER wh_nosecret FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE SERVER wh_sf FOREIGN DATA WRAPPER tether OPTIONS (connector 'salesforce', base_url :'fake_url');
SQL

# send PATH BODY|@bytes:N [SECRET] [TIMESTAMP_MS|-] [SIGNED_URL] [METHOD]: a HubSpot v3 delivery; prints "status body".
send() {
    python3 - "$HOOKS" "$@" <<'PY'
import base64, hashlib, hmac, sys, time, urllib.request, urllib.error
base, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
if body.startswith("@bytes:"):  # a JSON array padded to that many bytes
    body = "[" + " " * (int(body[7:]) - 2) + "]"
secret = sys.argv[4] if len(sys.argv) > 4 else ""
ts = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else str(int(time.time() * 1000))
signed_url = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else base + path
method = sys.argv[7] if len(sys.argv) > 7 else "POST"
headers = {"Content-Type": "application/json"}
if secret:
    msg = (method + signed_url).encode() + body.encode() + ts.encode()
    headers["X-HubSpot-Signature-v3"] = base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()
    headers["X-HubSpot-Request-Timestamp"] = ts
req = urllib.request.Request(base + path, data=body.encode() if method == "POST" else None, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}

expect() { # expect WHAT STATUS TEXT OUTPUT
    case "$4" in
        "$2 "*"$3"*) echo "ok: $1 -> $2" ;;
        *) fail "$1: expected $2 with \"$3\", got: $4" ;;
    esac
}

events() { q "SELECT count(*) FROM tether.webhook_events WHERE server LIKE 'wh\\_%'"; }
event='[{"eventId":%s,"subscriptionType":"contact.propertyChange","objectId":1,"occurredAt":1}]'
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }
before=$(events)

expect "GET" 405 "received with POST" "$(send /webhooks/wh_hs '' "$SECRET" - '' GET)"
expect "another path" 404 "/webhooks/<server name>" "$(send /hooks/wh_hs '{}' "$SECRET")"
LOG=${TETHER_PG_LOG:-$PGHOST/postgres.log}
logged() { grep -qF -- "$1" "$LOG" || fail "the server log does not say: $1"; }
not_here='{"message":"no webhook receiver at this address"}'
expect "unknown server" 404 "$not_here" "$(send /webhooks/wh_missing '{}' "$SECRET")"
expect "connector without webhooks" 404 "$not_here" "$(send /webhooks/wh_sf '{}' "$SECRET")"
expect "server without webhook_secret" 404 "$not_here" "$(send /webhooks/wh_nosecret '{}' "$SECRET")"
logged 'no tether server named "wh_missing"'
logged 'uses connector "salesforce", which does not receive webhooks'
logged 'server "wh_nosecret" has no webhook_secret in its owner'"'"'s user mapping'
echo "ok: the server log says why"
expect "unsigned" 401 "missing header X-HubSpot-Signature-v3" "$(send /webhooks/wh_hs "$(printf "$event" 101)")"
expect "wrong secret" 401 "does not match the body signed for $HOOKS/webhooks/wh_hs" \
    "$(send /webhooks/wh_hs "$(printf "$event" 102)" not-the-secret)"
stale=$(( $(now_ms) - 6 * 60 * 1000 ))
expect "stale (6 minutes old)" 401 "outside the 300 s replay window" \
    "$(send /webhooks/wh_hs "$(printf "$event" 103)" "$SECRET" "$stale")"
expect "signed for another URL" 401 "set webhook_url" \
    "$(send /webhooks/wh_hs "$(printf "$event" 104)" "$SECRET" - "https://elsewhere.example.com/webhooks/wh_hs")"
expect "signed, not JSON" 400 "not JSON" "$(send /webhooks/wh_hs 'not json' "$SECRET")"
expect "oversized (1 MB + 1 byte)" 413 "larger than tether.webhook_max_body" \
    "$(send /webhooks/wh_hs "@bytes:$((1024 * 1024 + 1))" "$SECRET")"
[ "$(events)" = "$before" ] || fail "refused deliveries were recorded ($before events before, $(events) after)"
echo "ok: nothing refused was recorded"

id=$(( $(now_ms) % 1000000000 ))
expect "signed delivery" 200 '"recorded":1' "$(send /webhooks/wh_hs "$(printf "$event" "$id")" "$SECRET")"
expect "the provider's retry of it" 200 '"duplicates":1' "$(send /webhooks/wh_hs "$(printf "$event" "$id")" "$SECRET")"
[ "$(q "SELECT count(*) FROM tether.webhook_events WHERE server = 'wh_hs' AND event_id = '$id'")" = 1 ] \
    || fail "the event was not recorded exactly once"
row=$(q "SELECT topic || ' ' || object || ' ' || record_id || ' ' || deleted FROM tether.webhook_events WHERE event_id = '$id'")
[ "$row" = "contact.propertyChange contacts 1 false" ] || fail "recorded event reads: $row"
echo "ok: the event was recorded once: $row"

# Behind a proxy, HubSpot signs the public URL: the server's webhook_url.
expect "signed for webhook_url" 200 '"recorded":1' \
    "$(send /webhooks/wh_public "$(printf "$event" $((id + 1)))" "$SECRET" - "https://hooks.example.com/tether/hs?portal=1")"
expect "signed for the local address despite webhook_url" 401 "hooks.example.com" \
    "$(send /webhooks/wh_public "$(printf "$event" $((id + 2)))" "$SECRET")"

psql -X -q -d "$DB" -c "DROP SERVER wh_hs, wh_public, wh_nosecret, wh_sf CASCADE"
echo "ok: webhook receiver"
