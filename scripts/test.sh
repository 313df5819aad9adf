#!/usr/bin/env bash
# Runs every check and test of qloop: formatting, lints, the whole test suite
# (unit, property, end-to-end on the embedded broker, Mosquitto, SQLite and
# PostgreSQL), and the dependency policy. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prereqs.sh

# The shared data (DBC files, candump logs, complaints, recalls) is not in
# the repository: it is ../shared/data beside it, or beside the repository
# this one was cloned from, or wherever QLOOP_SHARED_DATA points.
if [ -z "${QLOOP_SHARED_DATA:-}" ]; then
    for candidate in "../shared/data" "$(git remote get-url origin 2>/dev/null || true)/../shared/data"; do
        if [ -d "$candidate/can" ]; then
            QLOOP_SHARED_DATA="$(cd "$candidate" && pwd)"
            break
        fi
    done
fi
if [ ! -d "${QLOOP_SHARED_DATA:-}/can" ]; then
    echo "scripts/test.sh: the shared data is not at ../shared/data; set QLOOP_SHARED_DATA to its folder" >&2
    exit 1
fi
export QLOOP_SHARED_DATA
echo "== shared data: $QLOOP_SHARED_DATA" >&2
models/fetch.sh   # the embedding model, once (cached in ~/.cache/qloop)
speech/fetch.sh   # Whisper tiny.en (cloud transcription), once
speech/fetch.sh base   # Whisper base (multilingual; its tests and eval-asr), once

echo "== fmt" >&2
cargo fmt --all --check
echo "== store import loops" >&2
python3 scripts/store_import_loops.py
echo "== vendored UI libraries" >&2
scripts/fetch_ui_vendor.sh --verify
echo "== clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build" >&2
cargo build --workspace --bins --locked
echo "== tests" >&2
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
# The HTTP API against its OpenAPI document: schemathesis with every check
# on a service started on a temporary data dir (embedded broker, SQLite),
# stopped after. SKIP without python3-venv, unless QLOOP_REQUIRE_SERVICES=1.
echo "== schemathesis" >&2
scripts/schemathesis.sh
# The dependency policy (deny.toml) with the pinned cargo-deny, installed if
# missing, against the advisory snapshot in ../shared/advisory-db. Never
# skipped: if cargo-deny cannot be installed or any check fails, this fails.
echo "== cargo deny" >&2
scripts/deny.sh
