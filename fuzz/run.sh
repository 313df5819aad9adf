#!/usr/bin/env bash
# Runs the decode fuzz target for SECONDS (default 60), seeded from the
# checked-in wire fixtures; any single allocation over 2 MiB counts as a crash.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).
# The pinned stable toolchain is told to accept cargo-fuzz's nightly flags
# through RUSTC_BOOTSTRAP=1; no nightly toolchain is needed.
set -euo pipefail

seconds="${1:-60}"
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(dirname "$fuzz_dir")"

mkdir -p "$fuzz_dir/corpus/decode"
cp "$repo_root"/fixtures/protocol/*.bin "$fuzz_dir/corpus/decode/"

cd "$repo_root"
RUSTC_BOOTSTRAP=1 exec cargo fuzz run decode -- \
    -max_total_time="$seconds" -malloc_limit_mb=2 -print_final_stats=1
