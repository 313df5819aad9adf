//! Cases and their feedback as the API serves them, and the case list's
//! paging (its query is [`super::CaseQuery`]).

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{
    AsrStatus, AudioStatus, CaseStatus, MatchKind, Severity, TranscriptSource, Trigger,
};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many items match in all pages.
    pub total: i64,
    /// The page size used.
    pub limit: i64,
    /// The offset used.
    pub offset: i64,
}

/// A case as a listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Case number.
    pub id: i64,
    /// Workflow status, e.g. `new`.
    pub status: CaseStatus,
    /// Category, `untriaged` until a model classifies it.
    pub category: String,
    /// Responsible department, once routed.
    pub department: Option<String>,
    /// Severity, `unassessed` until a model assesses it.
    pub severity: Severity,
    /// The hazard a major case names, e.g. `loss_of_braking`: the first
    /// one triage named for a major report of it; `null` when none.
    #[schema(value_type = Option<String>, example = "loss_of_braking")]
    pub hazard: Option<qloop_models::Hazard>,
    /// Short title from the first words of the transcript.
    pub title: String,
    /// How many distinct vehicles reported it.
    pub vehicle_count: i64,
    /// How many feedbacks are linked to it (0 once merged away).
    pub occurrence_count: i64,
    /// When it became an emerging issue (many vehicles in a short window), Unix ms.
    pub emerging_at_ms: Option<i64>,
    /// The case it was merged into.
    pub merged_into: Option<i64>,
    /// Earliest capture of a linked feedback, Unix ms.
    pub first_seen_ms: i64,
    /// Latest capture of a linked feedback, Unix ms.
    pub last_seen_ms: i64,
    /// When the case was opened, Unix ms.
    pub opened_at_ms: i64,
    /// When the case last changed, Unix ms.
    pub updated_at_ms: i64,
}

/// Interim containment action (8D D3).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ica {
    /// What is done now to protect customers.
    pub action: Option<String>,
    /// Who owns it.
    pub owner: Option<String>,
    /// When it is due, Unix ms.
    pub due_ms: Option<i64>,
    /// When it was put in place, Unix ms.
    pub implemented_at_ms: Option<i64>,
    /// How its effect was checked.
    pub verification: Option<String>,
    /// When its effect was confirmed, Unix ms.
    pub verified_at_ms: Option<i64>,
    /// True when the action was suggested from a known issue, not written by an engineer.
    pub suggested: bool,
}

/// Root cause (8D D4).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RootCause {
    /// The cause.
    pub cause: Option<String>,
    /// Who owns the analysis.
    pub owner: Option<String>,
    /// Why it occurred.
    pub occurrence: Option<String>,
    /// Why it escaped detection.
    pub escape_point: Option<String>,
    /// The evidence for it.
    pub evidence: Option<String>,
    /// When it was found, Unix ms.
    pub found_at_ms: Option<i64>,
}

/// Permanent corrective action (8D D5/D6).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Pca {
    /// What removes the root cause.
    pub action: Option<String>,
    /// Who owns it.
    pub owner: Option<String>,
    /// When it is due, Unix ms.
    pub due_ms: Option<i64>,
    /// When it was implemented, Unix ms.
    pub implemented_at_ms: Option<i64>,
    /// How it was validated.
    pub validation: Option<String>,
    /// When its effect was confirmed, Unix ms.
    pub verified_at_ms: Option<i64>,
    /// True when the action was suggested from a known issue, not written by an engineer.
    pub suggested: bool,
}

/// Verification of effectiveness (8D D7).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Verification {
    /// What was verified and how.
    pub summary: Option<String>,
    /// Who verified it.
    pub owner: Option<String>,
    /// When, Unix ms.
    pub verified_at_ms: Option<i64>,
}

/// One feedback linked to a case.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Occurrence {
    /// The feedback.
    pub feedback_id: Uuid,
    /// The vehicle that sent it.
    pub vin: String,
    /// When it was linked, Unix ms.
    pub linked_at_ms: i64,
    /// Why its capture was cut short (`agent_stopped`: the car was stopped
    /// inside the post-trigger window), when it was.
    pub cut_short: Option<String>,
    /// Its clip's state: `incomplete` when the car lost a chunk for good.
    pub audio_status: AudioStatus,
}

/// A known issue or similar case found for a case's feedback.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CaseMatch {
    /// The document: a recall's campaign number, `case-N`, a bulletin id.
    pub doc_id: String,
    /// `known_issue` or `similar_case`.
    pub kind: MatchKind,
    /// Hybrid rank score (reciprocal-rank fusion of BM25 and embeddings).
    pub score: f64,
    /// Cosine similarity of the feedback and the document, when both are embedded.
    pub similarity: Option<f64>,
    /// The document's title.
    pub title: String,
    /// Its containment (a candidate ICA).
    pub containment: Option<String>,
    /// Its remedy (a candidate PCA).
    pub remedy: Option<String>,
}

/// One change in a case's append-only history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Entry id.
    pub id: Uuid,
    /// When, Unix ms.
    pub at_ms: i64,
    /// Who: `system`, a model, or an engineer.
    pub actor: String,
    /// Which field changed (`opened` for the case's creation).
    pub field: String,
    /// The value before.
    pub old_value: Option<String>,
    /// The value after.
    pub new_value: Option<String>,
}

