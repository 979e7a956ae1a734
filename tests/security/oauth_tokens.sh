#!/usr/bin/env bash
# Hole 5: OAuth2 tokens must be tied to the user mapping that authorized them.
#  - In one backend (a session that switches roles with SET ROLE, as poolers and SECURITY DEFINER
#    code do), sec_eve's mapping has the right client_id but a wrong client_secret. Once sec_alice's
#    token is cached, eve must still be refused by the token endpoint with her own error (28000),
#    never served alice's token: for the client_credentials grant and for the refresh_token grant.
#  - A provider that rotates refresh tokens (the old one is revoked when a new one is issued) keeps
#    working across sessions: the rotated token is saved, so a new backend uses it instead of the
#    revoked one. The saved token is readable only by the server's OS user.
. "$(dirname "$0")/lib.sh"

PGDATA_DIR=${TETHER_PGDATA:-$PGHOST/data}
# sec_alice's refresh token, revoked by the rotation below: one of this run only.
REFRESH="rt-tsec-alice-$(date +%s%N | sha256sum | cut -c1-12)"
ensure_database
roles sec_alice sec_eve
control() { curl -sf -X POST "$FAKE_URL/_control/$1" >/dev/null || fail "fake provider control $1 failed"; }

q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_cc, sec_rt CASCADE; DROP SCHEMA IF EXISTS sec_o CASCADE" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v token_url="$FAKE_URL/oauth/v1/token" \
    -v client_secret="$TETHER_TEST_CLIENT_SECRET" -v refresh="$REFRESH" <<'SQL'
CREATE SERVER sec_cc FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url', rate_limit 'none');
CREATE SERVER sec_rt FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url', rate_limit 'none');
CREATE USER MAPPING FOR sec_alice SERVER sec_cc
    OPTIONS (client_id 'test-client', client_secret :'client_secret', scope 'crm.objects.deals.read');
CREATE USER MAPPING FOR sec_eve SERVER sec_cc
    OPTIONS (client_id 'test-client', client_secret 'not-the-secret', scope 'crm.objects.deals.read');
CREATE USER MAPPING FOR sec_alice SERVER sec_rt
    OPTIONS (client_id 'test-client', client_secret :'client_secret', refresh_token :'refresh');
CREATE USER MAPPING FOR sec_eve SERVER sec_rt
    OPTIONS (client_id 'test-client', client_secret 'not-the-secret', refresh_token :'refresh');
CREATE SCHEMA sec_o;
CREATE FOREIGN TABLE sec_o.cc_deals (id text) SERVER sec_cc OPTIONS (object 'deals');
CREATE FOREIGN TABLE sec_o.rt_deals (id text) SERVER sec_rt OPTIONS (object 'deals');
GRANT USAGE ON SCHEMA sec_o TO sec_alice, sec_eve;
GRANT SELECT ON sec_o.cc_deals, sec_o.rt_deals TO sec_alice, sec_eve;
GRANT USAGE ON FOREIGN SERVER sec_cc, sec_rt TO sec_alice, sec_eve;
SQL

# One backend, two roles.
out=$(psql -X -At -d "$DB" 2>&1 <<'SQL'
SET ROLE sec_alice;
SELECT 'alice cc ' || (count(*) > 0) FROM sec_o.cc_deals;
SET ROLE sec_eve;
SELECT 'eve cc ' || count(*) FROM sec_o.cc_deals;
RESET ROLE;
SET ROLE sec_alice;
SELECT 'alice rt ' || (count(*) > 0) FROM sec_o.rt_deals;
SET ROLE sec_eve;
SELECT 'eve rt ' || count(*) FROM sec_o.rt_deals;
SQL
)
case "$out" in *"alice cc true"*"alice rt true"*) ;; *) fail "sec_alice could not read with her tokens: $out" ;; esac
case "$out" in *"eve cc"*|*"eve rt"*) fail "sec_eve was served sec_alice's cached token: $out" ;; esac
[ "$(echo "$out" | grep -c "OAuth2 token request failed: the client credentials were refused\|OAuth2 token request failed: the refresh token was refused")" = 2 ] \
    || fail "sec_eve's token requests were not refused by the token endpoint with her own error: $out"
ok "in one backend, sec_eve's wrong client secret is refused even after sec_alice's tokens are cached"

# Rotation: each refresh answers a new refresh token and revokes the one used.
control "oauth?rotate=1"
trap 'curl -sf -X POST "$FAKE_URL/_control/oauth?rotate=0" >/dev/null || true' EXIT
for session in 1 2 3; do
    got=$(as sec_alice "SELECT count(*) > 0 FROM sec_o.rt_deals" 2>&1 || true)
    [ "$got" = t ] || fail "session $session of sec_alice could not read after the provider rotated her refresh token: $got"
done
ok "three sessions in a row refresh with the rotated token (each one revoking the last)"

files=$(find "$PGDATA_DIR/pg_tether/oauth" -type f ! -name '*.lock' 2>/dev/null | wc -l)
[ "$files" -ge 1 ] || fail "no saved refresh token under $PGDATA_DIR/pg_tether/oauth"
bad=$(find "$PGDATA_DIR/pg_tether" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) | head -3)
[ -z "$bad" ] || fail "the token store is readable by others: $bad"
ok "saved refresh tokens are files of mode 0600 in a 0700 directory of the data directory"

control "oauth?rotate=0"
drop_role sec_alice
drop_role sec_eve
q "DROP SERVER sec_cc, sec_rt CASCADE; DROP SCHEMA sec_o CASCADE" >/dev/null
echo "ok: oauth tokens"
