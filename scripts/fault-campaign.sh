#!/usr/bin/env bash
# The fault campaign (tests/tests/fault_campaign.rs), longer than in the
# test suite: real edge agents and the real service, kill -9 of agents inside
# their post-trigger window, service restarts while cars publish, torn outbox
# records; on the embedded broker with SQLite and on Mosquitto with
# PostgreSQL. Every accepted feedback must be stored exactly once, every torn
# record reported. Prints one JSON summary line per broker.
#
#   scripts/fault-campaign.sh [ROUNDS (default 12)] [SEED (default random)]
set -euo pipefail
cd "$(dirname "$0")/.."
export QLOOP_CAMPAIGN_ROUNDS="${1:-12}"
if [ -n "${2:-}" ]; then
    export QLOOP_CAMPAIGN_SEED="$2"
fi
if [ -z "${QLOOP_SHARED_DATA:-}" ] && [ -d ../shared/data/can ]; then
    export QLOOP_SHARED_DATA="$(cd ../shared/data && pwd)"
fi
models/fetch.sh >&2
cargo build --bins >&2
exec cargo test -p qloop-tests --test fault_campaign -- --nocapture --test-threads 1
