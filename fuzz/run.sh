#!/usr/bin/env bash
# Runs each fuzz target (decode: MQTT messages; decode_draft: the car's
# capture drafts) for SECONDS (default 60), seeded from the checked-in wire
# fixtures; any single allocation over 2 MiB counts as a crash.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).
# The pinned stable toolchain is told to accept cargo-fuzz's nightly flags
# through RUSTC_BOOTSTRAP=1; no nightly toolchain is needed.
set -euo pipefail

seconds="${1:-60}"
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(dirname "$fuzz_dir")"

cd "$repo_root"
for target in decode decode_draft; do
    mkdir -p "$fuzz_dir/corpus/$target"
    cp "$repo_root"/fixtures/protocol/*.bin "$fuzz_dir/corpus/$target/"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
        -max_total_time="$seconds" -malloc_limit_mb=2 -print_final_stats=1
done
