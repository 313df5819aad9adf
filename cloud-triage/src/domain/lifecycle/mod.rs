//! The 8D case lifecycle as a pure plan: given a case's state and a
//! request, which transitions exist, what each requires, and what each does
//! (SLA clocks, messages to the driver's car, follow-ups, notifications), or
//! a typed [`Refusal`](super::Refusal) naming what is wrong. The store loads the
//! [`CaseState`], calls [`plan`], and applies the [`Effect`]s in order, in
//! one transaction.
//!
//! # Layout
//! - this file: the graph, the required fields, the case's state.
//! - `planning`: the effects, and the plans of a transition and an update
//!   to the driver.
//! - `follow_ups`: the questions after a resolution and the driver's
//!   satisfaction answer.
//!
//! new → acknowledged → contained → root_cause_found →
//! corrective_action_implemented → effectiveness_verified → follow_up →
//! closed; side states waiting_customer (clocks paused; it returns to the
//! state it left), reopened (an unsatisfied driver; the loop repeats),
//! merged (by a merge) and cancelled.

mod follow_ups;
mod planning;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{
    fields::{FieldChange, FieldValue},
    kinds::{CaseStatus, Severity, SlaMetric},
    sla_policy::SlaPolicy,
};

pub use follow_ups::{
    after_satisfaction, check_answer, check_awaiting_satisfaction, follow_up_due_ms,
    plan_follow_up, plan_satisfaction, satisfaction_note, ASKS_FOLLOW_UPS,
};
pub use planning::{check_actor, check_texts, check_update_message, plan, plan_update, Effect};

/// Longest message to a driver, characters (it is shown in the car).
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Longest actor name, characters.
pub const MAX_ACTOR_CHARS: usize = 200;

/// Where a case may go from `from` (besides `waiting_customer`, which
/// returns to where it was, and `cancelled`).
pub fn next_states(from: CaseStatus) -> &'static [CaseStatus] {
    use CaseStatus as S;
    match from {
        S::New => &[S::Acknowledged, S::WaitingCustomer, S::Cancelled],
        S::Acknowledged => &[S::Contained, S::WaitingCustomer, S::Cancelled],
        S::Contained => &[S::RootCauseFound, S::WaitingCustomer, S::Cancelled],
        S::RootCauseFound => &[
            S::CorrectiveActionImplemented,
            S::WaitingCustomer,
            S::Cancelled,
        ],
        S::CorrectiveActionImplemented => {
            &[S::EffectivenessVerified, S::WaitingCustomer, S::Cancelled]
        }
        S::EffectivenessVerified => &[S::FollowUp, S::Closed, S::Reopened],
        S::FollowUp => &[S::Closed, S::Reopened],
        S::Reopened => &[
            S::Acknowledged,
            S::Contained,
            S::RootCauseFound,
            S::WaitingCustomer,
            S::Cancelled,
        ],
        _ => &[],
    }
}

/// Case fields that must hold a value for a case to enter `to`.
pub fn required_fields(to: CaseStatus) -> &'static [&'static str] {
    match to {
        CaseStatus::Contained => &[
            "ica_action",
            "ica_owner",
            "ica_implemented_at_ms",
            "ica_verification",
        ],
        CaseStatus::RootCauseFound => &[
            "root_cause",
            "root_cause_occurrence",
            "root_cause_escape_point",
            "root_cause_evidence",
        ],
        CaseStatus::CorrectiveActionImplemented => &[
            "pca_action",
            "pca_owner",
            "pca_implemented_at_ms",
            "pca_validation",
        ],
        CaseStatus::EffectivenessVerified => &["verification", "verification_owner"],
        CaseStatus::Closed => &["satisfaction"],
        _ => &[],
    }
}

/// What a request to move a case from `from` to `to` must carry, besides
/// its status: the fields that must hold a value, and whether a message
/// to the driver and a reason are required. A form offers exactly these;
/// [`plan`] refuses a request that lacks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionAsks {
    /// Case fields that must hold a value once the request's fields are written.
    pub fields: &'static [&'static str],
    /// A message for the driver is required (the first response, the resolution).
    pub message: bool,
    /// A reason is required (waiting on the customer, reopening, cancelling).
    pub reason: bool,
}

