//! qloop decodes the same greedy tokens as faster-whisper (CTranslate2) on
//! the fixture clips, from the same model folder: proof that the mapping,
//! the log-mel, the encoder and the KV-cached decoder compute what
//! CTranslate2 computes. Reference: speech/reference/faster-whisper-tokens.json
//! (make_reference.py). qloop pads windows as faster-whisper does here.

mod common;

use qloop_speech::{mel::MelPadding, ModelKind, TranscribeOptions, Transcriber};

/// Least share of clips whose tokens must be identical. The encoder's GELU
/// (candle's tanh form, CTranslate2's erf) moves logits by ~1e-3, which can
/// flip a near tie on a clip; more than that is a bug.
const MIN_IDENTICAL: f64 = 0.9;

fn check(kind: ModelKind) {
    let Some(dir) = common::weights(kind) else {
        return;
    };
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::reference("faster-whisper-tokens.json")).unwrap(),
    )
    .unwrap();
    let options = TranscribeOptions {
        padding: MelPadding::ZeroFeatures,
        ..TranscribeOptions::default()
    };
    let asr = Transcriber::load(&dir, options).unwrap();
    let rows = reference["models"][kind.name()].as_array().unwrap();
    let mut identical = 0;
    for row in rows {
        let file = row["file"].as_str().unwrap();
        let expected: Vec<u32> = row["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        let wav = std::fs::read(common::fixture(file)).unwrap();
        let t = asr.transcribe_blocking(wav, Some("en-US".into())).unwrap();
        let got: Vec<u32> = t
            .segments
            .iter()
            .flat_map(|s| s.token_ids.clone())
            .collect();
        if got == expected {
            identical += 1;
        } else {
            eprintln!(
                "{kind} {file}: ours {:?} / faster-whisper {:?}",
                t.text, row["text"]
            );
        }
    }
    let share = identical as f64 / rows.len() as f64;
    eprintln!("{kind}: {identical}/{} clips token-identical", rows.len());
    assert!(
        share >= MIN_IDENTICAL,
        "{kind}: only {identical}/{} identical",
        rows.len()
    );
}

#[test]
fn tiny_en_tokens_match_faster_whisper() {
    check(ModelKind::TinyEn);
}

#[test]
fn base_tokens_match_faster_whisper() {
    check(ModelKind::Base);
}
