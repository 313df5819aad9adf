//! A vehicle's view: what it sent and what its outbox reported lost.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Most feedback and losses listed on a vehicle's view.
pub const VEHICLE_VIEW_LIMIT: i64 = 200;

/// What one vehicle sent, and what its outbox lost.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VehicleView {
    /// The VIN.
    pub vin: String,
    /// Its feedback, newest first (at most [`VEHICLE_VIEW_LIMIT`]).
    pub feedback: Vec<VehicleFeedback>,
    /// The records its outbox reported lost, newest first.
    pub losses: Vec<LostMessageRecord>,
    /// Feedback this car reported lost that never arrived.
    pub lost_feedback: i64,
}

/// One feedback in a vehicle's view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VehicleFeedback {
    /// The car-made UUIDv7.
    pub id: Uuid,
    /// When the driver triggered it, Unix ms.
    pub captured_at_ms: i64,
    /// The driver's words, when transcribed.
    pub transcript: Option<String>,
    /// The audio clip's state (`incomplete` when a chunk was lost).
    pub audio_status: crate::domain::AudioStatus,
    /// Set when the car completed the capture after a stop.
    pub cut_short_reason: Option<String>,
    /// Its case.
    pub case_id: Option<i64>,
}

/// One loss a car reported.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LostMessageRecord {
    /// The car's id for the report.
    pub report_id: Uuid,
    /// The feedback the lost record belonged to, when the car could tell.
    pub feedback_id: Option<Uuid>,
    /// `feedback`, `audio_chunk`, `capture`, `receipt`, `satisfaction`,
    /// `loss_report` or `unknown`.
    pub lost: String,
    /// The lost audio chunk's index.
    pub chunk_index: Option<i64>,
    /// Why the car could not read it.
    pub reason: String,
    /// The car sent the message again from a copy it still had.
    pub resent: bool,
    /// The feedback is stored after all (another copy arrived).
    pub feedback_arrived: bool,
    /// When the car found it, Unix ms.
    pub detected_at_ms: i64,
    /// When the cloud stored the report, Unix ms.
    pub received_at_ms: i64,
}
