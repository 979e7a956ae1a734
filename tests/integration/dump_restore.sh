#!/usr/bin/env bash
# pg_dump and pg_restore keep registered connectors: the dump restores servers and foreign tables
# before the rows of tether.user_connectors, and the restored tables work.
# Run by scripts/test with PGHOST/PGPORT/PGUSER and FAKE_URL set.
set -euo pipefail

SRC=tether_dump_src
DST=tether_dump_dst
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for db in $SRC $DST; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
psql -X -q -d "$SRC" -v ON_ERROR_STOP=1 -v fake_url="$FAKE_URL" >/dev/null <<'SQL'
CREATE EXTENSION tether;
SELECT tether.register_connector('{
  "name": "items_api",
  "base_url": "https://items.invalid",
  "objects": {"items": {
    "list": {"path": "/rest/page/items", "records": "/data",
             "page_size": {"param": "per_page", "default": 10},
             "pagination": {"style": "page", "param": "page", "total_pages": "/meta/pagination/total_pages"}},
    "columns": [{"name": "id", "type": "integer", "pointer": "/id"}, {"name": "name", "type": "text", "pointer": "/name"}]
  }}
}');
CREATE SERVER items FOREIGN DATA WRAPPER tether OPTIONS (connector 'items_api', base_url :'fake_url');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA items_api FROM SERVER items INTO shop;
SQL
before=$(psql -X -At -d "$SRC" -c "SELECT count(*) FROM shop.items")
[ "$before" -gt 0 ] || fail "no rows before the dump"

# pg_dump runs as the postgres user, like the server; the dump file goes where it can write.
pg_dump -Fc -d "$SRC" -f "$WORK/src.dump"
pg_restore --exit-on-error -d "$DST" "$WORK/src.dump" || fail "pg_restore failed"

after=$(psql -X -At -d "$DST" -c "SELECT count(*) FROM shop.items")
[ "$after" = "$before" ] || fail "restored table has $after rows, expected $before"
name=$(psql -X -At -d "$DST" -c "SELECT name FROM tether.user_connectors")
[ "$name" = items_api ] || fail "the registered connector was not restored (got \"$name\")"
echo "dump and restore kept the registered connector and its tables ($after rows)"

for db in $SRC $DST; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db"
done