/// What moving a case from `from` to `to` asks for (see [`TransitionAsks`]).
/// Returning from `waiting_customer` is not a new answer: it needs no message.
pub fn transition_asks(from: CaseStatus, to: CaseStatus) -> TransitionAsks {
    let resuming = from == CaseStatus::WaitingCustomer;
    TransitionAsks {
        fields: required_fields(to),
        message: !resuming
            && matches!(
                to,
                CaseStatus::Acknowledged | CaseStatus::EffectivenessVerified
            ),
        reason: matches!(
            to,
            CaseStatus::WaitingCustomer | CaseStatus::Reopened | CaseStatus::Cancelled
        ),
    }
}

/// Where `case` may go now: from `waiting_customer` only back to the
/// status it left, or to `cancelled`; otherwise [`next_states`].
pub fn allowed_targets(case: &CaseState) -> Vec<CaseStatus> {
    if case.status == CaseStatus::WaitingCustomer {
        case.paused_from
            .into_iter()
            .chain([CaseStatus::Cancelled])
            .collect()
    } else {
        next_states(case.status).to_vec()
    }
}

/// Every field some status requires: what the store loads into
/// [`CaseState::filled`].
pub const REQUIRED_FIELDS: [&str; 15] = [
    "ica_action",
    "ica_owner",
    "ica_implemented_at_ms",
    "ica_verification",
    "root_cause",
    "root_cause_occurrence",
    "root_cause_escape_point",
    "root_cause_evidence",
    "pca_action",
    "pca_owner",
    "pca_implemented_at_ms",
    "pca_validation",
    "verification",
    "verification_owner",
    "satisfaction",
];

/// Statuses in which the driver may be sent an update.
pub const TAKES_UPDATES: [CaseStatus; 5] = [
    CaseStatus::Acknowledged,
    CaseStatus::Contained,
    CaseStatus::RootCauseFound,
    CaseStatus::CorrectiveActionImplemented,
    CaseStatus::WaitingCustomer,
];

/// A case as the lifecycle sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseState {
    /// Case number.
    pub id: i64,
    /// Its status.
    pub status: CaseStatus,
    /// The status it left to wait on the customer.
    pub paused_from: Option<CaseStatus>,
    /// How often it was reopened: the current resolution cycle.
    pub reopen_count: i64,
    /// Its severity.
    pub severity: Severity,
    /// Its category.
    pub category: String,
    /// Its department, once routed.
    pub department: Option<String>,
    /// The containment action is only a suggestion from a known issue.
    pub ica_suggested: bool,
    /// The corrective action is only a suggestion from a known issue.
    pub pca_suggested: bool,
    /// The [`REQUIRED_FIELDS`] that hold a value.
    pub filled: BTreeSet<&'static str>,
}

impl CaseState {
    /// The state after `changes` are written.
    pub fn with_changes(&self, changes: &[FieldChange]) -> CaseState {
        let mut after = self.clone();
        for change in changes {
            let text = match &change.value {
                FieldValue::Text(t) => t.clone(),
                FieldValue::Int(_) => None,
            };
            match change.column {
                "severity" => {
                    if let Some(s) = text.as_deref().and_then(|s| s.parse().ok()) {
                        after.severity = s;
                    }
                }
                "category" => {
                    if let Some(c) = text {
                        after.category = c;
                    }
                }
                "department" => after.department = text,
                "ica_suggested" => after.ica_suggested = change.value == FieldValue::Int(Some(1)),
                "pca_suggested" => after.pca_suggested = change.value == FieldValue::Int(Some(1)),
                _ => {}
            }
            if let Some(required) = REQUIRED_FIELDS.iter().find(|f| **f == change.column) {
                if change.value.is_present() {
                    after.filled.insert(required);
                } else {
                    after.filled.remove(required);
                }
            }
        }
        after
    }

    /// The next-update clock's target for this case, ms.
    pub fn next_update_target_ms(&self, sla: &SlaPolicy) -> i64 {
        sla.targets(self.severity, &self.category)
            .target_ms(SlaMetric::NextUpdate)
    }
}

/// A request to move a case to another status.
#[derive(Debug, Clone, Copy)]
pub struct TransitionRequest<'a> {
    /// The status to move to.
    pub to: CaseStatus,
    /// What the driver is told.
    pub message: Option<&'a str>,
    /// Why.
    pub reason: Option<&'a str>,
    /// Case fields set with the transition (same names as a case update).
    pub fields: &'a Map<String, Value>,
}

/// The policy a plan follows.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// SLA targets.
    pub sla: &'a SlaPolicy,
    /// Days after resolution when the driver is asked again.
    pub follow_up_days: &'a [u32],
    /// The taxonomy categories are checked against.
    pub taxonomy: &'a qloop_models::Taxonomy,
}
