#!/usr/bin/env bash
# Schemathesis over the OpenAPI document, against the real server (SQLite, throttling off, a free
# port), with its default checks: no 5xx, every status code, content type, header and body as the
# document says, undocumented methods refused, authentication not ignored. Every authenticated
# call gets a fresh session's token (.ci/schemathesis_hooks.py). Exits non-zero on any failure.
#
#   bash .ci/schemathesis.sh                      # builds the debug server if needed
#   AUTH_SERVER_BIN=path/to/auth-server bash .ci/schemathesis.sh
#   SCHEMATHESIS_MAX_EXAMPLES=200 bash .ci/schemathesis.sh
#   bash .ci/schemathesis.sh --include-path /api/auth/login   # more options go to `schemathesis run`
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/auth-server/target}"
server_bin="${AUTH_SERVER_BIN:-}"
if [ -z "$server_bin" ]; then
    cargo build --locked --workspace --bins
    server_bin="$CARGO_TARGET_DIR/debug/auth-server"
fi

# Schemathesis 4 in a venv outside the clone, like the SMTP test server's.
venv="${HOME:-/root}/.cache/auth-server/schemathesis-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import schemathesis, sys; sys.exit(not schemathesis.__version__.startswith("4."))' 2>/dev/null ||
    "$venv/bin/pip" install -q 'schemathesis>=4,<5'

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url="http://127.0.0.1:$port"
AUTH_ENV=test \
    BIND_ADDRESS="127.0.0.1:$port" \
    DATABASE_URL="$work/auth-server.sqlite3" \
    THROTTLE_ENABLED=false \
    EMAIL_BACKEND=file \
    EMAIL_FILE_PATH="$work/mail" \
    "$server_bin" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$base_url/ready" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done

# Run from the scratch folder: Schemathesis leaves its example database in the working directory.
ci_dir=$(pwd)/.ci
status=0
(cd "$work" && AUTH_SCHEMATHESIS_URL="$base_url" SCHEMATHESIS_HOOKS="$ci_dir/schemathesis_hooks.py" \
    "$venv/bin/schemathesis" --config-file "$ci_dir/schemathesis.toml" run "$base_url/api/openapi.json" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --generation-database=:memory: \
    "$@") 2>&1 | tee "$work/output.log" || status=$?
# The count of cases, for the log's reader: "1850 generated, 1850 passed, 12 skipped".
cases=$(awk '/^Test cases:/ { getline; sub(/^ +/, ""); print; exit }' "$work/output.log")
printf '\nschemathesis: %s\n' "${cases:-no summary}"
if [ "$status" != 0 ] && [ -s "$work/server.log" ]; then
    printf '\n--- server log (last 50 lines) ---\n' >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
