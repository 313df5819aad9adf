//! From WAV bytes to 16 kHz mono samples in [-1, 1].
//!
//! The header is checked before any sample is read: a clip longer than the
//! limit is refused with its length, so a two-hour recording costs nothing.
//! Reading stops at the limit even when the header under-states the length.
//! Channels are averaged, then the clip is resampled with rubato's
//! synchronous FFT resampler (band-limited, so 44.1/48 kHz speech does not
//! alias into the 0–8 kHz band the model hears).

use std::io::Cursor;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::{error::SpeechError, mel::SAMPLE_RATE};

/// Longest clip transcribed by default: ten minutes, far above a driver's
/// remark and far below what would tie the transcription thread up for long.
pub const DEFAULT_MAX_SECONDS: f64 = 600.0;

/// Sample rates accepted (telephone 8 kHz up to studio 192 kHz).
const RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
/// Most channels accepted.
const MAX_CHANNELS: u16 = 8;

/// Decoded audio ready for the log-mel.
#[derive(Debug, Clone)]
pub struct Pcm16k {
    /// Mono samples at 16 kHz.
    pub samples: Vec<f32>,
    /// Sample rate of the source.
    pub source_rate: u32,
    /// Channels of the source.
    pub source_channels: u16,
}

impl Pcm16k {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

fn audio_err(msg: impl Into<String>) -> SpeechError {
    SpeechError::Audio(msg.into())
}

/// Decodes a RIFF/WAVE file (integer PCM of 8–32 bits or 32-bit float) and
/// returns it as 16 kHz mono. Clips longer than `max_seconds` are refused.
pub fn decode_wav(bytes: &[u8], max_seconds: f64) -> Result<Pcm16k, SpeechError> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| audio_err(format!("not a readable WAV file: {e}")))?;
    let spec = reader.spec();
    if !RATES.contains(&spec.sample_rate) {
        return Err(audio_err(format!(
            "sample rate {} Hz is outside {}..={} Hz",
            spec.sample_rate,
            RATES.start(),
            RATES.end()
        )));
    }
    if spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(audio_err(format!(
            "{} channels (1..={MAX_CHANNELS})",
            spec.channels
        )));
    }
    let seconds = reader.duration() as f64 / spec.sample_rate as f64;
    if seconds > max_seconds {
        return Err(audio_err(format!(
            "clip is {seconds:.1} s long; the limit is {max_seconds:.0} s"
        )));
    }
    let channels = spec.channels as usize;
    let max_frames = (max_seconds * spec.sample_rate as f64).ceil() as usize;
    // Bounded by the header (checked above) and by the bytes actually there.
    let capacity = (reader.duration() as usize).min(bytes.len() / channels.max(1));
    let mut mono = Vec::with_capacity(capacity);
    let mut frame_sum = 0f32;
    let mut in_frame = 0;
    let mut push = |v: f32| -> Result<(), SpeechError> {
        frame_sum += v;
        in_frame += 1;
        if in_frame == channels {
            if mono.len() >= max_frames {
                return Err(audio_err(format!(
                    "clip holds more than {max_seconds:.0} s of samples"
                )));
            }
            mono.push(frame_sum / channels as f32);
            frame_sum = 0.0;
            in_frame = 0;
        }
        Ok(())
    };
    let read_err = |e: hound::Error| audio_err(format!("reading samples: {e}"));
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for s in reader.samples::<f32>() {
                let v = s.map_err(read_err)?;
                push(if v.is_finite() {
                    v.clamp(-1.0, 1.0)
                } else {
                    0.0
                })?;
            }
        }
        hound::SampleFormat::Int => {
            if !(8..=32).contains(&spec.bits_per_sample) {
                return Err(audio_err(format!(
                    "{} bits per sample",
                    spec.bits_per_sample
                )));
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            for s in reader.samples::<i32>() {
                push(s.map_err(read_err)? as f32 * scale)?;
            }
        }
    }
    let samples = resample(&mono, spec.sample_rate)?;
    Ok(Pcm16k {
        samples,
        source_rate: spec.sample_rate,
        source_channels: spec.channels,
    })
}

/// Resamples mono `samples` at `rate` Hz to 16 kHz.
pub fn resample(samples: &[f32], rate: u32) -> Result<Vec<f32>, SpeechError> {
    resample_between(samples, rate, SAMPLE_RATE as u32)
}

/// Resamples mono `samples` from `from` Hz to `to` Hz.
pub fn resample_between(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, SpeechError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let err = |e: String| audio_err(format!("resampling {from} Hz to {to} Hz: {e}"));
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| err(e.to_string()))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| err(e.to_string()))?;
    let out = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| err(e.to_string()))?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, frames: usize, f: impl Fn(usize, u16) -> i16) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..frames {
            for c in 0..channels {
                w.write_sample(f(i, c)).unwrap();
            }
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    /// 8 kHz stereo becomes 16 kHz mono of twice as many samples, the average
    /// of both channels, with a 440 Hz tone still at 440 Hz.
    #[test]
    fn eight_khz_stereo_becomes_16khz_mono() {
        let tone = |i: usize, c: u16| {
            let v = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 8000.0).sin() * 16000.0;
            if c == 0 {
                v as i16
            } else {
                (v * 0.5) as i16
            }
        };
        let pcm = decode_wav(&wav(8000, 2, 8000, tone), 600.0).unwrap();
        assert_eq!((pcm.source_rate, pcm.source_channels), (8000, 2));
        assert!(
            pcm.samples.len().abs_diff(16_000) <= 1,
            "{}",
            pcm.samples.len()
        );
        // Zero crossings over the middle half second: 440 Hz gives ~440.
        let mid = &pcm.samples[4000..12000];
        let crossings = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!(
            (215..=225).contains(&crossings),
            "{crossings} upward crossings in 0.5 s"
        );
        let peak = mid.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            (peak - 0.75 * 16000.0 / 32768.0).abs() < 0.03,
            "peak {peak}"
        );
    }

    /// A clip over the limit is refused from its header with its length.
    #[test]
    fn too_long_is_refused_before_reading() {
        let bytes = wav(16_000, 1, 16_000 * 3, |_, _| 0);
        let err = decode_wav(&bytes, 2.0).unwrap_err().to_string();
        assert!(err.contains("3.0 s long"), "{err}");
    }

    /// Bytes that are not a WAV file give an audio error naming the problem.
    #[test]
    fn garbage_is_an_error() {
        let err = decode_wav(b"not a wav at all", 600.0).unwrap_err();
        assert!(matches!(err, SpeechError::Audio(_)), "{err}");
        let mut truncated = wav(16_000, 1, 1000, |i, _| i as i16);
        truncated.truncate(100);
        let _ = decode_wav(&truncated, 600.0).map(|p| assert!(p.samples.len() <= 1000));
    }

    proptest::proptest! {
        /// Arbitrary bytes behind a valid WAV header never panic the decoder.
        #[test]
        fn corrupt_wav_never_panics(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..256), cut in 0usize..200) {
            let mut bytes = wav(16_000, 1, 64, |i, _| (i * 100) as i16);
            bytes.truncate(44 + cut.min(bytes.len() - 44));
            bytes.extend(tail);
            if let Ok(p) = decode_wav(&bytes, 600.0) {
                proptest::prop_assert!(p.samples.iter().all(|v| v.is_finite()));
            }
        }
    }
}
