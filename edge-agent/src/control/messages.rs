//! The control socket's JSON-lines vocabulary.
//!
//! Requests (one JSON object per line):
//! - `{"type":"trigger","transcript":"…","confidence":0.9,"audio":"/x.wav","trigger":"voice"}`
//!   (`trigger`: `voice`, `hmi`, `button` or `cli`; default `hmi`)
//! - `{"type":"status"}`
//! - `{"type":"subscribe"}`: receive downlink events on this connection
//! - `{"type":"satisfaction","case_number":12,"score":4,"comment":"…"}`: the
//!   driver's answer to a follow-up, committed to the outbox and sent
//!
//! Replies: `accepted`, then `stored` (committed to the outbox after the
//! post-trigger window) or `error`; `status`; `subscribed`; and `event` lines
//! for subscribers.
//!
//! **`accepted` means on disk.** It is sent only once the inputs are checked,
//! the feedback id is assigned and the capture's draft (the words, the whole
//! clip, the pre-trigger telemetry) is written with fsync. From then on a
//! kill or a power cut does not lose it: the next start sends it marked
//! `cut_short`. `stored` adds the post-trigger telemetry.

use std::path::PathBuf;

use qloop_protocol::{TriggerKind, VehicleEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A request from the voice assistant or HMI.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Capture one feedback.
    Trigger {
        /// The driver's words.
        #[serde(default)]
        transcript: Option<String>,
        /// The recogniser's confidence, 0..=1.
        #[serde(default)]
        confidence: Option<f32>,
        /// A WAV file with the driver's words.
        #[serde(default)]
        audio: Option<PathBuf>,
        /// `voice`, `hmi`, `button` or `cli`.
        #[serde(default)]
        trigger: Option<String>,
    },
    /// Report outbox depth and connection state.
    Status,
    /// Send downlink events to this connection.
    Subscribe,
    /// The driver's satisfaction with a resolved case.
    Satisfaction {
        /// The case asked about.
        case_number: i64,
        /// 1 (very unhappy) to 5 (very happy).
        score: u8,
        /// What the driver said.
        #[serde(default)]
        comment: Option<String>,
    },
}

/// A reply or notification to a client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlReply {
    /// The capture is on disk (its draft, fsynced) and will be sent even if
    /// the agent stops now; the post-trigger window is under way.
    Accepted {
        /// The idempotency key of the feedback.
        feedback_id: Uuid,
    },
    /// The capture is durably in the outbox.
    Stored {
        /// The feedback.
        feedback_id: Uuid,
        /// Outbox entries it became.
        entries: usize,
    },
    /// The satisfaction answer is durably in the outbox.
    SatisfactionStored {
        /// The case it is about.
        case_number: i64,
    },
    /// The request failed.
    Error {
        /// What went wrong.
        message: String,
    },
    /// Agent status.
    Status {
        /// Entries waiting in the outbox.
        outbox_entries: usize,
        /// Bytes waiting in the outbox.
        outbox_bytes: u64,
        /// Files quarantined since start.
        quarantined: u64,
        /// Entries evicted by the quota rule since start.
        evicted: u64,
        /// Connected to the broker.
        connected: bool,
        /// Last connection error.
        last_error: Option<String>,
        /// PUBACKs received since start.
        acknowledged: u64,
    },
    /// Events will follow on this connection.
    Subscribed,
    /// A downlink event for the driver.
    Event(EventView),
}

/// A downlink event as HMI clients see it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct EventView {
    /// Event id.
    pub event_id: Uuid,
    /// The feedback it answers.
    pub feedback_id: Option<Uuid>,
    /// The case number.
    pub case_number: Option<i64>,
    /// `received`, `first_response`, `update`, `resolved`, `follow_up`.
    pub kind: String,
    /// Text for the driver.
    pub message: String,
    /// When the cloud sent it, Unix ms.
    pub sent_at_ms: i64,
}

impl From<&VehicleEvent> for EventView {
    fn from(e: &VehicleEvent) -> Self {
        Self {
            event_id: e.event_id,
            feedback_id: e.feedback_id,
            case_number: e.case_number,
            kind: e.kind.as_str().to_string(),
            message: e.message.clone(),
            sent_at_ms: e.sent_at_ms,
        }
    }
}

/// Parses a trigger kind name.
pub fn parse_trigger_kind(name: Option<&str>) -> Result<TriggerKind, String> {
    Ok(match name.unwrap_or("hmi") {
        "voice" => TriggerKind::Voice,
        "hmi" => TriggerKind::Hmi,
        "button" => TriggerKind::Button,
        "cli" => TriggerKind::Cli,
        other => {
            return Err(format!(
                "unknown trigger {other:?} (voice, hmi, button, cli)"
            ))
        }
    })
}

impl ControlReply {
    /// The reply as one JSON line with its newline.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("replies always serialize");
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_line_parses_and_unknown_types_are_errors() {
        let r: ControlRequest = serde_json::from_str(
            r#"{"type":"trigger","transcript":"brakes squeal","confidence":0.9,"trigger":"voice"}"#,
        )
        .unwrap();
        assert!(
            matches!(r, ControlRequest::Trigger { ref transcript, .. } if transcript.as_deref() == Some("brakes squeal"))
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"type":"reboot"}"#).is_err());
        assert_eq!(parse_trigger_kind(Some("voice")), Ok(TriggerKind::Voice));
        assert!(parse_trigger_kind(Some("telepathy")).is_err());
    }

    #[test]
    fn replies_are_single_json_lines_tagged_by_type() {
        let line = ControlReply::Error {
            message: "bad\nthing".into(),
        }
        .to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.starts_with(r#"{"type":"error""#), "{line}");
    }
}
