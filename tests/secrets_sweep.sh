#!/usr/bin/env bash
# The secrets sweep: fails when a secret of the test run shows up where nobody should read it. Run by
# scripts/test as its last step, after the SQL scenarios, integration and security tests (also when
# they failed), while the test cluster and the fake provider still run.
#
# What it looks for:
#   - every TETHER_TEST_* variable of the environment (the run's secrets, defined in scripts/lib.sh),
#     also URL-encoded, and the Basic credentials (base64 of TETHER_BASIC_USER:TETHER_TEST_BASIC_PASSWORD);
#   - every access and refresh token the fake provider issued or revoked ($FAKE_URL/_control/oauth_tokens),
#     as whole tokens (at-1 is not found in at-10);
#   - the marker tsec, which every secret of the run contains, the random ones of tests/security too.
# Where:
#   - every file under the run's directory (WORK, default $TETHER_LOG_DIR): the server logs
#     (pg/postgres.log, and those of clusters integration tests start), the SQL scenarios' results
#     (regress/results) and isolation specs' (isolation/results), what each integration and security
#     test printed (logs/), except the data directories of clusters, the fake provider's own files
#     (fake.*: what the provider received is provider-side, what a test printed of it is client output
#     and is in logs/ or the results) and the regression.diffs (the expected output next to the results);
#   - every table of schema tether, in every database of the cluster (PGHOST, PGPORT) that has the
#     extension.
# A hit names the place (file and line, or database, table and row) and the secret by its variable
# name, and shows the line with the secret replaced by <$NAME>: the sweep never prints a secret.
#
# Usage: tests/secrets_sweep.sh [--self-test] [WORK]
#   --self-test plants a known secret in a file of a scratch directory and in a table of a scratch
#   database (tether_sweep_selftest), and checks that the sweep reports both, and nothing once they
#   are gone.

# shellcheck source=../scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"

self_test=0
WORK=${TETHER_LOG_DIR:-}
for arg in "$@"; do
    case "$arg" in
        --self-test) self_test=1 ;;
        -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
        -*) die "unknown argument \"$arg\"; accepted: --self-test, WORK" ;;
        *) WORK=$arg ;;
    esac
done

