#!/usr/bin/env bash
# docs/install.md followed step by step on a server that has never seen Tether: a copy of the
# PostgreSQL 18 tree (relocatable, from its wheel) with no Tether files in it, the tarball that
# scripts/package builds (a debug build, to reuse the suite's; the release build differs only in
# optimisation), its install.sh against the copy's pg_config, a fresh cluster configured with the
# guide's postgresql.conf lines, CREATE EXTENSION, the guide's grants, and then an ordinary role
# doing what the guide says it can: a server, a user mapping, IMPORT FOREIGN SCHEMA, a mirror that the
# worker fills. Also: install.sh refuses a server of another major. The configuration and the grants
# are read from docs/install.md (the blocks after "<!-- install-guide: conf -->" and "grants"), so the
# page and the test cannot drift apart. Runs on PostgreSQL 18 (the other majors say so and pass).
# Run by scripts/test with FAKE_URL set.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$PG_MAJOR" != 18 ]; then
    echo "skipped on PostgreSQL $PG_MAJOR: the guide is followed on a copy of the relocatable PostgreSQL 18 tree"
    exit 0
fi
: "${FAKE_URL:?FAKE_URL is not set (scripts/test sets it)}"
GUIDE=$TETHER_ROOT/docs/install.md
DIR=$(mktemp -d /tmp/tether-install.XXXXXX)
chmod 755 "$DIR"
SERVER=$DIR/server/${PG_WHEEL_TREE[18]}
keep_logs() {
    [ -n "${TETHER_LOG_DIR:-}" ] || return 0
    mkdir -p "$TETHER_LOG_DIR/install-guide"
    cp "$DIR"/cluster/*.log "$TETHER_LOG_DIR/install-guide/" 2>/dev/null || true
}
# The cluster runs on the copy's programs: start_pg and stop_pg (scripts/lib.sh) with its PG_BIN.
trap 'PG_BIN=$SERVER/bin stop_pg "$DIR/cluster"; keep_logs; rm -rf "$DIR"' EXIT

# block MARKER: the fenced block that follows "<!-- install-guide: MARKER -->" in the guide.
block() {
    awk -v m="<!-- install-guide: $1 -->" '
        $0 == m { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$GUIDE"
}
conf=$(block conf)
grants=$(block grants)
[ -n "$conf" ] && [ -n "$grants" ] || fail "docs/install.md lost its marked configuration or grants block"

# A server without Tether: the PostgreSQL 18 tree, copied, its Tether files (from the suite) removed.
cp -a "$TETHER_PG_ROOT/18" "$DIR/server"
rm -f "$SERVER/lib/tether.so" "$SERVER"/share/extension/tether*
PGC=$SERVER/bin/pg_config
[ ! -e "$("$PGC" --pkglibdir)/tether.so" ] || fail "the copy still has tether.so"

# Steps 1 and 2: the tarball, and its install.sh with the server's pg_config.
"$TETHER_ROOT/scripts/package" --pg 18 --debug --out "$DIR/pkg" >"$DIR/package.log" 2>&1 \
    || { tail -20 "$DIR/package.log"; fail "scripts/package failed"; }
tarball=$(ls "$DIR"/pkg/tether-*-pg18-linux-*.tar.gz)
tar -xzf "$tarball" -C "$DIR/pkg"
installer=$(ls "$DIR"/pkg/tether-*-pg18-linux-*/install.sh)
if "$installer" /usr/lib/postgresql/15/bin/pg_config >"$DIR/wrong.out" 2>&1; then
    fail "install.sh installed the PostgreSQL 18 build into PostgreSQL 15"
fi
grep -q "this package is for PostgreSQL 18; /usr/lib/postgresql/15/bin/pg_config is PostgreSQL 15" "$DIR/wrong.out" \
    || fail "install.sh's refusal does not say why: $(cat "$DIR/wrong.out")"
"$installer" "$PGC" >/dev/null
version=$(tether_version)
for f in "$("$PGC" --pkglibdir)/tether.so" "$("$PGC" --sharedir)/extension/tether.control" \
    "$("$PGC" --sharedir)/extension/tether--$version.sql"; do
    [ -f "$f" ] || fail "install.sh did not install $f"
done
ls "$("$PGC" --sharedir)"/extension/tether--*--"$version".sql >/dev/null 2>&1 || fail "install.sh installed no update script"
echo "ok: scripts/package made $(basename "$tarball"); its install.sh installed it (and refused PostgreSQL 15)"

# Step 3: a fresh cluster with the guide's postgresql.conf lines.
mkdir -p "$DIR/cluster"
chown postgres "$DIR/cluster"
runuser -u postgres -- "$SERVER/bin/initdb" -D "$DIR/cluster/data" -A trust -U postgres --no-instructions >"$DIR/cluster/initdb.log" 2>&1 \
    || { cat "$DIR/cluster/initdb.log"; fail "initdb failed"; }
printf '%s\n' "$conf" >>"$DIR/cluster/data/postgresql.conf"
db=$(printf '%s\n' "$conf" | sed -n "s/^tether.database = '\([a-z_]*\)'.*/\1/p")
[ -n "$db" ] || fail "the guide's configuration names no tether.database"
PG_BIN=$SERVER/bin start_pg "$DIR/cluster"
sql() { "$SERVER/bin/psql" -X -At -v ON_ERROR_STOP=1 "$@"; }

# Steps 4 and 5: the extension, and the guide's grants.
sql -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
sql -U postgres -d "$db" -c "CREATE EXTENSION tether" >/dev/null
[ "$(sql -U postgres -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'tether'")" = "$version" ] \
    || fail "CREATE EXTENSION did not make version $version"
printf '%s\n' "$grants" | sql -U postgres -d "$db" >/dev/null
role=$(printf '%s\n' "$grants" | sed -n 's/^CREATE ROLE \([a-z_]*\) LOGIN;/\1/p')
[ -n "$role" ] || fail "the guide's grants create no role"
[ "$(sql -U postgres -d "$db" -c "SELECT rolsuper FROM pg_roles WHERE rolname = '$role'")" = f ] || fail "$role is a superuser"

# What the guide says the role can then do on its own, against the fake HubSpot.
sql -U "$role" -d "$db" -v url="$FAKE_URL" -v token="$TETHER_TEST_TOKEN" >/dev/null <<'SQL'
CREATE SERVER hubspot FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot', base_url :'url', rate_limit 'none');
CREATE USER MAPPING FOR CURRENT_USER SERVER hubspot OPTIONS (token :'token');
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts) FROM SERVER hubspot INTO crm;
SELECT tether.mirror('crm.contacts', 'crm.local_contacts');
SQL
remote=$(sql -U "$role" -d "$db" -c "SELECT count(*) FROM crm.contacts")
[ "$remote" -gt 0 ] || fail "$role read no contacts"
for _ in $(seq 1 150); do
    [ "$(sql -U "$role" -d "$db" -c "SELECT count(*) FROM crm.local_contacts")" = "$remote" ] && break
    sleep 0.2
done
[ "$(sql -U "$role" -d "$db" -c "SELECT count(*) FROM crm.local_contacts")" = "$remote" ] \
    || fail "the worker did not fill $role's mirror ($(sql -U "$role" -d "$db" -c "SELECT state || ' ' || coalesce(last_error, '') FROM tether.mirrors"))"
echo "ok: following docs/install.md, $role (no superuser) made a server, a mapping, imported contacts and mirrored them ($remote rows)"
