//! The transcription thread and its handle (STYLE rule 4, like the embedder).
//!
//! One OS thread owns the [`Recognizer`]; requests arrive over a channel and
//! are answered on a oneshot (async callers) or a plain channel (blocking
//! callers). The handle is cheap to clone; when the last clone is dropped the
//! channel closes, the thread finishes the request it is on, and the drop
//! joins it.

use std::{
    path::Path,
    sync::{mpsc, Arc, Mutex},
    thread,
};

use crate::{
    audio::{decode_wav, DEFAULT_MAX_SECONDS},
    error::SpeechError,
    mel::MelPadding,
    recognizer::Recognizer,
    transcript::Transcript,
};

type Outcome = Result<Transcript, SpeechError>;

enum Reply {
    Blocking(mpsc::Sender<Outcome>),
    Async(tokio::sync::oneshot::Sender<Outcome>),
}

struct Job {
    wav: Vec<u8>,
    locale: Option<String>,
    reply: Reply,
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct TranscribeOptions {
    /// Longest clip accepted, seconds; longer ones are refused with an error.
    pub max_seconds: f64,
    /// How the last window is padded after the clip. The default,
    /// [`MelPadding::ZeroFeatures`] (faster-whisper's), made fewer word
    /// errors than [`MelPadding::Silence`] (OpenAI's) on every model and
    /// condition of the fixture clips (`cargo run --release -p qloop-speech
    /// --example eval`; 12 clips, ~110 words, per condition; corpus WER):
    ///
    /// | model   | condition | silence | zero-features |
    /// |---------|-----------|---------|---------------|
    /// | tiny.en | clean     | 0.221   | 0.212         |
    /// | tiny.en | noisy     | 0.389   | 0.319         |
    /// | base    | clean     | 0.239   | 0.212         |
    /// | base    | noisy     | 0.336   | 0.292         |
    pub padding: MelPadding,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            max_seconds: DEFAULT_MAX_SECONDS,
            padding: MelPadding::default(),
        }
    }
}

struct Inner {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; then wait for it.
        self.jobs.take();
        if let Some(handle) = self.thread.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

/// A handle to the transcription thread.
#[derive(Clone)]
pub struct Transcriber {
    inner: Arc<Inner>,
    model: String,
    multilingual: bool,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber")
            .field("model", &self.model)
            .finish()
    }
}

fn run(recognizer: &mut Recognizer, job: &Job, options: TranscribeOptions) -> Outcome {
    let pcm = decode_wav(&job.wav, options.max_seconds)?;
    recognizer.transcribe_pcm(&pcm.samples, job.locale.as_deref())
}

impl Transcriber {
    /// Loads the CTranslate2 Whisper folder `dir` and starts the thread.
    pub fn load(dir: &Path, options: TranscribeOptions) -> Result<Transcriber, SpeechError> {
        let mut recognizer = Recognizer::load(dir)?;
        recognizer.padding = options.padding;
        let model = recognizer.name().to_owned();
        let multilingual = recognizer.multilingual();
        let (jobs, rx) = mpsc::channel::<Job>();
        let handle = thread::Builder::new()
            .name("transcriber".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let outcome = run(&mut recognizer, &job, options);
                    // The caller may have gone away (a dropped future).
                    let _ = match job.reply {
                        Reply::Blocking(tx) => tx.send(outcome).map_err(|_| ()),
                        Reply::Async(tx) => tx.send(outcome).map_err(|_| ()),
                    };
                }
            })
            .map_err(|e| SpeechError::Missing(format!("starting the transcription thread: {e}")))?;
        Ok(Transcriber {
            inner: Arc::new(Inner {
                jobs: Some(jobs),
                thread: Mutex::new(Some(handle)),
            }),
            model,
            multilingual,
        })
    }

    fn send(&self, job: Job) -> Result<(), SpeechError> {
        self.inner
            .jobs
            .as_ref()
            .ok_or(SpeechError::Stopped)?
            .send(job)
            .map_err(|_| SpeechError::Stopped)
    }

    /// Transcribes a WAV file's bytes without blocking the async runtime.
    /// `locale` is the envelope's BCP-47 locale (e.g. `en-US`).
    pub async fn transcribe(&self, wav: Vec<u8>, locale: Option<String>) -> Outcome {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job {
            wav,
            locale,
            reply: Reply::Async(tx),
        })?;
        rx.await.map_err(|_| SpeechError::Stopped)?
    }

    /// Transcribes a WAV file's bytes, blocking the calling thread (CLI, eval).
    pub fn transcribe_blocking(&self, wav: Vec<u8>, locale: Option<String>) -> Outcome {
        let (tx, rx) = mpsc::channel();
        self.send(Job {
            wav,
            locale,
            reply: Reply::Blocking(tx),
        })?;
        rx.recv().map_err(|_| SpeechError::Stopped)?
    }

    /// Names the model, stored beside every transcript it makes.
    pub fn model_version(&self) -> &str {
        &self.model
    }

    /// Whether the model follows the locale's language (else English only).
    pub fn multilingual(&self) -> bool {
        self.multilingual
    }
}
