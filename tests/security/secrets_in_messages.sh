#!/usr/bin/env bash
# Hole 2: credentials must not reach anything a role can read. sec_mallory has USAGE on servers whose
# credentials live in PUBLIC user mappings the server owner created (so mallory uses the keys without
# being able to read them). She provokes every error and echo she can: a stalled request with
# auth 'api_key_query' (the key is in the URL), an API that echoes requests (the fake provider's
# request log, read through tether.request and tether.request_pages: it holds the URL with the key and
# the Authorization headers), EXPLAIN, a mirror whose refresh fails, OAuth2 token and API refusals.
# None of the secrets may appear in what she sees (message, DETAIL, HINT, CONTEXT, rows), in the
# tether.* tables, or in the server log; the places where the secret would be (the URL shown) must
# say [redacted].
. "$(dirname "$0")/lib.sh"

LOG=${TETHER_PG_LOG:-$PGHOST/postgres.log}
[ -f "$LOG" ] || fail "server log $LOG not found (set TETHER_PG_LOG)"
run=$(date +%s%N | sha256sum | cut -c1-12)
KEY="tsec-apikey-$run"
TOKEN="tsec-bearer-$run"
PASSWORD="tsec-password-$run"
REFRESH="rt-tsec-refresh-$run"
SECRETS=("$KEY" "$TOKEN" "$PASSWORD" "$REFRESH" "$(printf 'svc:%s' "$PASSWORD" | base64)" "$TETHER_TEST_CLIENT_SECRET")
OUT=$(mktemp)
trap '[ -n "${KEEP_OUT:-}" ] || rm -f "$OUT"' EXIT

ensure_database
roles sec_mallory
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_kq, sec_basic, sec_bearer, sec_oauth CASCADE;
   DROP SCHEMA IF EXISTS sec CASCADE" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" -v token_url="$FAKE_URL/oauth/v1/token" -v key="$KEY" -v token="$TOKEN" \
    -v password="$PASSWORD" -v refresh="$REFRESH" -v client_secret="$TETHER_TEST_CLIENT_SECRET" <<'SQL'
CREATE SERVER sec_kq FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'rest', base_url :'fake_url', auth 'api_key_query', read_timeout '300ms', max_retries '0');
CREATE USER MAPPING FOR PUBLIC SERVER sec_kq OPTIONS (api_key :'key');
CREATE SERVER sec_basic FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url', auth 'basic');
CREATE USER MAPPING FOR PUBLIC SERVER sec_basic OPTIONS (user 'svc', password :'password');
CREATE SERVER sec_bearer FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url :'fake_url', max_retries '0');
CREATE USER MAPPING FOR PUBLIC SERVER sec_bearer OPTIONS (token :'token');
CREATE SERVER sec_oauth FOREIGN DATA WRAPPER tether
    OPTIONS (connector 'hubspot', base_url :'fake_url', auth 'oauth2', token_url :'token_url', max_retries '0');
CREATE USER MAPPING FOR PUBLIC SERVER sec_oauth
    OPTIONS (client_id 'test-client', client_secret :'client_secret', refresh_token :'refresh');
GRANT USAGE ON FOREIGN SERVER sec_kq, sec_basic, sec_bearer, sec_oauth TO sec_mallory;
CREATE SCHEMA sec;
GRANT USAGE, CREATE ON SCHEMA sec TO sec_mallory;
CREATE FOREIGN TABLE sec.stalled (id int) SERVER sec_kq OPTIONS (path '/faults/stall');
CREATE FOREIGN TABLE sec.items (id text, name text) SERVER sec_kq OPTIONS (path '/items', records '/items');
CREATE FOREIGN TABLE sec.contacts (id text, email text) SERVER sec_oauth OPTIONS (object 'contacts');
GRANT SELECT ON sec.stalled, sec.items, sec.contacts TO sec_mallory;
SQL

# The request log starts empty, so that it echoes what mallory's statements sent (other tests' requests in
# it carry credentials of other sessions, which hers has never used and cannot recognise).
curl -sf "$FAKE_URL/_control/reset" >/dev/null || fail "could not reset the fake provider"
# The API refuses the OAuth2 access token twice: renewed once, then reported.
curl -sf "$FAKE_URL/_control/inject?status=401&times=2&path_prefix=/crm" >/dev/null || fail "could not inject 401s"

