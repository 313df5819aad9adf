//! Transcribes WAV files with one loaded model and prints, per file, a JSON
//! line with the transcript, its tokens and the seconds it took:
//!
//! `cargo run --release -p qloop-speech --example transcribe -- [--model base]
//!  [--padding zero-features|silence] [--warmup] [--repeat N] a.wav b.wav`
//!
//! `--padding zero-features` (the default) pads windows as faster-whisper
//! does, `--padding silence` as OpenAI's Whisper; `--warmup` transcribes the
//! first file once before timing; `--repeat N` transcribes each file N times
//! and reports the fastest (the benchmark does the same for both sides, so
//! other work on the machine disturbs both alike).

use std::time::Instant;

use qloop_speech::{mel::MelPadding, model_dir, ModelKind, TranscribeOptions, Transcriber};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut value = |flag: &str| -> Result<Option<String>, String> {
        match args.iter().position(|a| a == flag) {
            Some(i) if i + 1 < args.len() => {
                Ok(Some(args.drain(i..i + 2).nth(1).unwrap_or_default()))
            }
            Some(_) => Err(format!("{flag} needs a value")),
            None => Ok(None),
        }
    };
    let kind: ModelKind = value("--model")?.as_deref().unwrap_or("tiny.en").parse()?;
    let padding = match value("--padding")?.as_deref() {
        None => MelPadding::default(),
        Some("silence") => MelPadding::Silence,
        Some("zero-features") => MelPadding::ZeroFeatures,
        Some(other) => return Err(format!("--padding {other}: silence or zero-features").into()),
    };
    let repeat: usize = value("--repeat")?.as_deref().unwrap_or("1").parse()?;
    let warmup = match args.iter().position(|a| a == "--warmup") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    let started = Instant::now();
    let options = TranscribeOptions {
        padding,
        ..TranscribeOptions::default()
    };
    let asr = Transcriber::load(&model_dir(kind)?, options)?;
    eprintln!(
        "loaded {} in {:.2} s",
        asr.model_version(),
        started.elapsed().as_secs_f64()
    );
    if let (true, Some(first)) = (warmup, args.first()) {
        asr.transcribe_blocking(std::fs::read(first)?, Some("en-US".into()))?;
    }
    for file in &args {
        let wav = std::fs::read(file)?;
        let mut seconds = f64::INFINITY;
        let mut t = None;
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            t = Some(asr.transcribe_blocking(wav.clone(), Some("en-US".into()))?);
            seconds = seconds.min(started.elapsed().as_secs_f64());
        }
        let t = t.ok_or("no run")?;
        let tokens: Vec<u32> = t
            .segments
            .iter()
            .flat_map(|s| s.token_ids.clone())
            .collect();
        let line = serde_json::json!({
            "file": file,
            "seconds": seconds,
            "audio_seconds": t.audio_seconds,
            "text": t.text,
            "tokens": tokens,
            "confidence": t.confidence,
            "no_speech": t.no_speech,
        });
        println!("{line}");
    }
    Ok(())
}
