#!/usr/bin/env bash
# Runs the whole pipeline on embedded defaults: builds qloop, starts
# cloud-triage with its embedded MQTT broker and a SQLite file, replays the
# fixture vehicles through real edge agents, prints the cases, and ends by
# printing the API's address with an admin token and the web UI's address
# with a one-time sign-in link (it works once, within 10 minutes); then keeps
# the service up until Ctrl-C. Pass --exit to stop after printing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh >/dev/null 2>&1 || true
models/fetch.sh   # the embedding model, once (cached in ~/.cache/qloop)
speech/fetch.sh   # Whisper tiny.en for clips sent without a transcript, once
cargo build --release --locked -p cloud-triage -p edge-agent
exec cargo run --release --locked -q -p cloud-triage -- demo --data-dir .qloop-demo "$@"
