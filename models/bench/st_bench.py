"""sentence-transformers (PyTorch, 2 threads) on the same sentences as
qloop's bench_embed, at batch 1 and batch 32. Prints JSON lines.

    python3 models/bench/st_bench.py SENTENCES_FILE MODEL_DIR
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

torch.set_num_threads(2)
sentences = open(sys.argv[1], encoding="utf-8").read().split("\n")
model = SentenceTransformer(sys.argv[2], device="cpu")
model.encode(sentences[:32], batch_size=32)  # warm up
for batch in (32, 1):
    t = time.perf_counter()
    model.encode(sentences, batch_size=batch)
    rate = len(sentences) / (time.perf_counter() - t)
    print(json.dumps({"bench": "embed", "impl": "sentence-transformers", "batch": batch, "sentences": len(sentences), "per_sec": rate}))
