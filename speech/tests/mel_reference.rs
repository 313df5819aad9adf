//! qloop's filterbank and log-mel against faster-whisper's FeatureExtractor
//! (librosa's Slaney filterbank, OpenAI's log-mel), from
//! `speech/reference/mel-reference.json` (made by make_mel_reference.py).

mod common;

use qloop_speech::mel::{mel_filters, LogMel, MelPadding, N_BINS};

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(common::reference("mel-reference.json")).unwrap())
        .unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Every filter's total weight, and three whole filters, equal librosa's
/// to float32 precision.
#[test]
fn filterbank_equals_librosa_slaney() {
    let r = reference();
    let ours = mel_filters(80);
    for (m, expected) in floats(&r["row_sums"]).iter().enumerate() {
        let sum: f32 = ours[m * N_BINS..(m + 1) * N_BINS].iter().sum();
        assert!(
            (sum - expected).abs() <= 1e-5 * expected.abs(),
            "filter {m}: {sum} vs {expected}"
        );
    }
    for (row, values) in r["rows"].as_object().unwrap() {
        let m: usize = row.parse().unwrap();
        for (k, expected) in floats(values).iter().enumerate() {
            let got = ours[m * N_BINS + k];
            assert!(
                (got - expected).abs() <= 1e-6,
                "filter {m} bin {k}: {got} vs {expected}"
            );
        }
    }
}

/// The log-mel of a fixture clip equals faster-whisper's frame by frame
/// (within float32 FFT rounding), and both have the same number of frames.
#[test]
fn log_mel_equals_faster_whisper() {
    let r = reference();
    let audio = common::fixture_samples("clean/01.wav");
    let lm = LogMel::new(80);
    let mel = lm.compute(&audio, MelPadding::ZeroFeatures);
    let frames = mel.len() / 80;
    let real = r["clip_frames"].as_u64().unwrap() as usize;
    assert_eq!((audio.len() + 160) / 160, real);
    for (t, values) in r["log_mel_frames"].as_object().unwrap() {
        let t: usize = t.parse().unwrap();
        for (m, expected) in floats(values).iter().enumerate() {
            let got = mel[m * frames + t];
            assert!(
                (got - expected).abs() < 2e-3,
                "frame {t} bin {m}: {got} vs {expected}"
            );
        }
    }
}
