#!/usr/bin/env bash
# The web app's checks, as CI runs them: install from the lockfile, lint, type check, component
# tests (Vitest), then the end-to-end suite (Playwright driving Debian's Chromium against the real
# auth-server and the production build of this app).
#
# Needs: Node 20.19+ with npm; the auth-server release binary at $AUTH_SERVER_BIN (default
# $CARGO_TARGET_DIR/release/auth-server, else ../target/release/auth-server); Chromium at
# $CHROMIUM_PATH (default /usr/bin/chromium, from `apt-get install -y chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> web: %s\n' "$*"; }
die() { printf '\nweb: error: %s\n' "$*" >&2; exit 1; }

export NEXT_TELEMETRY_DISABLED=1
export CI="${CI:-true}"

command -v node >/dev/null || die "node is not installed (Node 20.19 or newer is needed)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node $(node --version) is too old: 20.19 or newer is needed"

if [ -z "${AUTH_SERVER_BIN:-}" ]; then
    AUTH_SERVER_BIN="${CARGO_TARGET_DIR:-$PWD/../target}/release/auth-server"
fi
case "$AUTH_SERVER_BIN" in /*) ;; *) AUTH_SERVER_BIN="$PWD/$AUTH_SERVER_BIN" ;; esac
export AUTH_SERVER_BIN
[ -x "$AUTH_SERVER_BIN" ] || die "auth-server binary not found at $AUTH_SERVER_BIN: run \`cargo build --release --bin auth-server\` in the repository root first, or set AUTH_SERVER_BIN"

export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] || die "Chromium not found at $CHROMIUM_PATH: install it with \`apt-get update && apt-get install -y chromium\` (never \`npx playwright install\`)"

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT

log "npm ci ($(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund

log "lint"
npm run --silent lint

log "type check"
npm run --silent typecheck

log "component tests (Vitest)"
npm run --silent test -- --reporter=default --reporter=json --outputFile.json="$reports/vitest.json"

log "end-to-end tests (Playwright, $("$CHROMIUM_PATH" --version 2>/dev/null || echo chromium); auth-server: $AUTH_SERVER_BIN)"
PLAYWRIGHT_JSON_OUTPUT_NAME="$reports/playwright.json" npm run --silent e2e -- --reporter=list,json

node -e '
const fs = require("fs");
const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const p = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).stats;
const passed = v.numPassedTests + p.expected + p.flaky;
const failed = v.numFailedTests + p.unexpected;
console.log(`\nweb: Vitest ${v.numPassedTests} passed, Playwright ${p.expected + p.flaky} passed` + (p.flaky ? ` (${p.flaky} after a retry)` : ""));
console.log(`${passed} passed, ${failed} failed`);
' "$reports/vitest.json" "$reports/playwright.json"
