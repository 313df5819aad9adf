//! Captures: from a trigger request to durable outbox entries.
//!
//! # Layout
//! - [`envelope`]: building the envelope and encoding it to fit (chunking,
//!   telemetry thinning).
//! - [`telemetry_source`]: where snapshots come from (none, candump replay).
//! - [`recovery`]: finishing the drafts of captures the agent stopped in.
//! - this file: [`Capturer`], the pipeline shared by the control socket and
//!   the `send` command: validate → draft on disk (`accepted`) → post-trigger
//!   window → snapshot → envelope → commit.
//!
//! **`accepted` means on disk.** [`Capturer::accept`] writes the capture's
//! draft (words, whole clip, pre-trigger telemetry) with fsync before it
//! returns; only then does the control socket answer `accepted`. A kill or
//! power cut in the post-trigger window leaves the draft, which the next
//! start sends marked `cut_short` ([`recovery::finish_drafts`]).

pub mod envelope;
pub mod recovery;
pub mod telemetry_source;

use std::{path::PathBuf, sync::Arc};

use qloop_protocol::{TriggerKind, ValidationError};
use thiserror::Error;
use uuid::Uuid;

pub use envelope::{build_envelope, into_messages, now_ms, CaptureInput, CaptureMessages};
pub use recovery::{finish_drafts, DraftsFinished};
pub use telemetry_source::{NoTelemetry, ReplayTelemetry, TelemetrySource};

use crate::{
    audio::{load_wav, AudioError, WavClip},
    config::Config,
    lock::lock_or_recover,
    outbox::{EntryId, OutboxError, SharedOutbox},
};

/// Why a capture failed.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// Neither words nor audio: nothing to report.
    #[error("a capture needs a transcript or an audio clip")]
    Empty,
    /// The clip was refused.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The envelope breaks a protocol limit.
    #[error("feedback envelope is invalid: {0}")]
    Invalid(#[from] ValidationError),
    /// Even without telemetry the envelope does not fit one message.
    #[error("feedback envelope is {len} bytes even without telemetry, over {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The telemetry source failed.
    #[error("telemetry snapshot failed: {0}")]
    Telemetry(String),
    /// The outbox refused or failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The draft could not be written, so the capture is not accepted.
    #[error("cannot store the capture's draft: {0}")]
    Draft(std::io::Error),
}

/// What a driver or a tool asks to send.
#[derive(Debug, Clone)]
pub struct CaptureRequest {
    /// What started it.
    pub trigger: TriggerKind,
    /// The transcript, when there is one.
    pub transcript: Option<String>,
    /// The recogniser's confidence in 0..=1.
    pub confidence: Option<f32>,
    /// A WAV file with the driver's words.
    pub audio: Option<PathBuf>,
}

impl CaptureRequest {
    /// A CLI request with just a transcript.
    pub fn transcript(text: impl Into<String>) -> Self {
        Self {
            trigger: TriggerKind::Cli,
            transcript: Some(text.into()),
            confidence: None,
            audio: None,
        }
    }
}

/// A request whose inputs were checked and which has its feedback id.
#[derive(Debug, Clone)]
pub struct AcceptedCapture {
    /// The idempotency key.
    pub feedback_id: Uuid,
    /// When the trigger happened, Unix ms.
    pub captured_at_ms: i64,
    request: CaptureRequest,
    audio: Option<WavClip>,
    /// The pre-trigger telemetry in the draft: the fallback when the full
    /// window cannot be read.
    before: qloop_protocol::TelemetrySnapshot,
}

/// What a committed capture became.
#[derive(Debug, Clone)]
pub struct CommittedCapture {
    /// The idempotency key.
    pub feedback_id: Uuid,
    /// Outbox entries, envelope first.
    pub entries: Vec<EntryId>,
    /// Audio chunks among them.
    pub audio_chunks: usize,
    /// Telemetry samples dropped to fit.
    pub samples_dropped: usize,
    /// Telemetry signals in the envelope's snapshot before fitting.
    pub signals: usize,
}

