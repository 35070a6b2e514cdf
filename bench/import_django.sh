#!/usr/bin/env bash
# The cutover benchmark: how long `auth-server import-django` takes for a large Django database.
#
#   bash bench/import_django.sh [USERS] [--postgres]
#
# Makes (once, cached under $BENCH_CACHE, default ~/.cache/auth-server/bench) a Django 5.2
# SQLite database with USERS users (default 100000), a profile each and two simplejwt
# outstanding tokens each (a tenth blacklisted), with real Django (tests/django/fixture.py
# --bulk). Then builds the release binary and imports it into a fresh SQLite database (or a fresh
# PostgreSQL database with --postgres), then imports again (the no-op re-run), and prints the wall
# time and peak RSS of each. The issue's target: 100,000 users and 200,000 tokens under 60 s on
# SQLite. Needs a Python with Django and simplejwt in $BENCH_DJANGO_PYTHON (default: the venv
# .ci/run makes, ~/.cache/auth-server/django-venv/bin/python).
set -Eeuo pipefail

USERS=100000
POSTGRES=0
for arg in "$@"; do
    case $arg in
        --postgres) POSTGRES=1 ;;
        [0-9]*) USERS=$arg ;;
        *) echo "import_django.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${BENCH_DJANGO_PYTHON:-${HOME:-/root}/.cache/auth-server/django-venv/bin/python}
CACHE=${BENCH_CACHE:-${HOME:-/root}/.cache/auth-server/bench}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
mkdir -p "$CACHE"

source_db="$CACHE/django-$USERS.sqlite3"
if [ ! -f "$source_db" ]; then
    echo "==> making a Django database with $USERS users (once; cached at $source_db)"
    rm -f "$source_db.tmp"
    "$PYTHON" "$REPO/crates/server/tests/django/fixture.py" \
        --database "sqlite:///$source_db.tmp" --secret-key bench-secret-key --bulk "$USERS" >/dev/null
    mv "$source_db.tmp" "$source_db"
fi

echo "==> building the release binary"
(cd "$REPO" && cargo build --release --locked --bin auth-server --quiet)
binary="$TARGET_DIR/release/auth-server"

work=$(mktemp -d)
pg_name=""
cleanup() {
    rm -rf "$work"
    if [ -n "$pg_name" ]; then
        psql -q "${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
            -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null || true
    fi
}
trap cleanup EXIT

if ((POSTGRES)); then
    admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    pg_name="auth_bench_import_$$"
    psql -q "$admin" -c "CREATE DATABASE $pg_name" >/dev/null
    target_url="${admin%/*}/$pg_name"
    backend=postgres
else
    target_url="sqlite://$work/target.sqlite3"
    backend=sqlite
fi

run() {
    # run LABEL: one import, timed; the summary's first lines and the time.
    local label=$1
    (cd "$work" && env -i PATH="$PATH" AUTH_CONFIG_DIR="$REPO/config" AUTH_ENV=test \
        DATABASE_URL="$target_url" /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" \
        "$binary" import-django --from "$source_db" 2>"$work/stderr" >"$work/stdout") || {
        cat "$work/stdout" "$work/stderr" >&2
        exit 1
    }
    grep -E '^(users|refresh tokens):' "$work/stdout"
    tail -n 1 "$work/stderr"
}

(cd "$work" && env -i PATH="$PATH" AUTH_CONFIG_DIR="$REPO/config" AUTH_ENV=test \
    DATABASE_URL="$target_url" "$binary" migrate >/dev/null)
echo "==> importing $USERS users, $((2 * USERS)) tokens into $backend (commit $(git -C "$REPO" rev-parse --short HEAD))"
run "first import"
run "second import (no-op)"
