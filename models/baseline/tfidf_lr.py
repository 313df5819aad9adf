"""The baseline users reach for first: TF-IDF + logistic regression.

Trained on the same labelled file(s) and scored on the same file as
`cloud-triage eval`, at the taxonomy level (labels mapped with the
[labels] table of models/taxonomy.toml). Prints one JSON object.
`cloud-triage eval --baseline` runs it in the same run.

    pip install scikit-learn
    python3 models/baseline/tfidf_lr.py --train DEV.jsonl --test TEST.jsonl
"""
import argparse
import json
import pathlib
import tomllib

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

TAXONOMY = pathlib.Path(__file__).resolve().parent.parent / "taxonomy.toml"


def load(path, taxonomy):
    texts, labels = [], []
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        row = json.loads(line)
        text = row.get("text") or row.get("narrative")
        label = row.get("component") or row.get("category") or ""
        cat = label.strip() if label.strip() in taxonomy["categories"] else taxonomy["labels"].get(label.split(":")[0].strip().upper())
        if text and cat:
            texts.append(text)
            labels.append(cat)
    return texts, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", action="append", default=[])
    ap.add_argument("--test", required=True)
    args = ap.parse_args()
    taxonomy = tomllib.loads(TAXONOMY.read_text())
    # Taxonomy exemplars count as training data, as they do for qloop.
    x, y = [], []
    for cat, c in taxonomy["categories"].items():
        x += c["exemplars"]
        y += [cat] * len(c["exemplars"])
    for path in args.train:
        tx, ty = load(path, taxonomy)
        x += tx
        y += ty
    tx, ty = load(args.test, taxonomy)
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    clf = LogisticRegression(max_iter=2000, C=10.0)
    clf.fit(vec.fit_transform(x), y)
    pred = clf.predict(vec.transform(tx))
    present = sorted(set(ty))
    print(json.dumps({
        "baseline": "tfidf_logreg",
        "n": len(ty),
        "accuracy": accuracy_score(ty, pred),
        "macro_f1": f1_score(ty, pred, labels=present, average="macro", zero_division=0),
    }))


if __name__ == "__main__":
    main()
