#!/usr/bin/env bash
# Hole 3: a server's webhook secret must be readable by its owner only. It used to be a server option,
# which every role reads in pg_foreign_server, so any role could sign deliveries for any server. Now
# it lives in the server owner's user mapping. sec_mallory, who has USAGE on the server, cannot read
# it (pg_foreign_server, pg_user_mappings, pg_user_mapping), cannot plant her own (a secret in her own
# mapping is refused), and her forged delivery is refused; the owner's signed delivery is accepted.
# The old server option is refused with where the secret goes now, and a server that still has it
# from before is not trusted with it.
. "$(dirname "$0")/lib.sh"

: "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set (scripts/test sets it)}"
SECRET="tsec-webhook-$(date +%s%N | sha256sum | cut -c1-12)"
ensure_database
roles sec_owner sec_mallory
q "GRANT USAGE ON FOREIGN DATA WRAPPER tether TO sec_owner" >/dev/null

psql -X -q -U sec_owner -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v secret="$SECRET" \
    -v token="$TETHER_TEST_TOKEN" <<'SQL'
CREATE SERVER sec_wh FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'fake_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_wh OPTIONS (token :'token', webhook_secret :'secret');
GRANT USAGE ON FOREIGN SERVER sec_wh TO sec_mallory;
SQL

seen=$(psql -X -At -U sec_mallory -d "$DB" 2>&1 <<'SQL'
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'sec_wh';
SELECT coalesce(umoptions::text, 'hidden') FROM pg_user_mappings WHERE srvname = 'sec_wh';
SELECT umoptions FROM pg_user_mapping;
SQL
)
case "$seen" in *"$SECRET"*) fail "sec_mallory read the webhook secret: $seen" ;; esac
case "$seen" in *hidden*"permission denied for table pg_user_mapping"*) ;; *) fail "unexpected: $seen" ;; esac
ok "sec_mallory cannot read the webhook secret (server options, pg_user_mappings, pg_user_mapping)"

planted=$(as sec_mallory "CREATE USER MAPPING FOR CURRENT_USER SERVER sec_wh OPTIONS (webhook_secret 'mallory-secret')" 2>&1 || true)
case "$planted" in
    *"webhook_secret is read only from the user mapping of server \"sec_wh\"'s owner"*) ;;
    *) fail "sec_mallory's own webhook_secret was not refused: $planted" ;;
esac
[ "$(q "SELECT count(*) FROM pg_user_mappings WHERE srvname = 'sec_wh' AND usename = 'sec_mallory'")" = 0 ] \
    || fail "sec_mallory's mapping was created"
ok "sec_mallory cannot plant a secret of her own"

# The check behind the event trigger is a function any role can call; it reads a mapping's options,
# so asking it about someone else's mapping (is there a secret? is it well-formed?) is refused.
oracle=$(as sec_mallory "SELECT tether.validate_user_mapping((SELECT oid FROM pg_foreign_server WHERE srvname = 'sec_wh'), 'sec_owner'::regrole)" 2>&1 || true)
case "$oracle" in *'permission denied to check the user mappings of server "sec_wh"'*) ;; *) fail "sec_mallory could probe the owner's mapping: $oracle" ;; esac
ok "sec_mallory cannot probe the owner's mapping through the check function"

event='[{"eventId":%s,"subscriptionType":"contact.propertyChange","objectId":1,"occurredAt":1}]'
id=$(( $(date +%s%N) % 1000000000 ))
forged=$(hubspot_delivery sec_wh mallory-secret "$(printf "$event" "$id")")
case "$forged" in 401\ *) ;; *) fail "a delivery signed with mallory's secret was not refused: $forged" ;; esac
good=$(hubspot_delivery sec_wh "$SECRET" "$(printf "$event" $((id + 1)))")
case "$good" in 200\ *'"recorded":1'*) ;; *) fail "the owner's signed delivery was not accepted: $good" ;; esac
ok "a delivery signed with another secret is refused (401); the owner's secret works (200)"

moved=$(as sec_owner "ALTER SERVER sec_wh OPTIONS (ADD webhook_secret 'x')" 2>&1 || true)
case "$moved" in *"webhook_secret is no longer a server option"*) ;; *) fail "the old server option was accepted: $moved" ;; esac
ok "the old server option is refused"

# A server that still carries the option from before the move (set here behind the validator's back):
# its secret is not used, whatever it is.
q "CREATE SERVER sec_legacy FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url '$FAKE_URL');
   UPDATE pg_catalog.pg_foreign_server SET srvoptions = srvoptions || '{webhook_secret=legacy-secret}'
   WHERE srvname = 'sec_legacy'" >/dev/null
legacy=$(hubspot_delivery sec_legacy legacy-secret "$(printf "$event" $((id + 2)))")
case "$legacy" in 404\ *) ;; *) fail "a delivery for the legacy server option was accepted: $legacy" ;; esac
ok "the secret in a server option from before is not trusted"

[ "$(q "SELECT count(*) FROM tether.webhook_events WHERE server IN ('sec_wh', 'sec_legacy')")" = 1 ] \
    || fail "expected exactly the owner's delivery recorded"
q "DELETE FROM tether.webhook_events WHERE server IN ('sec_wh', 'sec_legacy'); DROP SERVER sec_legacy CASCADE" >/dev/null
drop_role sec_mallory
drop_role sec_owner
echo "ok: webhook secrets"
