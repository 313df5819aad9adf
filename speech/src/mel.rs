//! Whisper's input: an 80-bin log-mel spectrogram of 16 kHz audio.
//!
//! The filterbank is librosa's `filters.mel(sr=16000, n_fft=400, n_mels=80)`
//! (Slaney's mel scale, Slaney area normalisation), the one OpenAI ships as
//! `mel_filters.npz`. The spectrogram follows `whisper.audio.log_mel_spectrogram`:
//! a periodic Hann window of 400 samples, hop 160, reflect padding of 200 at
//! both ends, power spectrum, the last frame dropped, `log10(max(x, 1e-10))`,
//! floor at the maximum minus 8, then `(x + 4) / 4`. Like Whisper and
//! OpenAI's Whisper, 30 s of silence is appended before the transform, so the
//! frames after the clip are those of silence: the floor value
//! ([`MelPadding::Silence`]). faster-whisper instead appends 160 samples and
//! pads the feature window with zeros ([`MelPadding::ZeroFeatures`], the
//! default: fewer word errors on the fixture clips, see
//! [`crate::TranscribeOptions::padding`]; and token by token what CTranslate2
//! decodes).

use std::sync::Arc;

use rustfft::{num_complex::Complex32, Fft, FftPlanner};

/// Sample rate the model hears.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT length (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP: usize = 160;
/// Frequency bins of one frame.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Frames in one 30 s window.
pub const WINDOW_FRAMES: usize = 3000;
/// Samples in one 30 s window.
pub const WINDOW_SAMPLES: usize = WINDOW_FRAMES * HOP;
/// `log10` of the floor applied to mel energies.
const LOG_FLOOR: f32 = -10.0;

fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / log_step
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (log_step * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// The Slaney mel filterbank, `n_mels` rows of [`N_BINS`] weights, row-major.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let sr = SAMPLE_RATE as f64;
    let fft_freqs: Vec<f64> = (0..N_BINS)
        .map(|i| i as f64 * sr / 2.0 / (N_BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0f32; n_mels * N_BINS];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            out[m * N_BINS + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

/// What fills a 30 s window after the end of the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MelPadding {
    /// The log-mel of appended silence (OpenAI's Whisper, Hugging Face).
    Silence,
    /// Zeros in the normalised log-mel (faster-whisper on CTranslate2); the
    /// default.
    #[default]
    ZeroFeatures,
}

/// One filter's non-zero weights, from bin `start` on.
struct Band {
    start: usize,
    weights: Vec<f32>,
}

/// Computes log-mel spectrograms; holds the FFT plan, window and filterbank.
pub struct LogMel {
    n_mels: usize,
    bands: Vec<Band>,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl LogMel {
    /// A spectrogram maker with `n_mels` bins (80 for every Whisper up to large-v2).
    pub fn new(n_mels: usize) -> LogMel {
        let filters = mel_filters(n_mels);
        let bands = filters
            .chunks(N_BINS)
            .map(|row| {
                let start = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = row.iter().rposition(|&w| w != 0.0).map_or(start, |e| e + 1);
                Band {
                    start,
                    weights: row[start..end].to_vec(),
                }
            })
            .collect();
        let window = (0..N_FFT)
            .map(|n| {
                let x = 2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        LogMel {
            n_mels,
            bands,
            window,
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
        }
    }

    /// Mel bins per frame.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Number of 30 s windows a clip of `samples` at 16 kHz needs (at least one).
    pub fn windows_for(samples: usize) -> usize {
        (samples / HOP).div_ceil(WINDOW_FRAMES).max(1)
    }

    /// The normalised log-mel of `audio` (16 kHz mono) as `n_mels` rows of
    /// `windows_for(audio.len()) * 3000` frames, row-major. Frames past the
    /// audio are filled as `padding` says.
    pub fn compute(&self, audio: &[f32], padding: MelPadding) -> Vec<f32> {
        let frames = Self::windows_for(audio.len()) * WINDOW_FRAMES;
        let mut mel = vec![LOG_FLOOR; self.n_mels * frames];
        // Frame t covers padded samples [t·HOP, t·HOP + N_FFT), i.e. audio
        // samples from t·HOP − 200. Frames that start at or past the end of
        // the audio see only the appended zeros: their energy is 0.
        let live = if audio.is_empty() {
            0
        } else {
            ((audio.len() + N_FFT / 2).div_ceil(HOP)).min(frames)
        };
        let sample = |i: isize| -> f32 {
            // Reflect padding at the start; zeros (the appended silence) at the end.
            let i = if i < 0 { -i } else { i } as usize;
            audio.get(i).copied().unwrap_or(0.0)
        };
        let mut buf = vec![Complex32::new(0.0, 0.0); N_FFT];
        let mut scratch = vec![Complex32::new(0.0, 0.0); self.fft.get_inplace_scratch_len()];
        let mut power = vec![0f32; N_BINS];
        for t in 0..live {
            let origin = (t * HOP) as isize - (N_FFT / 2) as isize;
            for (n, slot) in buf.iter_mut().enumerate() {
                *slot = Complex32::new(sample(origin + n as isize) * self.window[n], 0.0);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            for (p, c) in power.iter_mut().zip(&buf) {
                *p = c.norm_sqr();
            }
            for (m, band) in self.bands.iter().enumerate() {
                let energy: f32 = band
                    .weights
                    .iter()
                    .zip(&power[band.start..])
                    .map(|(w, p)| w * p)
                    .sum();
                mel[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut mel {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        if padding == MelPadding::ZeroFeatures {
            // faster-whisper's frames: the clip plus 160 zero samples, the
            // last STFT frame dropped; the rest of the window is 0.
            let real = ((audio.len() + HOP) / HOP).min(frames);
            for row in mel.chunks_mut(frames) {
                row[real..].fill(0.0);
            }
        }
        mel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Slaney scale is linear below 1 kHz and logarithmic above, and the
    /// two conversions invert each other.
    #[test]
    fn mel_scale_round_trips() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
        for hz in [0.0, 100.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6, "{hz}");
        }
    }

    /// 80 triangular filters over 201 bins, each non-negative with one peak,
    /// centres rising with the index, and Slaney normalisation making each
    /// filter's area (in Hz) equal to 1.
    #[test]
    fn filterbank_is_80_slaney_triangles() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        let hz_per_bin = 8000.0 / 200.0;
        let mut last_peak = 0;
        for row in f.chunks(201) {
            assert!(row.iter().all(|&w| w >= 0.0));
            let peak = (0..201).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert!(peak >= last_peak);
            last_peak = peak;
        }
        // The wider (upper) filters span enough bins for their sampled area
        // to be near the continuous one (librosa's filter 40 has 1.067).
        // speech/tests/mel_reference.rs checks every value against librosa's.
        for row in f.chunks(201).skip(40) {
            let area: f32 = row.iter().sum::<f32>() * hz_per_bin;
            assert!((area - 1.0).abs() < 0.1, "area {area}");
        }
    }

    /// A clip is cut into 30 s windows; silence maps to the floor value, and a
    /// tone raises only the mel bins around its frequency.
    #[test]
    fn log_mel_of_silence_and_a_tone() {
        let lm = LogMel::new(80);
        assert_eq!(LogMel::windows_for(0), 1);
        assert_eq!(LogMel::windows_for(WINDOW_SAMPLES), 1);
        assert_eq!(LogMel::windows_for(WINDOW_SAMPLES + HOP), 2);
        let silent = lm.compute(&vec![0.0; 16_000], MelPadding::Silence);
        assert_eq!(silent.len(), 80 * 3000);
        assert!(silent
            .iter()
            .all(|&v| (v - (-10.0 + 4.0) / 4.0).abs() < 1e-6));

        let tone: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin() * 0.5)
            .collect();
        let mel = lm.compute(&tone, MelPadding::Silence);
        let frame = 50;
        let column: Vec<f32> = (0..80).map(|m| mel[m * 3000 + frame]).collect();
        let loudest = (0..80)
            .max_by(|&a, &b| column[a].total_cmp(&column[b]))
            .unwrap();
        // 1 kHz is mel 15; the 80 centres are spaced (hz_to_mel(8000)/81) apart.
        let expected = (15.0 / (hz_to_mel(8000.0) / 81.0)).round() as usize - 1;
        assert!(loudest.abs_diff(expected) <= 1, "{loudest} vs {expected}");
        assert!(
            column[loudest] - column[5] > 1.5,
            "a tone stands out of the floor"
        );
        // Frames after the tone ended are at the floor (max − 8, normalised).
        let floor = mel.iter().copied().fold(f32::INFINITY, f32::min);
        assert!((mel[10 * 3000 + 2000] - floor).abs() < 1e-6);
        // faster-whisper's padding: zeros from frame (16000 + 160) / 160 = 101 on.
        let fw = lm.compute(&tone, MelPadding::ZeroFeatures);
        assert_eq!(&fw[..3000][..101], &mel[..3000][..101]);
        assert!(fw[..3000][101..].iter().all(|&v| v == 0.0));
    }
}