/// A case with everything about it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The fields a listing shows.
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// Classifier confidence in the category, once classified.
    pub confidence: Option<f64>,
    /// Version of the model that triaged it (`none` before any model).
    pub model_version: String,
    /// Interim containment action.
    pub ica: Ica,
    /// Root cause.
    pub root_cause: RootCause,
    /// Permanent corrective action.
    pub pca: Pca,
    /// Verification of effectiveness.
    pub verification: Verification,
    /// Distinct software versions (`ECU version`) across its occurrences.
    pub software_versions: Vec<String>,
    /// Vehicle models it was reported on (upper case).
    pub model_families: Vec<String>,
    /// Known issues and similar cases found for its feedback, with scores.
    pub matches: Vec<CaseMatch>,
    /// SLA clocks (route, first response, resolution) as of the read.
    pub sla: Vec<crate::domain::clocks::SlaClock>,
    /// When the driver got the first response, Unix ms.
    pub first_response_at_ms: Option<i64>,
    /// When effectiveness was verified (resolution), Unix ms.
    pub resolved_at_ms: Option<i64>,
    /// When it closed, Unix ms.
    pub closed_at_ms: Option<i64>,
    /// How often the driver's dissatisfaction reopened it.
    pub reopen_count: i64,
    /// The driver's satisfaction, 1–5.
    pub satisfaction: Option<i64>,
    /// The driver's comment with it.
    pub satisfaction_comment: Option<String>,
    /// Every linked feedback's id, oldest link first.
    pub feedback_ids: Vec<Uuid>,
    /// Every linked feedback with its vehicle, oldest link first.
    pub occurrences: Vec<Occurrence>,
    /// The case's history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// What the driver agreed to share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Consent {
    /// Audio may be kept.
    pub audio: bool,
    /// Location may be kept.
    pub location: bool,
}

/// The state of a feedback's audio clip.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AudioInfo {
    /// `none`, `partial` (chunks still arriving), `complete`, `corrupt`, or
    /// `incomplete` (the car reported a chunk lost for good).
    pub status: AudioStatus,
    /// Where the clip is on the server; not shown to clients.
    #[serde(skip)]
    pub path: Option<String>,
    /// Codec, e.g. `wav`.
    pub codec: Option<String>,
    /// Samples per second.
    pub sample_rate: Option<i64>,
    /// Channel count.
    pub channels: Option<i64>,
    /// Length in milliseconds.
    pub duration_ms: Option<i64>,
    /// Size of the stored clip in bytes.
    pub bytes: Option<i64>,
}

/// One stored feedback.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackDetail {
    /// The car-made UUIDv7.
    pub id: Uuid,
    /// Vehicle identification number.
    pub vin: String,
    /// Vehicle model.
    pub model: String,
    /// Model year.
    pub model_year: i64,
    /// When the driver triggered it, Unix ms.
    pub captured_at_ms: i64,
    /// When the cloud stored it, Unix ms.
    pub received_at_ms: i64,
    /// What started the capture: `voice`, `hmi`, `button` or `cli`.
    pub trigger: Trigger,
    /// BCP-47 locale.
    pub locale: String,
    /// The driver's words, when transcribed.
    pub transcript: Option<String>,
    /// Who transcribed them: `head_unit` or `cloud_asr`.
    pub transcript_source: Option<TranscriptSource>,
    /// The recogniser's confidence in 0..=1.
    pub transcript_confidence: Option<f64>,
    /// The cloud's speech recognition of the clip, when it ran.
    pub asr: Option<AsrRecord>,
    /// Software versions by ECU: `[{"ecu", "version"}]`.
    #[schema(value_type = Vec<Object>)]
    pub software: serde_json::Value,
    /// The telemetry snapshot: window, `signals` (`[{name, unit, samples}]`), `dtcs`, `location`, odometer.
    #[schema(value_type = Object)]
    pub telemetry: serde_json::Value,
    /// The audio clip's state.
    pub audio: AudioInfo,
    /// What the driver agreed to share.
    pub consent: Consent,
    /// Set when the car was stopped (killed, power cut) inside the
    /// post-trigger window and sent the capture when it came back: the
    /// telemetry ends at the trigger.
    pub cut_short: Option<CutShortInfo>,
    /// Size of the envelope on the wire.
    pub envelope_bytes: i64,
    /// The case it belongs to.
    pub case_id: Option<i64>,
}

/// How a capture was cut short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CutShortInfo {
    /// `agent_stopped`: the agent stopped before the post-trigger window ended.
    pub reason: String,
    /// When the car completed the capture from its draft, Unix ms.
    pub completed_at_ms: i64,
}

/// What the cloud's speech recognition did with a feedback's clip.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AsrRecord {
    /// `transcribed` (its text is the transcript), `kept_head_unit` (the head
    /// unit's text was at least as confident), `no_speech` or `failed`.
    pub status: AsrStatus,
    /// The speech model, e.g. `whisper-tiny.en`.
    pub model: String,
    /// The language it transcribed, e.g. `en`.
    pub language: Option<String>,
    /// Time spent transcribing, ms.
    pub elapsed_ms: i64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The head unit's transcript, when the cloud's replaced it.
    pub head_unit_transcript: Option<String>,
    /// The head unit's confidence in that transcript.
    pub head_unit_confidence: Option<f64>,
}

/// Totals for health checks and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    /// Stored feedback.
    pub feedback: i64,
    /// Cases.
    pub cases: i64,
    /// Downlink events not yet published.
    pub downlink_pending: i64,
    /// Rejected uplink messages.
    pub rejected: i64,
}
