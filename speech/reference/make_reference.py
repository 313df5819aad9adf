"""Greedy tokens from faster-whisper (CTranslate2) on the speech fixtures.

Writes speech/reference/faster-whisper-tokens.json: per model and clip, the
tokens and text faster-whisper decodes from the same CTranslate2 folder that
qloop reads (speech/weights/whisper-*), greedy, no timestamps, English,
float32 on the CPU. speech/tests/reference_tokens.rs compares qloop's
tokens with these (qloop padding windows as faster-whisper does).

Run: python3 -m pip install faster-whisper && speech/fetch.sh && speech/fetch.sh base &&
     python3 speech/reference/make_reference.py
"""
import json
import os
import sys

import ctranslate2
import faster_whisper
from faster_whisper import WhisperModel

here = os.path.dirname(os.path.abspath(__file__))
speech = os.path.dirname(here)
clips = [json.loads(line) for line in open(os.path.join(speech, "fixtures", "clips.jsonl"))]
out = {
    "generator": f"faster-whisper {faster_whisper.__version__}, ctranslate2 {ctranslate2.__version__}",
    "options": "beam_size=1 temperature=0 without_timestamps language=en compute_type=float32 cpu_threads=2",
    "models": {},
}
for model in ["tiny.en", "base"]:
    m = WhisperModel(os.path.join(speech, "weights", f"whisper-{model}"), device="cpu",
                     cpu_threads=2, compute_type="float32")
    rows = []
    for clip in clips:
        segments, _ = m.transcribe(os.path.join(speech, "fixtures", clip["file"]), beam_size=1,
                                   temperature=0.0, without_timestamps=True, language="en",
                                   condition_on_previous_text=False, vad_filter=False)
        segments = list(segments)
        rows.append({
            "file": clip["file"],
            "tokens": [t for s in segments for t in s.tokens],
            "text": "".join(s.text for s in segments).strip(),
        })
        print(model, clip["file"], rows[-1]["text"], file=sys.stderr)
    out["models"][model] = rows
with open(os.path.join(here, "faster-whisper-tokens.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
