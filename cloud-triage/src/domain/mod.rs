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
//! - [`lifecycle`]: the 8D state machine as a plan: transitions, required
//!   fields, and the effects of each (clocks, messages, follow-ups).
//! - [`patch`]: an engineer's direct change to a case's fields.
//! - [`calendar`]: working time (24x7 or business hours with holidays).
//! - [`sla_policy`]: SLA targets by severity and category.
//! - [`clocks`]: an SLA clock's rules: due, paused, stopped, breached,
//!   imminent, unresolved after N working days, and its reading.
//! - [`escalation`]: what a change of severity or category does (escalate a
//!   case that became major, once; re-target its open clocks).
//! - [`escalation_record`]: what a raised escalation records (its key, the
//!   history line, the notification event).
//! - [`hazard`]: the hazard a case keeps (the first major report's), the
//!   list's hazard filter, and an escalation's words for it.
//! - [`sla_tick`]: one pass of the SLA scheduler as a plan.
//! - [`webhooks`]: webhook delivery: who takes which event, the states of
//!   an event at an endpoint, retries with backoff.
//! - [`texts`]: case titles and what the driver's car is told.
//! - [`metrics`]: what operators watch: response times, breach rates,
//!   closure and reopen rates, the backlog.
//! - [`fleet`]: fleet-wide cases: aggregates, the emerging rule, the
//!   severity review, merge and split plans, suggested ICA/PCA.

pub mod calendar;
pub mod clocks;
pub mod escalation;
pub mod escalation_record;
pub mod fields;
pub mod fleet;
pub mod hazard;
pub mod kinds;
pub mod lifecycle;
pub mod metrics;
pub mod patch;
pub mod role;
pub mod sla_policy;
pub mod sla_tick;
pub mod texts;
pub mod webhooks;

pub use kinds::{
    AsrStatus, AudioStatus, CaseStatus, EscalationKind, MatchKind, NotificationKind, Severity,
    SlaMetric, TranscriptSource, Trigger, UnknownValue,
};
pub use role::Role;

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
    /// The lifecycle does not lead from `from` to `to`.
    #[error(
        "to: a {from} case cannot become {to}; it can become {}",
        if allowed.is_empty() {
            "nothing (it is final)".to_string()
        } else {
            allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        }
    )]
    NotAllowed {
        /// The case's status.
        from: CaseStatus,
        /// The status asked for.
        to: CaseStatus,
        /// Where it can go.
        allowed: Vec<CaseStatus>,
    },
    /// Fields or texts a status needs are missing.
    #[error("missing for {to}: {}", missing.join(", "))]
    Missing {
        /// The status asked for.
        to: CaseStatus,
        /// What is missing.
        missing: Vec<String>,
    },
}
