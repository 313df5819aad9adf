//! The case rules, with no I/O: plain functions over plain types, unit-tested
//! without a database (STYLE rule 11). The store loads rows into these types,
//! calls the rules, and saves what they decide. Nothing here does I/O: no
//! database driver, async runtime, HTTP or MQTT client.
//!
//! # Layout
//! - [`kinds`]: the states and kinds as enums (case status, severity, SLA
//!   metric, escalation, notification, match, ASR, audio, transcript
//!   source, trigger), each with its stored text and the allowed values.
//! - [`fields`]: the case fields engineers may set and the check of each value.

pub mod fields;
pub mod kinds;

pub use kinds::{
    AsrStatus, AudioStatus, CaseStatus, EscalationKind, MatchKind, NotificationKind, Severity,
    SlaMetric, TranscriptSource, Trigger, UnknownValue,
};

/// Why a rule refuses a request. Its text names the field and what is
/// allowed; the HTTP API answers it with 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A value that is none of the allowed ones.
    #[error(transparent)]
    Unknown(#[from] UnknownValue),
    /// A value that breaks a rule, with the rule.
    #[error("{0}")]
    Invalid(String),
}
