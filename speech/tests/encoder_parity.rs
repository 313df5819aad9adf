//! qloop's encoder against candle-transformers' on the same weights and the
//! same log-mel: the outputs agree to within the difference between exact
//! (erf) GELU, which qloop and CTranslate2 use, and candle's tanh form.

mod common;

use qloop_speech::{
    mel::{LogMel, MelPadding, WINDOW_FRAMES},
    recognizer::EncoderKind,
    ModelKind, Recognizer,
};

#[test]
fn fast_encoder_matches_candles() {
    let Some(dir) = common::weights(ModelKind::TinyEn) else {
        return;
    };
    let mut fast = Recognizer::load_with(&dir, EncoderKind::Fast).unwrap();
    let mut candle = Recognizer::load_with(&dir, EncoderKind::Candle).unwrap();
    let audio = common::fixture_samples("noisy/03.wav");
    let mel = LogMel::new(80).compute(&audio, MelPadding::Silence);
    assert_eq!(mel.len(), 80 * WINDOW_FRAMES);
    let a = fast.encode(mel.clone()).unwrap();
    let b = candle.encode(mel).unwrap();
    assert_eq!(a.dims(), [1, 1500, 384]);
    assert_eq!(a.dims(), b.dims());
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let cosine = dot / (norm(&a) * norm(&b));
    eprintln!("max |difference| {worst}, cosine {cosine}");
    assert!(cosine > 0.9999, "cosine {cosine}");
    assert!(worst < 0.05, "max difference {worst}");
}
