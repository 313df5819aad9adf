//! `cloud-triage transcribe FILE.wav` and `cloud-triage eval-asr`: offline
//! speech recognition (Whisper, see the `qloop-speech` crate) from the
//! command line. Transcripts go to stdout, diagnostics to stderr.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use qloop_speech::{model_dir, ModelKind, TranscribeOptions, Transcriber};

/// Flags of `transcribe`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// The WAV file (PCM or float, any rate from 8 to 192 kHz, 1–8 channels).
    pub file: PathBuf,
    /// Whisper model: `tiny.en` (English only, fastest) or `base` (multilingual).
    #[arg(long, env = "QLOOP_ASR_MODEL", default_value = "tiny.en")]
    pub model: ModelKind,
    /// The speaker's locale (BCP-47); picks the language of a multilingual model.
    #[arg(long, default_value = "en-US")]
    pub locale: String,
    /// Print the whole result (segments, confidence, no-speech) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `eval-asr`.
#[derive(Debug, Args)]
pub struct EvalAsrArgs {
    /// Whisper models to score; repeat for several (`--model tiny.en --model base`).
    #[arg(long, default_values = ["tiny.en"])]
    pub model: Vec<ModelKind>,
    /// Labelled clips, one JSON object per line (`file`, `text`, `condition`).
    #[arg(long, default_value_os_t = qloop_speech::eval::fixture_list())]
    pub clips: PathBuf,
    /// Print each model's report as one JSON line instead of a table.
    #[arg(long)]
    pub json: bool,
}

async fn load(kind: ModelKind) -> anyhow::Result<Transcriber> {
    tokio::task::spawn_blocking(move || {
        let dir = model_dir(kind)?;
        Transcriber::load(&dir, TranscribeOptions::default())
    })
    .await?
    .with_context(|| format!("loading the speech model {kind}"))
}

/// Runs `transcribe`.
pub async fn transcribe(args: TranscribeArgs) -> anyhow::Result<()> {
    let wav =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let asr = load(args.model).await?;
    let started = std::time::Instant::now();
    let t = asr
        .transcribe(wav, Some(args.locale))
        .await
        .with_context(|| format!("transcribing {}", args.file.display()))?;
    eprintln!(
        "{}: {:.1} s of audio in {:.2} s, language {}, confidence {}, {}",
        t.model,
        t.audio_seconds,
        started.elapsed().as_secs_f64(),
        t.language,
        t.confidence
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        if t.no_speech {
            "no speech heard"
        } else {
            "speech"
        },
    );
    if args.json {
        println!("{}", serde_json::to_string(&t)?);
    } else {
        println!("{}", t.text);
    }
    Ok(())
}

/// Runs `eval-asr`.
pub async fn eval_asr(args: EvalAsrArgs) -> anyhow::Result<()> {
    for kind in args.model {
        let asr = load(kind).await?;
        let clips = args.clips.clone();
        let report =
            tokio::task::spawn_blocking(move || qloop_speech::eval::eval_with(&asr, &clips))
                .await?
                .with_context(|| format!("evaluating {kind} on {}", args.clips.display()))?;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{report}");
        }
    }
    Ok(())
}
