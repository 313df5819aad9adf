#!/usr/bin/env bash
# Runs every check and test of qloop: formatting, lints, the whole test suite
# (unit, property, end-to-end on the embedded broker, Mosquitto, SQLite and
# PostgreSQL), and the dependency policy. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prereqs.sh
models/fetch.sh   # the embedding model, once (cached in ~/.cache/qloop)
speech/fetch.sh   # Whisper tiny.en (cloud transcription), once
speech/fetch.sh base   # Whisper base (multilingual; its tests and eval-asr), once

echo "== fmt" >&2
cargo fmt --all --check
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
if cargo deny --version >/dev/null 2>&1; then
    echo "== cargo deny" >&2
    cargo deny check
else
    echo "== cargo deny: not installed (cargo install cargo-deny --locked); skipped" >&2
fi
