"""Times faster-whisper per clip: one JSON line per file, like qloop's
`transcribe` example. Same settings as qloop: greedy, no timestamps,
English, float32, the given number of CPU threads, one warm-up clip.

usage: fw_bench.py MODEL_DIR THREADS REPEAT FILE...   (the fastest of REPEAT runs per file)
"""
import json
import sys
import time

from faster_whisper import WhisperModel

model_dir, threads, repeat, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
model = WhisperModel(model_dir, device="cpu", cpu_threads=threads, compute_type="float32")
options = dict(beam_size=1, temperature=0.0, without_timestamps=True, language="en",
               condition_on_previous_text=False, vad_filter=False)


def run(path):
    segments, _ = model.transcribe(path, **options)
    return list(segments)  # decoding happens while the generator is consumed


run(files[0])
for path in files:
    seconds = float("inf")
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        segments = run(path)
        seconds = min(seconds, time.perf_counter() - started)
    print(json.dumps({"file": path, "seconds": seconds,
                      "text": "".join(s.text for s in segments).strip(),
                      "tokens": [t for s in segments for t in s.tokens]}), flush=True)
