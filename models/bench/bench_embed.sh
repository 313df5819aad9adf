#!/usr/bin/env bash
# qloop's embedder against sentence-transformers (PyTorch, 2 threads) on the
# same 1,000 driver sentences, in one run. Prints each side's JSON lines,
# then one ratio line per batch size (qloop / PyTorch).
# Needs: pip install torch sentence-transformers
set -euo pipefail
cd "$(dirname "$0")/../.."
models/fetch.sh
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cargo run --release --locked -q -p qloop-models --example bench_embed -- "$tmp/sentences.txt" | tee "$tmp/qloop.jsonl"
python3 models/bench/st_bench.py "$tmp/sentences.txt" models/weights/all-MiniLM-L6-v2 | tee "$tmp/st.jsonl"
python3 - "$tmp/qloop.jsonl" "$tmp/st.jsonl" <<'PY'
import json, sys
q = [r for r in map(json.loads, open(sys.argv[1])) if r.get("bench") == "embed" and r.get("impl") == "qloop-packed"]
s = [json.loads(l) for l in open(sys.argv[2])]
for batch in (32, 1):
    mine = max(r["per_sec"] for r in q if r["batch"] == batch)
    theirs = next(r["per_sec"] for r in s if r["batch"] == batch)
    print(json.dumps({"bench": "embed_vs_pytorch", "batch": batch, "qloop_per_sec": mine, "baseline": "sentence-transformers", "baseline_per_sec": theirs, "ratio": mine / theirs}))
PY
