#!/usr/bin/env bash
# Holds the HTTP API to its OpenAPI document: schemathesis (pinned, in the
# git-ignored venv .venv-schemathesis) runs every check (--checks all:
# server errors, undocumented status codes, responses that break their
# schema, schema-valid requests refused, schema-violating ones accepted,
# routes that ignore the token, ...) against a running cloud-triage.
#
#   scripts/schemathesis.sh                 start a service on a temporary
#                                           data dir (embedded broker, SQLite),
#                                           test it, stop it
#   scripts/schemathesis.sh URL TOKEN       test a running service (URL is its
#                                           base, e.g. http://127.0.0.1:8080)
#
# Extra schemathesis flags go in QLOOP_SCHEMATHESIS_ARGS. The few rules no
# JSON Schema can state are listed, with their reasons, in
# scripts/schemathesis.toml.
#
# Without python3 and its venv module (or when the pinned schemathesis
# cannot be installed) this prints SKIP and exits 0, unless
# QLOOP_REQUIRE_SERVICES=1 (as in .ci/run): then it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.venv-schemathesis
# Cases per operation and phase: enough to reach every limit and enum,
# short enough for CI (the whole run takes well under a minute).
MAX_EXAMPLES=${QLOOP_SCHEMATHESIS_EXAMPLES:-50}

say() { echo "schemathesis.sh: $*" >&2; }
skip_or_fail() {
    if [ "${QLOOP_REQUIRE_SERVICES:-}" = 1 ]; then
        say "FAIL: $* (QLOOP_REQUIRE_SERVICES=1)"
        exit 1
    fi
    say "SKIP: $*"
    exit 0
}

# 1. schemathesis, pinned, in its own venv.
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is missing"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $3}')" != "$SCHEMATHESIS_VERSION" ]; then
    python3 -m venv "$VENV" 2>/dev/null \
        || skip_or_fail "python3 -m venv failed (install python3-venv)"
    say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV (once)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        || skip_or_fail "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

# 2. The service: the one named, or a fresh one on free ports.
tmp=""
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT

if [ $# -ge 2 ]; then
    base=$1
    token=$2
else
    cargo build --quiet --locked -p cloud-triage --bin cloud-triage
    bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/cloud-triage"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/qloop-schemathesis.XXXXXX")
    read -r http_port mqtt_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
    token=$("$bin" token create --data-dir "$tmp/data" --role admin --name schemathesis 2>/dev/null)
    "$bin" serve --data-dir "$tmp/data" --http "127.0.0.1:$http_port" \
        --mqtt-embedded "127.0.0.1:$mqtt_port" >"$tmp/serve.log" 2>&1 &
    pid=$!
    base="http://127.0.0.1:$http_port"
    for _ in $(seq 1 120); do
        if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/healthz" 2>/dev/null; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; say "the service did not start"; exit 1; }
        sleep 0.5
    done
    say "service on $base (data in $tmp)"
fi

# 3. Every check, with the token; a fixed seed so a failure can be replayed.
# shellcheck disable=SC2086
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
    --checks all \
    -H "Authorization: Bearer $token" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "${QLOOP_SCHEMATHESIS_SEED:-20261207}" \
    --no-color \
    ${QLOOP_SCHEMATHESIS_ARGS:-}
