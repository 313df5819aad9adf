//! Car → cloud: what the car's outbox lost.
//!
//! A record the agent finds torn or corrupt (a power cut on storage that
//! lied about its fsync, a failing flash cell) is quarantined so the queue
//! goes on. The driver's words must not vanish without a trace, so the agent
//! reports each such record in a [`LossReport`]: which feedback it belonged
//! to, what kind of message it was, and why it was unreadable. Where the agent
//! still had the source audio and sent a lost chunk again, it says so
//! (`resent`), and the cloud does not mark the clip incomplete.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest reason text, in bytes.
pub const MAX_LOSS_REASON_BYTES: usize = 512;

/// One quarantined outbox record, as the car reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossReport {
    /// Unique per lost record; the cloud stores each report once.
    pub report_id: Uuid,
    /// The VIN of the car (checked against the topic).
    pub vin: String,
    /// The feedback the record belonged to, when the record's header or file
    /// name still says so.
    pub feedback_id: Option<Uuid>,
    /// What the record held.
    pub lost: LostMessage,
    /// Why it could not be read (the agent's words, for engineers).
    pub reason: String,
    /// True when the agent sent the same message again from a copy it still
    /// had (for audio: re-chunked from the source clip), so nothing is missing.
    pub resent: bool,
    /// When the agent found it, Unix ms.
    pub detected_at_ms: i64,
}

/// The kind of message a lost record held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LostMessage {
    /// A feedback envelope: the feedback itself never arrives.
    Feedback,
    /// One piece of a feedback's audio.
    AudioChunk {
        /// Zero-based position of the lost piece.
        index: u32,
    },
    /// An unfinished capture the agent was completing after a restart.
    Capture,
    /// A receipt for a downlink event.
    Receipt,
    /// The driver's satisfaction answer.
    Satisfaction,
    /// A loss report (reporting it again would loop).
    LossReport,
    /// Nothing in the record could be trusted, not even its kind.
    Unknown,
}

impl LostMessage {
    /// Stable lowercase name, for storage and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feedback => "feedback",
            Self::AudioChunk { .. } => "audio_chunk",
            Self::Capture => "capture",
            Self::Receipt => "receipt",
            Self::Satisfaction => "satisfaction",
            Self::LossReport => "loss_report",
            Self::Unknown => "unknown",
        }
    }
}
