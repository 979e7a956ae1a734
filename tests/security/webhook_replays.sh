#!/usr/bin/env bash
# Hole 7 (Shopify replays): Shopify signs the body only; the topic, the event id and the time
# (X-Shopify-Topic, X-Shopify-Webhook-Id, X-Shopify-Triggered-At) travel in unsigned headers. Whoever
# captured one delivery could send it again and again with a new event id and a fresh time, and have
# it recorded (and its refresh run) each time. A delivery whose body was already recorded is now
# known as a replay and recorded nothing; a new body is recorded as before.
. "$(dirname "$0")/lib.sh"

: "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set (scripts/test sets it)}"
SECRET="tsec-shopify-hooks-$(date +%s%N | sha256sum | cut -c1-12)"
ensure_database
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_shop CASCADE;
   DELETE FROM tether.webhook_events WHERE server = 'sec_shop'" >/dev/null
q "CREATE SERVER sec_shop FOREIGN DATA WRAPPER tether OPTIONS (connector 'shopify', shop 'acme', base_url '$FAKE_URL');
   CREATE USER MAPPING FOR CURRENT_USER SERVER sec_shop OPTIONS (api_key '$TETHER_TEST_TOKEN', webhook_secret '$SECRET')" >/dev/null

# shopify WEBHOOK_ID TOPIC BODY: a delivery signed as Shopify does (the body only), sent now.
shopify() {
    python3 - "$TETHER_WEBHOOK_URL" "$SECRET" "$@" <<'PY'
import base64, datetime, hashlib, hmac, sys, urllib.request, urllib.error
base, secret, webhook_id, topic, body = sys.argv[1:6]
sig = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
req = urllib.request.Request(base + "/webhooks/sec_shop", data=body.encode(), method="POST", headers={
    "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Topic": topic,
    "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Triggered-At": now, "X-Shopify-Shop-Domain": "acme.myshopify.com"})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
body='{"id": 3, "email": "c3@example.com", "updated_at": "2026-12-01T10:00:00Z"}'
first=$(shopify wh-1 customers/update "$body")
case "$first" in 200\ *'"recorded":1'*) ;; *) fail "the first delivery was not recorded: $first" ;; esac
replay=$(shopify wh-2 customers/delete "$body")
case "$replay" in 200\ *'"duplicates":1'*) ;; *) fail "the replay with a new id, topic and time was recorded: $replay" ;; esac
case "$replay" in *'"recorded":0'*) ;; *) fail "the replay with a new id, topic and time was recorded: $replay" ;; esac
[ "$(q "SELECT count(*) FROM tether.webhook_events WHERE server = 'sec_shop'")" = 1 ] || fail "the replay was recorded"
[ "$(q "SELECT count(*) FROM tether.mirror_deletions")" = 0 ] || fail "the replay queued a deletion"
ok "a replayed Shopify body with a new event id, another topic and a fresh time is recorded nothing"
other=$(shopify wh-3 customers/update '{"id": 3, "email": "c3@example.com", "updated_at": "2026-12-01T10:05:00Z"}')
case "$other" in 200\ *'"recorded":1'*) ;; *) fail "a new body was not recorded: $other" ;; esac
ok "a new body is recorded"

q "DELETE FROM tether.webhook_events WHERE server = 'sec_shop'; DROP SERVER sec_shop CASCADE" >/dev/null
echo "ok: webhook replays"
