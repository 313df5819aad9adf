//! Recording the driver from a microphone: speech is detected frame by
//! frame (16 ms at 16 kHz) by a voice-activity detector, the recording ends
//! after a stretch of silence that follows speech, or at a length cap, or
//! when nobody starts speaking in time.
//!
//! # Layout
//! - [`source`]: where samples come from: a WAV file (tests, replays) or,
//!   with the `alsa` feature, an ALSA capture device.
//!
//! The detector is `earshot` (pure Rust, a small neural network on mel
//! features, MIT/Apache-2.0), rather than an energy threshold of our own:
//! an energy gate cannot tell engine and road noise from a voice.

pub mod source;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use source::{AudioSource, SourceError, WavSource};

/// Samples per second the detector and the recording use.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per detector frame (16 ms).
pub const FRAME: usize = 256;
const FRAME_MS: u64 = 16;

/// When a recording ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordLimits {
    /// Longest recording, ms.
    pub max_ms: u64,
    /// Silence after speech that ends the recording, ms.
    pub end_silence_ms: u64,
    /// How long to wait for the driver to start speaking, ms.
    pub start_timeout_ms: u64,
    /// Detector score at or above which a frame is speech (0..1).
    pub threshold: f32,
    /// Audio kept before the first speech frame, ms (the onset of a word).
    pub pre_roll_ms: u64,
}

impl Default for RecordLimits {
    fn default() -> Self {
        Self {
            max_ms: 30_000,
            end_silence_ms: 1_200,
            start_timeout_ms: 6_000,
            threshold: 0.5,
            pre_roll_ms: 300,
        }
    }
}

impl RecordLimits {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_ms < 1_000 || self.max_ms > 120_000 {
            return Err("max_ms must be 1000..=120000".into());
        }
        if self.end_silence_ms < 200 || self.end_silence_ms > 10_000 {
            return Err("end_silence_ms must be 200..=10000".into());
        }
        if self.start_timeout_ms < 500 || self.start_timeout_ms > 60_000 {
            return Err("start_timeout_ms must be 500..=60000".into());
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err("threshold must be between 0 and 1".into());
        }
        if self.pre_roll_ms > 2_000 {
            return Err("pre_roll_ms must be at most 2000".into());
        }
        Ok(())
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// Silence after speech.
    Silence,
    /// The length cap.
    Cap,
    /// Nobody spoke before the start timeout.
    NoSpeech,
    /// The source ran out.
    EndOfInput,
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// 16 kHz mono samples, from just before the first speech to the end.
    pub samples: Vec<i16>,
    /// Why it ended.
    pub ended: Ended,
    /// Frames the detector called speech.
    pub speech_frames: usize,
}

impl Recording {
    /// Length, ms.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE))
    }

    /// The recording as a 16-bit mono WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = std::io::Cursor::new(Vec::with_capacity(44 + self.samples.len() * 2));
        {
            let mut writer = hound::WavWriter::new(&mut out, spec).expect("writing to memory");
            for s in &self.samples {
                writer.write_sample(*s).expect("writing to memory");
            }
            writer.finalize().expect("writing to memory");
        }
        out.into_inner()
    }
}

/// Records one utterance from `source` within `limits`.
pub fn record_utterance(
    source: &mut dyn AudioSource,
    limits: &RecordLimits,
) -> Result<Recording, SourceError> {
    let mut detector = earshot::Detector::default();
    let frames = |ms: u64| ms.div_ceil(FRAME_MS) as usize;
    let (max, end_silence, start_timeout, pre_roll) = (
        frames(limits.max_ms),
        frames(limits.end_silence_ms),
        frames(limits.start_timeout_ms),
        frames(limits.pre_roll_ms),
    );
    let mut pending: std::collections::VecDeque<[i16; FRAME]> = std::collections::VecDeque::new();
    let mut samples: Vec<i16> = Vec::new();
    let (mut started, mut silent, mut speech_frames, mut waited) = (false, 0usize, 0usize, 0usize);
    let mut frame = [0i16; FRAME];
    loop {
        if !source.read_frame(&mut frame)? {
            let ended = if started {
                Ended::EndOfInput
            } else {
                Ended::NoSpeech
            };
            return Ok(Recording {
                samples,
                ended,
                speech_frames,
            });
        }
        let speech = detector.predict_i16(&frame) >= limits.threshold;
        if !started {
            waited += 1;
            pending.push_back(frame);
            if pending.len() > pre_roll.max(1) {
                pending.pop_front();
            }
            if speech {
                started = true;
                speech_frames += 1;
                for f in pending.drain(..) {
                    samples.extend_from_slice(&f);
                }
            } else if waited >= start_timeout {
                return Ok(Recording {
                    samples,
                    ended: Ended::NoSpeech,
                    speech_frames,
                });
            }
            continue;
        }
        samples.extend_from_slice(&frame);
        if speech {
            speech_frames += 1;
            silent = 0;
        } else {
            silent += 1;
        }
        if silent >= end_silence {
            return Ok(Recording {
                samples,
                ended: Ended::Silence,
                speech_frames,
            });
        }
        if samples.len() >= max * FRAME {
            samples.truncate(max * FRAME);
            return Ok(Recording {
                samples,
                ended: Ended::Cap,
                speech_frames,
            });
        }
    }
}
