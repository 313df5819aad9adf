//! Audio clips from the voice assistant: WAV files, checked before they go
//! anywhere. Accepted: RIFF/WAVE, 16-bit integer PCM with every sample
//! present (the wire's check, [`qloop_protocol::wav`], which the cloud
//! applies too), 1–2 channels, a rate from `[audio].allowed_rates`, at most
//! `[audio].max_duration_s` long.
//!
//! Allocation is bounded: the file's size is checked against the largest
//! clip the config allows before a byte is read, and the read itself is
//! capped, so a lying header or a giant file cannot make us allocate.

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

use qloop_protocol::{
    wav::{self, WavError},
    AudioClip, AudioCodec, AudioPayload,
};
use thiserror::Error;

use crate::config::AudioConfig;

/// Slack for RIFF chunks other than `fmt ` and `data` (LIST, fact, …).
pub const HEADER_SLACK_BYTES: usize = 4096;

/// Why a clip was refused.
#[derive(Debug, Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("cannot read audio file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Larger than the longest allowed clip could be.
    #[error("audio file is {len} bytes, over the {max}-byte limit for {max_s} s clips")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        max: usize,
        /// The duration limit it derives from.
        max_s: u32,
    },
    /// Not a WAV file, or a broken one.
    #[error("not a valid WAV file: {0}")]
    Malformed(String),
    /// A WAV of a kind we do not carry.
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    /// The data ends before the header says it does.
    #[error("WAV data is truncated: {0}")]
    Truncated(String),
    /// Longer than allowed.
    #[error("clip is {duration_ms} ms, over the {max_ms} ms limit")]
    TooLong {
        /// Its duration.
        duration_ms: u64,
        /// The limit.
        max_ms: u64,
    },
}

/// A validated WAV clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavClip {
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// Length, ms.
    pub duration_ms: u32,
    /// The whole file.
    pub bytes: Vec<u8>,
}

impl WavClip {
    /// The clip as an inline protocol payload.
    pub fn into_audio_clip(self) -> AudioClip {
        AudioClip {
            codec: AudioCodec::Wav,
            sample_rate: self.sample_rate,
            channels: self.channels,
            duration_ms: self.duration_ms,
            payload: AudioPayload::Inline(self.bytes),
        }
    }
}

/// The largest file a clip allowed by `config` can be.
pub fn max_file_bytes(config: &AudioConfig) -> usize {
    let max_rate = config.allowed_rates.iter().copied().max().unwrap_or(48_000) as usize;
    config.max_duration_s as usize * max_rate * 2 * 2 + HEADER_SLACK_BYTES
}

/// Reads and validates a WAV file.
pub fn load_wav(path: &Path, config: &AudioConfig) -> Result<WavClip, AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let max = max_file_bytes(config);
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let too_large = |len| AudioError::TooLarge {
        len,
        max,
        max_s: config.max_duration_s,
    };
    if len > max as u64 {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        return Err(too_large(bytes.len() as u64));
    }
    validate_wav(bytes, config)
}

/// Validates WAV bytes already in memory: the wire's WAV check
/// ([`qloop_protocol::wav`]) and this car's limits, the limits first so an
/// unwanted clip's samples are never read.
pub fn validate_wav(bytes: Vec<u8>, config: &AudioConfig) -> Result<WavClip, AudioError> {
    let max = max_file_bytes(config);
    if bytes.len() > max {
        return Err(AudioError::TooLarge {
            len: bytes.len() as u64,
            max,
            max_s: config.max_duration_s,
        });
    }
    let format = wav::read_format(&bytes)?;
    if !(1..=2).contains(&format.channels) {
        return Err(AudioError::Unsupported(format!(
            "{} channels (need 1 or 2)",
            format.channels
        )));
    }
    if !config.allowed_rates.contains(&format.sample_rate) {
        return Err(AudioError::Unsupported(format!(
            "sample rate {} Hz (allowed: {:?})",
            format.sample_rate, config.allowed_rates
        )));
    }
    let duration_ms = format.duration_ms();
    let max_ms = config.max_duration_s as u64 * 1000;
    if duration_ms > max_ms {
        return Err(AudioError::TooLong {
            duration_ms,
            max_ms,
        });
    }
    // Every declared sample must be present: this is what catches truncation.
    wav::check_wav(&bytes)?;
    Ok(WavClip {
        sample_rate: format.sample_rate,
        channels: format.channels,
        duration_ms: duration_ms as u32,
        bytes,
    })
}

impl From<WavError> for AudioError {
    fn from(e: WavError) -> Self {
        match e {
            WavError::Malformed(m) => Self::Malformed(m),
            WavError::Unsupported(m) => Self::Unsupported(m),
            WavError::Truncated(m) => Self::Truncated(m),
        }
    }
}
