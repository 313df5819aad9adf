//! `edge-agent record`: records one utterance, ending on silence or at the
//! cap, from the microphone (ALSA, with the `alsa` feature) or a WAV file
//! played as the microphone, and writes it as a WAV clip the trigger can send.

use std::path::PathBuf;

use clap::Args;

use crate::recorder::{record_utterance, AudioSource, RecordLimits, WavSource};

/// Flags of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Play this 16 kHz mono WAV file as the microphone.
    #[arg(long, conflicts_with = "device")]
    pub wav: Option<PathBuf>,
    /// ALSA capture device, e.g. `default` (needs the `alsa` feature).
    #[arg(long)]
    pub device: Option<String>,
    /// Where to write the recording.
    #[arg(long)]
    pub out: PathBuf,
    /// Longest recording, ms.
    #[arg(long, default_value_t = RecordLimits::default().max_ms)]
    pub max_ms: u64,
    /// Silence after speech that ends the recording, ms.
    #[arg(long, default_value_t = RecordLimits::default().end_silence_ms)]
    pub end_silence_ms: u64,
    /// How long to wait for speech, ms.
    #[arg(long, default_value_t = RecordLimits::default().start_timeout_ms)]
    pub start_timeout_ms: u64,
}

/// Runs `record`; prints `{"ended", "duration_ms", "speech_frames", "out"}`.
pub fn run(args: RecordArgs) -> anyhow::Result<()> {
    let limits = RecordLimits {
        max_ms: args.max_ms,
        end_silence_ms: args.end_silence_ms,
        start_timeout_ms: args.start_timeout_ms,
        ..RecordLimits::default()
    };
    limits.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut source: Box<dyn AudioSource> = match (&args.wav, &args.device) {
        (Some(path), _) => Box::new(WavSource::open(path)?),
        #[cfg(feature = "alsa")]
        (None, Some(device)) => Box::new(crate::recorder::source::AlsaSource::open(device)?),
        #[cfg(not(feature = "alsa"))]
        (None, Some(_)) => {
            anyhow::bail!("this build has no microphone support; rebuild with --features alsa")
        }
        (None, None) => anyhow::bail!("give --wav FILE or --device NAME"),
    };
    let recording = record_utterance(source.as_mut(), &limits)?;
    std::fs::write(&args.out, recording.to_wav())?;
    println!(
        "{}",
        serde_json::json!({
            "ended": recording.ended,
            "duration_ms": recording.duration().as_millis() as u64,
            "speech_frames": recording.speech_frames,
            "out": args.out,
        })
    );
    Ok(())
}
