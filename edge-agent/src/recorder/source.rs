//! Where a recording's samples come from: 16 kHz mono frames of 256 samples.

use std::path::Path;

use thiserror::Error;

use super::{FRAME, SAMPLE_RATE};

/// A source of audio failed or is not in the form the recorder needs.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The WAV file could not be read.
    #[error("cannot read {path}: {reason}")]
    Wav {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Not 16 kHz mono 16-bit.
    #[error("{0}: the recorder needs 16 kHz mono 16-bit audio")]
    Format(String),
    /// The capture device failed.
    #[error("microphone: {0}")]
    Device(String),
}

/// 16 kHz mono audio, one frame at a time.
pub trait AudioSource {
    /// Fills `frame`; false when the source has ended (a last partial frame
    /// is padded with silence).
    fn read_frame(&mut self, frame: &mut [i16; FRAME]) -> Result<bool, SourceError>;
}

/// A WAV file played as if it were the microphone.
pub struct WavSource {
    samples: std::vec::IntoIter<i16>,
}

impl WavSource {
    /// Opens a 16 kHz mono 16-bit WAV file (at most 10 minutes).
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let wav_err = |reason: String| SourceError::Wav {
            path: path.display().to_string(),
            reason,
        };
        let reader = hound::WavReader::open(path).map_err(|e| wav_err(e.to_string()))?;
        let spec = reader.spec();
        if spec.sample_rate != SAMPLE_RATE
            || spec.channels != 1
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(SourceError::Format(format!(
                "{} is {} Hz, {} channel(s), {} bits",
                path.display(),
                spec.sample_rate,
                spec.channels,
                spec.bits_per_sample
            )));
        }
        const MAX_SAMPLES: u32 = 10 * 60 * SAMPLE_RATE;
        if reader.duration() > MAX_SAMPLES {
            return Err(wav_err("longer than 10 minutes".into()));
        }
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| wav_err(e.to_string()))?;
        Ok(Self {
            samples: samples.into_iter(),
        })
    }
}

impl AudioSource for WavSource {
    fn read_frame(&mut self, frame: &mut [i16; FRAME]) -> Result<bool, SourceError> {
        let mut n = 0;
        for slot in frame.iter_mut() {
            match self.samples.next() {
                Some(s) => {
                    *slot = s;
                    n += 1;
                }
                None => *slot = 0,
            }
        }
        Ok(n > 0)
    }
}

/// An ALSA capture device (`default`, `hw:0,0`, …) at 16 kHz mono 16-bit.
#[cfg(feature = "alsa")]
pub struct AlsaSource {
    pcm: alsa::PCM,
}

#[cfg(feature = "alsa")]
impl AlsaSource {
    /// Opens `device` for capture.
    pub fn open(device: &str) -> Result<Self, SourceError> {
        use alsa::pcm::{Access, Format, HwParams};
        let dev = |e: alsa::Error| SourceError::Device(format!("{device}: {e}"));
        let pcm = alsa::PCM::new(device, alsa::Direction::Capture, false).map_err(dev)?;
        {
            let hw = HwParams::any(&pcm).map_err(dev)?;
            hw.set_channels(1).map_err(dev)?;
            hw.set_rate(SAMPLE_RATE, alsa::ValueOr::Nearest)
                .map_err(dev)?;
            hw.set_format(Format::s16()).map_err(dev)?;
            hw.set_access(Access::RWInterleaved).map_err(dev)?;
            pcm.hw_params(&hw).map_err(dev)?;
            let rate = hw.get_rate().map_err(dev)?;
            if rate != SAMPLE_RATE {
                return Err(SourceError::Format(format!("{device} runs at {rate} Hz")));
            }
        }
        pcm.start().map_err(dev)?;
        Ok(Self { pcm })
    }
}

#[cfg(feature = "alsa")]
impl AudioSource for AlsaSource {
    fn read_frame(&mut self, frame: &mut [i16; FRAME]) -> Result<bool, SourceError> {
        let io = self
            .pcm
            .io_i16()
            .map_err(|e| SourceError::Device(e.to_string()))?;
        let mut filled = 0;
        while filled < FRAME {
            match io.readi(&mut frame[filled..]) {
                Ok(n) => filled += n,
                // An overrun: recover and go on; a few samples are lost.
                Err(e) => self
                    .pcm
                    .try_recover(e, true)
                    .map_err(|e| SourceError::Device(e.to_string()))?,
            }
        }
        Ok(true)
    }
}
