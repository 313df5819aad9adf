"""Reference values for qloop's mel filterbank and log-mel, from
faster-whisper's FeatureExtractor (numerically librosa's Slaney filterbank
and OpenAI's log_mel_spectrogram).

Writes speech/reference/mel-reference.json: every filter's sum, three whole
filters, and four frames of the log-mel of fixtures/clean/01.wav.
Run: python3 -m pip install faster-whisper && python3 speech/reference/make_mel_reference.py
"""
import json
import os
import wave

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

here = os.path.dirname(os.path.abspath(__file__))
fx = FeatureExtractor(feature_size=80)
filters = fx.mel_filters
w = wave.open(os.path.join(here, "..", "fixtures", "clean", "01.wav"))
audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
mel = fx(audio)
frames = [0, 50, 100, 200]
out = {
    "generator": "faster_whisper.feature_extractor.FeatureExtractor(feature_size=80)",
    "row_sums": [float(s) for s in filters.sum(axis=1)],
    "rows": {str(r): [float(v) for v in filters[r]] for r in (5, 40, 79)},
    "clip": "fixtures/clean/01.wav",
    "clip_frames": mel.shape[1],
    "log_mel_frames": {str(t): [float(v) for v in mel[:, t]] for t in frames},
}
with open(os.path.join(here, "mel-reference.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
