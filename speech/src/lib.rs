//! qloop speech: offline transcription of drivers' clips with Whisper
//! (tiny.en by default, base by choice), from CTranslate2 weights run on candle.
//!
//! # Layout
//! - [`weights`]: which model ([`ModelKind`]) and where its folder is; runs
//!   `speech/fetch.sh` on first use.
//! - [`ct2`]: reader of CTranslate2's `model.bin` (bounded, never panics).
//! - [`mapping`]: CTranslate2 names to `candle_transformers::models::whisper`'s,
//!   fused projections split, config derived from shapes.
//! - [`audio`]: WAV bytes to 16 kHz mono (any rate 8–192 kHz, 1–8 channels).
//! - [`mel`]: the Slaney filterbank and Whisper's log-mel spectrogram.
//! - [`tokens`]: special tokens, prompt, language from a locale.
//! - [`encoder`]: the audio encoder, written for the CPU; `layers`: its and
//!   the decoder's weights as the plain buffers of `qloop_kernels` (gemm
//!   calls, GELU, softmax, layer norm: the kernels the embedding encoder
//!   shares).
//! - [`decoder`]: the text decoder with a key/value cache.
//! - [`recognizer`]: encoder + greedy decoding over 30 s windows,
//!   no-speech detection, per-segment confidence.
//! - [`transcriber`]: the model on its own thread; the handle callers use.
//! - [`transcript`]: what comes back.
//! - [`wer`], [`eval`]: word error rate and the fixture evaluation.
//! - [`error`]: what can go wrong.
//!
//! # Using it (for ingest and triage)
//!
//! ```no_run
//! use qloop_speech::{model_dir, ModelKind, TranscribeOptions, Transcriber};
//!
//! # async fn demo(wav_bytes: Vec<u8>) -> Result<(), qloop_speech::SpeechError> {
//! // Once at start-up: finds (or fetches) the weights, loads them, starts
//! // the thread. Clone the handle freely; the thread ends with the last clone.
//! let dir = model_dir(ModelKind::TinyEn)?;
//! let asr = Transcriber::load(&dir, TranscribeOptions::default())?;
//!
//! // Per feedback with audio and no (or a poor) transcript: the envelope's
//! // WAV bytes and locale. Runs off the async runtime.
//! let t = asr.transcribe(wav_bytes, Some("en-US".into())).await?;
//! if t.no_speech {
//!     // Nothing was said: keep the feedback, store no transcript.
//! } else {
//!     // Store t.text with source "cloud_asr", t.confidence (0..=1) and
//!     // asr.model_version(), then classify from t.text.
//! }
//! # Ok(()) }
//! ```
//!
//! Errors are [`SpeechError`]: `Audio` for a clip that cannot be used (not
//! WAV, odd rate, longer than [`TranscribeOptions::max_seconds`]), `Missing`
//! / `File` / `Format` / `Mapping` at load, `Stopped` if the thread is gone.
//! English-only models transcribe English whatever the locale; multilingual
//! ones follow the locale's language or detect it when the locale names none
//! they know ([`Transcript::language`] says which was used).

#![forbid(unsafe_code)]

pub mod audio;
pub mod ct2;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod eval;
mod layers;
pub mod mapping;
pub mod mel;
pub mod recognizer;
pub mod tokens;
pub mod transcriber;
pub mod transcript;
pub mod weights;
pub mod wer;

pub use error::{FormatError, SpeechError};
pub use eval::{eval_asr, AsrReport};
pub use recognizer::Recognizer;
pub use transcriber::{TranscribeOptions, Transcriber};
pub use transcript::{Segment, Transcript};
pub use weights::{model_dir, ModelKind};
pub use wer::wer;
