//! Shared by the speech tests: the model folders (fetched by
//! `speech/fetch.sh` on first use) and the fixtures.

#![allow(dead_code)]

use std::path::PathBuf;

use qloop_speech::{model_dir, ModelKind};

/// The folder of `kind`, or `None` (with the reason printed) when it cannot
/// be fetched; with `QLOOP_REQUIRE_SERVICES=1` a missing model fails the test.
pub fn weights(kind: ModelKind) -> Option<PathBuf> {
    match model_dir(kind) {
        Ok(dir) => Some(dir),
        Err(e) if std::env::var("QLOOP_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("speech model {kind} required but unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping: speech model {kind} unavailable: {e}");
            None
        }
    }
}

/// A file under `speech/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A file under `speech/reference/`.
pub fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("reference")
        .join(name)
}

/// The labelled clips: `(file, text)` in list order.
pub fn clips() -> Vec<(String, String)> {
    std::fs::read_to_string(fixture("clips.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["file"].as_str().unwrap().to_owned(),
                v["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// 16-bit PCM WAV bytes of `samples` (interleaved) at `rate` with `channels`.
pub fn wav_bytes(samples: &[f32], rate: u32, channels: u16) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// The 16 kHz mono samples of a fixture clip.
pub fn fixture_samples(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    qloop_speech::audio::decode_wav(&bytes, 600.0)
        .unwrap()
        .samples
}