/// The capture pipeline.
#[derive(Clone)]
pub struct Capturer {
    config: Arc<Config>,
    outbox: SharedOutbox,
    telemetry: Arc<dyn TelemetrySource>,
}

impl Capturer {
    /// A pipeline committing into `outbox`.
    pub fn new(
        config: Arc<Config>,
        outbox: SharedOutbox,
        telemetry: Arc<dyn TelemetrySource>,
    ) -> Self {
        Self {
            config,
            outbox,
            telemetry,
        }
    }

    /// Checks the inputs (reads and validates the clip), assigns the
    /// feedback id, and writes the capture's draft durably: words, clip and
    /// pre-trigger telemetry, already checked to make valid messages. When
    /// this returns `Ok`, a kill or power cut no longer loses the capture.
    /// Blocking file I/O: call from a blocking context.
    pub fn accept(&self, request: CaptureRequest) -> Result<AcceptedCapture, CaptureError> {
        let has_words = request
            .transcript
            .as_ref()
            .is_some_and(|t| !t.trim().is_empty());
        if !has_words && request.audio.is_none() {
            return Err(CaptureError::Empty);
        }
        let audio = match &request.audio {
            Some(path) => Some(load_wav(path, &self.config.audio)?),
            None => None,
        };
        let feedback_id = Uuid::now_v7();
        let captured_at_ms = now_ms();
        let before = self
            .telemetry
            .snapshot_before(captured_at_ms)
            .map_err(CaptureError::Telemetry)?;
        let draft = build_envelope(
            &self.config,
            CaptureInput {
                feedback_id,
                trigger: request.trigger,
                transcript: request.transcript.clone(),
                confidence: request.confidence,
                audio: audio.clone(),
                telemetry: before.clone(),
                captured_at_ms,
            },
        );
        // What the draft would send if the agent stopped now must be valid:
        // a draft that cannot become messages is no promise at all.
        into_messages(draft.clone())?;
        let drafts = lock_or_recover(&self.outbox, "outbox").drafts().clone();
        drafts.write(&draft).map_err(CaptureError::Draft)?;
        Ok(AcceptedCapture {
            feedback_id,
            captured_at_ms,
            request,
            audio,
            before,
        })
    }

    /// Takes the snapshot, builds and validates the envelope and commits it
    /// with its chunks. Blocking file I/O: call from a blocking context.
    pub fn commit(&self, accepted: AcceptedCapture) -> Result<CommittedCapture, CaptureError> {
        let telemetry = match self.telemetry.snapshot(accepted.captured_at_ms) {
            Ok(full) => full,
            Err(e) => {
                tracing::warn!(feedback_id = %accepted.feedback_id, error = %e,
                    "post-trigger telemetry unreadable; sending the pre-trigger snapshot");
                accepted.before
            }
        };
        let signals = telemetry.signals.len();
        let input = CaptureInput {
            feedback_id: accepted.feedback_id,
            trigger: accepted.request.trigger,
            transcript: accepted.request.transcript,
            confidence: accepted.request.confidence,
            audio: accepted.audio,
            telemetry,
            captured_at_ms: accepted.captured_at_ms,
        };
        let messages = into_messages(build_envelope(&self.config, input))?;
        let entries = {
            // One lock for the commit and the draft's fate, so the uplink
            // cannot deliver (and forget) the chunks before their source is kept.
            let mut outbox = lock_or_recover(&self.outbox, "outbox");
            let entries = outbox.commit_all(&messages.messages)?;
            recovery::settle_draft(outbox.drafts(), messages.feedback_id, messages.audio_chunks);
            entries
        };
        tracing::info!(
            feedback_id = %messages.feedback_id,
            entries = entries.len(),
            samples_dropped = messages.samples_dropped,
            "capture committed to the outbox"
        );
        Ok(CommittedCapture {
            feedback_id: messages.feedback_id,
            entries,
            audio_chunks: messages.audio_chunks,
            samples_dropped: messages.samples_dropped,
            signals,
        })
    }

    /// `accept` then `commit`.
    pub fn capture(&self, request: CaptureRequest) -> Result<CommittedCapture, CaptureError> {
        self.commit(self.accept(request)?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
