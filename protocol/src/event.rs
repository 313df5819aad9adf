//! Downlink events from the cloud to a car, and the car's receipts.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A message for the driver, shown by the HMI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleEvent {
    /// Unique id; the car's receipt names it.
    pub event_id: Uuid,
    /// The feedback this answers, if any.
    pub feedback_id: Option<Uuid>,
    /// The case number this concerns, if any.
    pub case_number: Option<i64>,
    /// What happened.
    pub kind: EventKind,
    /// Text for the driver, in the feedback's locale when known.
    pub message: String,
    /// When the cloud sent it, Unix ms.
    pub sent_at_ms: i64,
}

/// What a downlink event tells the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// The feedback arrived and is tracked as a case.
    Received,
    /// An engineer's first response.
    FirstResponse,
    /// Progress on the case.
    Update,
    /// The cause is fixed; the driver is asked to confirm.
    Resolved,
    /// A follow-up asking for the driver's satisfaction.
    FollowUp,
}

impl EventKind {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::FirstResponse => "first_response",
            Self::Update => "update",
            Self::Resolved => "resolved",
            Self::FollowUp => "follow_up",
        }
    }
}

/// The car's confirmation that an event reached the HMI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventReceipt {
    /// The VIN of the car that received it.
    pub vin: String,
    /// The event received.
    pub event_id: Uuid,
    /// When the HMI got it, Unix ms.
    pub received_at_ms: i64,
}

/// Car → cloud: the driver's answer to a follow-up (or an unprompted rating
/// after a resolution), given on the HMI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionReply {
    /// The VIN of the car; it must have reported the case.
    pub vin: String,
    /// The case the answer is about.
    pub case_number: i64,
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    /// What the driver said, if anything.
    pub comment: Option<String>,
    /// When the driver answered, Unix ms.
    pub answered_at_ms: i64,
}