# dump_tables DIR DB...: the rows of every table of schema tether of each DB that has the extension, one
# file per table (DIR/<db>/<table>, COPY's text format, one row a line). Exits (set -e) when a database
# does not answer: then it was not searched.
dump_tables() {
    local dir=$1 db t tables has
    shift
    for db in "$@"; do
        has=$(psql -X -At -d "$db" -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM pg_extension WHERE extname = 'tether'")
        [ "$has" = 1 ] || continue
        mkdir -p "$dir/$db"
        tables=$(psql -X -At -d "$db" -v ON_ERROR_STOP=1 \
            -c "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'tether' ORDER BY 1")
        while IFS= read -r t; do
            [ -n "$t" ] || continue
            psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c "COPY (SELECT * FROM tether.$t) TO STDOUT" >"$dir/$db/${t//\//_}"
        done <<<"$tables"
    done
}

databases() {
    psql -X -At -d postgres -v ON_ERROR_STOP=1 -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
}

# issued_tokens FILE: what the fake provider issued, as JSON {access_tokens, refresh_tokens, revoked_refresh_tokens}.
issued_tokens() {
    python3 - "${FAKE_URL:?FAKE_URL is not set (scripts/test sets it)}/_control/oauth_tokens" >"$1" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
    sys.stdout.write(r.read().decode())
PY
}

# search WORK TABLES_DIR TOKENS_FILE: search the files under WORK and the table dumps; prints each hit,
# exits 1 if there is one.
search() {
    python3 - "$@" <<'PY'
import base64, json, os, re, sys, urllib.parse

work, tables_dir, tokens_file = sys.argv[1:4]
MARKER = "tsec"

# Named secrets: (label, value), longest value first so that a longer secret is named before a shorter
# one it contains.
named = []
for name, value in os.environ.items():
    if name.startswith("TETHER_TEST_") and value:
        named.append((f"${name}", value))
        for encoded in {urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe="")} - {value}:
            named.append((f"${name} URL-encoded", encoded))
if os.environ.get("TETHER_TEST_BASIC_PASSWORD"):
    user = os.environ.get("TETHER_BASIC_USER", "test-user")
    basic = base64.b64encode(f"{user}:{os.environ['TETHER_TEST_BASIC_PASSWORD']}".encode()).decode()
    named.append(("$TETHER_TEST_BASIC_PASSWORD as Basic credentials", basic))
named.sort(key=lambda s: -len(s[1]))

# Tokens the fake provider issued: whole tokens only (at-1 is not a hit in at-10 or what-1).
issued = json.load(open(tokens_file))
kinds = {"access_tokens": "an issued access token", "refresh_tokens": "an issued refresh token",
         "revoked_refresh_tokens": "a revoked refresh token"}
tokens = []
for key, label in kinds.items():
    for t in sorted(set(issued.get(key, [])), key=len, reverse=True):
        if t:
            tokens.append((label, re.compile(r"(?<![A-Za-z0-9_])" + re.escape(t) + r"(?![A-Za-z0-9_])")))
marked = re.compile(r"[^\s'\"&=,;:()\[\]{}<>|\\]*" + MARKER + r"[^\s'\"&=,;:()\[\]{}<>|\\]*")


def redact(line):
    """(what was found, the line with each secret replaced by its name)"""
    found = []
    for label, value in named:
        if value in line:
            found.append(label)
            line = line.replace(value, f"<{label}>")
    for label, rx in tokens:
        if rx.search(line):
            found.append(label)
            line = rx.sub(f"<{label.split(' ', 1)[1]}>", line)
    if MARKER in line:
        found.append("the tsec marker")
        line = marked.sub("<marked secret>", line)
    return list(dict.fromkeys(found)), line


def shown(line, width=240):
    line = line.rstrip("\r")
    if len(line) <= width:
        return line
    at = max(line.find("<"), 0)
    start = max(at - width // 2, 0)
    return ("…" if start else "") + line[start:start + width] + "…"


leaks = 0
places = 0


def sweep(path, where):
    """Search one file; where(n) names line n."""
    global leaks, places
    places += 1
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    reported = 0
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        found, clean = redact(line)
        if not found:
            continue
        leaks += 1
        reported += 1
        if reported <= 20:
            print(f"LEAK in {where(n)}: {', '.join(found)}")
            print(f"    {shown(clean)}")
    if reported > 20:
        print(f"    ... and {reported - 20} more lines there")


# Not client output: the fake provider's own files (what it received is provider-side), and pg_regress's
# diffs, which hold the expected output next to the results (searched in regress/results).
skipped = {os.path.join(work, step, "regression.diffs") for step in ("regress", "isolation")}
for root, dirs, files in os.walk(work):
    # A cluster's data directory holds the secrets by design (catalogs, WAL, the token store).
    dirs[:] = sorted(d for d in dirs if not os.path.exists(os.path.join(root, d, "PG_VERSION")))
    for name in sorted(files):
        path = os.path.join(root, name)
        if not os.path.isfile(path) or os.path.islink(path) or path in skipped or (root == work and name.startswith("fake.")):
            continue
        sweep(path, lambda n, p=path: f"{p}:{n}")

for db in sorted(os.listdir(tables_dir)):
    for table in sorted(os.listdir(os.path.join(tables_dir, db))):
        sweep(os.path.join(tables_dir, db, table), lambda n, d=db, t=table: f"table tether.{t} of database {d}, row {n}")

what = f"{len(named)} secret values, {sum(len(set(issued.get(k, []))) for k in kinds)} issued tokens and the marker"
if leaks:
    print(f"secrets sweep: {leaks} leak(s) in {work} and the tether tables ({places} files and tables searched for {what})")
    sys.exit(1)
print(f"secrets sweep: no leak ({places} files and tables searched for {what})")
PY
}

SCRATCH=$(mktemp -d /tmp/tether-sweep.XXXXXX)
SELFTEST_DB=tether_sweep_selftest
cleanup() {
    rm -rf "$SCRATCH"
    if [ $self_test = 1 ]; then
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SELFTEST_DB" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

psql -X -At -d postgres -c "SELECT 1" >/dev/null || die "secrets sweep: the test cluster does not answer (PGHOST=${PGHOST:-}, PGPORT=${PGPORT:-}): nothing was searched"

if [ $self_test = 0 ]; then
    [ -d "${WORK:-}" ] || die "secrets sweep: no directory to search (give WORK or set TETHER_LOG_DIR)"
    issued_tokens "$SCRATCH/tokens.json" || die "secrets sweep: could not read the tokens the fake provider issued from $FAKE_URL"
    mapfile -t dbs < <(databases)
    [ ${#dbs[@]} -gt 0 ] || die "secrets sweep: could not list the cluster's databases"
    dump_tables "$SCRATCH/tables" "${dbs[@]}"
    mkdir -p "$SCRATCH/tables"
    search "$WORK" "$SCRATCH/tables" "$SCRATCH/tokens.json"
    exit
fi

# Self-test: a file and a table with a secret planted in each, a whole issued token and a random secret
# with the marker in the file; nothing must be reported once they are gone.
out=""
fail() {
    while IFS= read -r line; do echo "    self-test: $line"; done <<<"$out"
    echo "secrets sweep self-test FAILED: $*" >&2
    exit 1
}
planted_marker="tsec-selftest-$(date +%s%N | sha256sum | cut -c1-12)"
mkdir -p "$SCRATCH/work/logs" "$SCRATCH/tables"
printf '{"access_tokens": ["at-424242"], "refresh_tokens": [], "revoked_refresh_tokens": []}' >"$SCRATCH/tokens.json"
{
    echo "a line without secrets, only at-4242420, which is not the token issued (no hit)"
    echo "Authorization: Bearer $TETHER_TEST_TOKEN"
    echo "token at-424242 sent"
    echo "api_key=$planted_marker"
} >"$SCRATCH/work/logs/planted.log"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $SELFTEST_DB" \
    -c "CREATE DATABASE $SELFTEST_DB" >/dev/null
psql -X -q -d "$SELFTEST_DB" -v ON_ERROR_STOP=1 -v secret="$TETHER_TEST_CLIENT_SECRET" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tether;
CREATE TABLE tether.sweep_selftest (note text);
INSERT INTO tether.sweep_selftest VALUES ('nothing here'), ('client_secret=' || :'secret');
SQL
dump_tables "$SCRATCH/tables" "$SELFTEST_DB"

status=0
out=$(search "$SCRATCH/work" "$SCRATCH/tables" "$SCRATCH/tokens.json") || status=$?
[ $status = 1 ] || fail "the sweep did not fail on planted secrets (exit status $status)"
expect() { grep -qF -- "$1" <<<"$out" || fail "the sweep did not report $2"; }
expect "planted.log:2: \$TETHER_TEST_TOKEN" "the token planted in a file (line 2)"
expect "Authorization: Bearer <\$TETHER_TEST_TOKEN>" "the line of the file with the token replaced by its name"
expect "planted.log:3: an issued access token" "the issued token planted in a file (line 3)"
expect "planted.log:4: the tsec marker" "the random secret with the marker planted in a file (line 4)"
expect "table tether.sweep_selftest of database $SELFTEST_DB, row 2: \$TETHER_TEST_CLIENT_SECRET" \
    "the client secret planted in a table (row 2)"
if grep -q "planted.log:1:" <<<"$out"; then fail "the sweep reported line 1, which has no secret"; fi
for s in "$TETHER_TEST_TOKEN" "$TETHER_TEST_CLIENT_SECRET" "$planted_marker" at-424242; do
    if grep -qF -- "$s" <<<"$out"; then fail "the sweep printed a secret it found"; fi
done

# Without the planted secrets: no hit.
rm -rf "${SCRATCH:?}/tables"
head -1 "$SCRATCH/work/logs/planted.log" >"$SCRATCH/work/logs/clean.log"
rm "$SCRATCH/work/logs/planted.log"
psql -X -q -d "$SELFTEST_DB" -v ON_ERROR_STOP=1 -c "DELETE FROM tether.sweep_selftest WHERE note <> 'nothing here'" >/dev/null
dump_tables "$SCRATCH/tables" "$SELFTEST_DB"
out=$(search "$SCRATCH/work" "$SCRATCH/tables" "$SCRATCH/tokens.json") || fail "the sweep reported a leak where there is none"
echo "secrets sweep self-test: ok (planted secrets in a file and a table reported by name, never printed; none reported once removed)"