# Everything mallory sees, in psql's most talkative form.
psql -X -U sec_mallory -d "$DB" -v VERBOSITY=verbose -v fake_url="$FAKE_URL" >"$OUT" 2>&1 <<'SQL'
\set VERBOSITY verbose
SELECT * FROM sec.stalled;
SELECT tether.request('sec_kq', 'GET', '/faults/stall');
SELECT count(*) FROM sec.items;
EXPLAIN (VERBOSE) SELECT * FROM sec.items WHERE id = '3';
-- APIs that echo the request: the fake provider's log of what it received.
SELECT tether.request('sec_kq', 'GET', '/_control/requests', raw => true);
SELECT tether.request('sec_basic', 'GET', '/_control/requests');
SELECT tether.request('sec_bearer', 'GET', '/_control/requests');
SELECT r FROM tether.request_pages('sec_bearer', 'GET', '/_control/requests', records_path => '/requests', pagination => '"none"') r;
-- A refused call: the error shows the body.
SELECT tether.request('sec_bearer', 'GET', '/auth/bearer/items');
-- OAuth2: a token, then the API refuses it twice (renewed once, then reported); then it works.
SELECT count(*) FROM sec.contacts;
SELECT count(*) > 0 AS read_with_a_token FROM sec.contacts;
SELECT tether.request('sec_oauth', 'GET', '/_control/requests', raw => true);
-- A mirror whose refresh fails.
SELECT tether.mirror('sec.stalled', 'sec.m_stalled', every => '1 hour') IS NOT NULL AS created;
SQL

grep -q "api_key=\[redacted\]" "$OUT" || { cat "$OUT"; fail "the stalled request's URL is not shown with its key redacted"; }
grep -q "did not answer within read_timeout" "$OUT" || { cat "$OUT"; fail "the stalled request did not fail as expected"; }
grep -q '"query": "api_key=\[redacted\]"' "$OUT" || { cat "$OUT"; fail "the echoed request log does not show the key redacted"; }
grep -q "Tether Request" "$OUT" || { cat "$OUT"; fail "EXPLAIN did not run"; }
grep -q "injected failure 401" "$OUT" || { cat "$OUT"; fail "the API's refusal of the OAuth2 token was not reported"; }
grep -q "authorization.*Bearer \[redacted\]" "$OUT" || { cat "$OUT"; fail "the echoed bearer token is not redacted"; }
ok "mallory saw the URLs with their keys redacted"

synced sec.m_stalled 30 >/dev/null
[ "$(q "SELECT state FROM tether.mirrors WHERE mirror = 'sec.m_stalled'::regclass")" = error ] \
    || fail "the mirror of a stalling source should be in error"

leaks() { # leaks WHAT FILE: fail if any secret is in FILE (showing where, with the secret masked)
    local s line
    for s in "${SECRETS[@]}"; do
        if grep -qF -- "$s" "$2"; then
            grep -nF -- "$s" "$2" | head -5 | while IFS= read -r line; do echo "${line//"$s"/<secret>}" >&2; done
            fail "a secret leaked into $1"
        fi
    done
}
leaks "what sec_mallory saw" "$OUT"
ok "none of the secrets is in what sec_mallory saw ($(wc -l <"$OUT") lines)"

psql -X -At -d "$DB" >"$OUT" <<'SQL'
SELECT * FROM tether.mirror_config;
SELECT * FROM tether.sync_runs;
SELECT * FROM tether.webhook_events;
SELECT * FROM tether.mirrors;
SQL
leaks "the tether tables" "$OUT"
grep -q "read_timeout" "$OUT" || fail "the mirror's error was not recorded"
ok "none of the secrets is in the tether tables"
leaks "the server log" "$LOG"
ok "none of the secrets is in the server log"

drop_role sec_mallory
q "DROP SERVER sec_kq, sec_basic, sec_bearer, sec_oauth CASCADE; DROP SCHEMA sec CASCADE" >/dev/null
echo "ok: secrets in messages"
