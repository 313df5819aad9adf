#!/usr/bin/env bash
# Seconds per clip for qloop (Rust, candle) and faster-whisper (Python,
# CTranslate2) on the same Whisper folder and the same fixture clips, both
# limited to the same number of threads (2), greedy, no timestamps, English,
# float32, one warm-up clip each, the fastest of 3 runs per clip (so other
# work on the machine disturbs both alike); model load not timed. qloop pads
# windows as faster-whisper does, so both decode the same tokens (same_tokens
# counts the clips where they do). Prints one JSON line per model with both
# means and their ratio (qloop / faster-whisper: below 1 means qloop is faster).
#
# usage: speech/bench/bench_asr.sh [tiny.en|base ...]   (default: tiny.en base)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
threads=2
repeat=3
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny.en base)

python3 -c "import faster_whisper" 2>/dev/null || python3 -m pip install --quiet faster-whisper
cd "$repo"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" cargo build --quiet --release -p qloop-speech --example transcribe
bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/transcribe"
mapfile -t clips < <(python3 -c 'import json,sys; [print("speech/fixtures/" + json.loads(l)["file"]) for l in open("speech/fixtures/clips.jsonl")]')
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for model in "${models[@]}"; do
    bash speech/fetch.sh "$model"
    dir="speech/weights/whisper-$model"
    RAYON_NUM_THREADS=$threads "$bin" --model "$model" --padding zero-features --warmup \
        --repeat "$repeat" "${clips[@]}" >"$tmp/qloop.jsonl" 2>/dev/null
    OMP_NUM_THREADS=$threads python3 speech/bench/fw_bench.py "$dir" "$threads" "$repeat" \
        "${clips[@]}" >"$tmp/fw.jsonl" 2>/dev/null
    python3 - "$model" "$threads" "$tmp/qloop.jsonl" "$tmp/fw.jsonl" <<'PY'
import json, sys
model, threads, q, f = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ql = [json.loads(l) for l in open(q)]
fw = [json.loads(l) for l in open(f)]
mean = lambda rows: sum(r["seconds"] for r in rows) / len(rows)
same = sum(a["tokens"] == b["tokens"] for a, b in zip(ql, fw))
print(json.dumps({
    "model": model, "threads": threads, "clips": len(ql),
    "audio_s_per_clip": round(sum(r["audio_seconds"] for r in ql) / len(ql), 2),
    "qloop_s_per_clip": round(mean(ql), 3),
    "faster_whisper_s_per_clip": round(mean(fw), 3),
    "ratio": round(mean(ql) / mean(fw), 3),
    "same_tokens": f"{same}/{len(ql)}",
}))
PY
done
