#!/usr/bin/env bash
# Hole 8: tether.request read a whole answer (up to 256 MB) into parsed JSON values and copied it, so
# an answer of small values ([0,0,0,...], 100 MB) took gigabytes of the backend's memory. Answers are
# now measured before they are parsed: over tether.max_answer_memory (128 MB by default) they are
# refused with an error naming the setting, and the backend stays small. tether.request_pages too.
. "$(dirname "$0")/lib.sh"

ensure_database
roles sec_mallory
q "SET client_min_messages = warning; DROP SERVER IF EXISTS sec_mem CASCADE" >/dev/null
q "CREATE SERVER sec_mem FOREIGN DATA WRAPPER tether OPTIONS (connector 'rest', base_url '$FAKE_URL');
   GRANT USAGE ON FOREIGN SERVER sec_mem TO sec_mallory" >/dev/null
as sec_mallory "CREATE USER MAPPING FOR CURRENT_USER SERVER sec_mem" >/dev/null

out=$(psql -X -At -U sec_mallory -d "$DB" 2>&1 <<'SQL'
SELECT pg_backend_pid() AS pid \gset
SELECT jsonb_array_length(tether.request('sec_mem', 'GET', '/faults/zeros', '{"count": 100000}')) AS small;
SELECT tether.request('sec_mem', 'GET', '/faults/zeros', '{"count": 50000000}') IS NOT NULL AS huge;
SELECT count(*) AS huge_pages FROM tether.request_pages('sec_mem', 'GET', '/faults/zeros', '{"count": 50000000}', records_path => '', pagination => '"none"');
SET tether.max_answer_memory = '1MB';
SELECT jsonb_array_length(tether.request('sec_mem', 'GET', '/faults/zeros', '{"count": 100000}')) AS small_under_1MB;
SELECT 'still here';
\setenv BACKEND_PID :pid
\! grep VmHWM /proc/$BACKEND_PID/status
SQL
)
echo "$out" | grep -qx 100000 || fail "a small answer was not returned: $out"
[ "$(echo "$out" | grep -c 'more than tether.max_answer_memory (128 MB)')" = 2 ] \
    || fail "the huge answers were not refused (tether.request and request_pages): $out"
echo "$out" | grep -q 'more than tether.max_answer_memory (1 MB)' || fail "the lowered setting was not applied: $out"
echo "$out" | grep -qx 'still here' || fail "the session did not survive: $out"
peak_kb=$(echo "$out" | awk '/VmHWM/ { print $2 }')
[ -n "$peak_kb" ] || fail "could not read the backend's peak memory: $out"
# The body itself (100 MB) is read; its parsed form (about 1.6 GB) never is.
[ "$peak_kb" -lt $((500 * 1024)) ] || fail "the backend's memory peaked at $((peak_kb / 1024)) MB"
ok "100 MB answers of zeros are refused before parsing (peak $((peak_kb / 1024)) MB); small ones work; the setting applies"

drop_role sec_mallory
q "DROP SERVER sec_mem CASCADE" >/dev/null
echo "ok: answer memory"
