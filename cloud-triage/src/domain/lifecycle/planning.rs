//! The plans: what a transition, an update to the driver and a
//! satisfaction answer do, as an ordered list of [`Effect`]s.

use qloop_protocol::EventKind;
use serde_json::{json, Value};

use super::{
    allowed_targets, transition_asks, CaseState, Rules, TransitionRequest, MAX_ACTOR_CHARS,
    MAX_MESSAGE_CHARS, TAKES_UPDATES,
};
use crate::domain::{
    clocks::is_routed,
    fields::{check_changes, FieldChange},
    kinds::{CaseStatus, NotificationKind, SlaMetric},
    sla_policy::SlaPolicy,
    Refusal,
};

/// One thing a plan does, applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write the checked field changes, each with a history entry.
    SetFields(Vec<FieldChange>),
    /// Set the status, with a history entry from `from` to `note`.
    SetStatus {
        /// The status left.
        from: CaseStatus,
        /// The new status.
        to: CaseStatus,
        /// The history's new value: the status, with the reason when given.
        note: String,
    },
    /// Resume every paused clock and forget where the case paused from.
    ResumeClocks,
    /// Pause every running clock.
    PauseClocks,
    /// Remember the status the case left to wait on the customer.
    SetPausedFrom(CaseStatus),
    /// Stop the running clock of a metric (recording a late stop's breach).
    StopClock(SlaMetric),
    /// Stop the routing clock, counted around the clock (a routed case is routed).
    StopRoute,
    /// Record the first response's time, unless one is recorded.
    MarkFirstResponse,
    /// Record the resolution's time (and the verification's, unless recorded).
    MarkResolved,
    /// Schedule the follow-up questions of resolution cycle `cycle`.
    ScheduleFollowUps {
        /// The resolution cycle.
        cycle: i64,
        /// Days after now.
        days: Vec<u32>,
    },
    /// Record the close's time.
    MarkClosed,
    /// Count the reopening and clear the resolution and satisfaction.
    Reopen,
    /// Start the next cycle of the resolution clock, same target.
    RestartResolution,
    /// Stop every clock without a breach.
    CancelClocks,
    /// Queue a notification event.
    Notify {
        /// Its kind.
        kind: NotificationKind,
        /// Its payload.
        payload: Value,
    },
    /// Queue a message for every car that reported the case.
    TellDrivers {
        /// Its kind.
        kind: EventKind,
        /// Its text.
        message: String,
    },
    /// Append a history entry.
    History {
        /// The field.
        field: &'static str,
        /// The new value.
        new: String,
    },
    /// Stop the next-update clock (if any) and start its next cycle.
    RestartNextUpdate {
        /// Its target, ms.
        target_ms: i64,
    },
    /// Mark the case changed now (`updated_at_ms`), for a change that
    /// did not start by taking the case's row.
    MarkChanged,
    /// Record the driver's satisfaction answer.
    RecordSatisfaction {
        /// 1 to 5.
        score: i64,
        /// What they said, if anything.
        comment: Option<String>,
    },
    /// Mark the follow-up questions due by now answered.
    AnswerFollowUps,
    /// Mark the follow-up question of `day` in resolution cycle `cycle` sent.
    MarkFollowUpSent {
        /// The resolution cycle.
        cycle: i64,
        /// The day after resolution it asks on.
        day: i64,
    },
}

/// Checks an actor's name; returns it trimmed.
pub fn check_actor(actor: &str) -> Result<&str, Refusal> {
    let actor = actor.trim();
    if actor.is_empty() || actor.chars().count() > MAX_ACTOR_CHARS {
        return Err(Refusal::Invalid(format!(
            "actor: must be 1 to {MAX_ACTOR_CHARS} characters"
        )));
    }
    Ok(actor)
}

/// Checks the texts of a transition request before anything is loaded.
pub fn check_texts(message: Option<&str>, reason: Option<&str>) -> Result<(), Refusal> {
    for (name, text) in [("message", message), ("reason", reason)] {
        if text.is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
            return Err(Refusal::Invalid(format!(
                "{name}: longer than {MAX_MESSAGE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

fn blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

/// Plans moving `case` to `req.to`: refused when the lifecycle does not
/// allow it, a field is invalid, or something required is missing;
/// otherwise the effects, in the order they are applied.
pub fn plan(
    case: &CaseState,
    req: &TransitionRequest<'_>,
    rules: &Rules<'_>,
) -> Result<Vec<Effect>, Refusal> {
    let (from, to) = (case.status, req.to);
    let allowed = allowed_targets(case);
    if !allowed.contains(&to) {
        return Err(Refusal::NotAllowed { from, to, allowed });
    }
    let changes = check_changes(req.fields, rules.taxonomy)?;
    let after = case.with_changes(&changes);
    let missing = missing_for(&after, req);
    if !missing.is_empty() {
        return Err(Refusal::Missing { to, missing });
    }
    let mut effects = Vec::new();
    if !changes.is_empty() {
        effects.push(Effect::SetFields(changes));
    }
    effects.push(Effect::SetStatus {
        from,
        to,
        note: match req.reason {
            Some(reason) => format!("{to} ({reason})"),
            None => to.to_string(),
        },
    });
    if from == CaseStatus::WaitingCustomer {
        effects.push(Effect::ResumeClocks);
    }
    effects.extend(entering(case, &after, req, rules));
    effects.extend(telling(case, &after, req, rules));
    Ok(effects)
}

/// What `after` (the case with the request's fields written) lacks to
/// enter `req.to`: required fields, an accepted action where one is only
/// suggested, the driver's message, the reason.
fn missing_for(after: &CaseState, req: &TransitionRequest<'_>) -> Vec<String> {
    let to = req.to;
    let asks = transition_asks(after.status, to);
    let mut missing: Vec<String> = asks
        .fields
        .iter()
        .filter(|f| !after.filled.contains(**f))
        .map(|f| f.to_string())
        .collect();
    if to == CaseStatus::Contained && after.ica_suggested {
        missing.push(
            "ica_action (only suggested: accept it with ica_suggested=false, or write one)".into(),
        );
    }
    if to == CaseStatus::CorrectiveActionImplemented && after.pca_suggested {
        missing.push(
            "pca_action (only suggested: accept it with pca_suggested=false, or write one)".into(),
        );
    }
    if asks.message && blank(req.message) {
        missing.push("message (what the driver is told)".into());
    }
    if asks.reason && blank(req.reason) {
        missing.push("reason".into());
    }
    missing
}

/// What entering `req.to` does to the clocks, the case's times and the
/// follow-ups, and which notification it raises.
fn entering(
    case: &CaseState,
    after: &CaseState,
    req: &TransitionRequest<'_>,
    rules: &Rules<'_>,
) -> Vec<Effect> {
    match req.to {
        CaseStatus::WaitingCustomer => {
            vec![Effect::PauseClocks, Effect::SetPausedFrom(case.status)]
        }
        CaseStatus::Acknowledged => {
            let mut effects = Vec::new();
            if is_routed(after.department.as_deref()) {
                effects.push(Effect::StopRoute);
            }
            effects.push(Effect::StopClock(SlaMetric::FirstResponse));
            effects.push(Effect::MarkFirstResponse);
            effects
        }
        CaseStatus::EffectivenessVerified => vec![
            Effect::StopClock(SlaMetric::Resolution),
            Effect::StopClock(SlaMetric::NextUpdate),
            Effect::MarkResolved,
            Effect::ScheduleFollowUps {
                cycle: case.reopen_count,
                days: rules.follow_up_days.to_vec(),
            },
            Effect::Notify {
                kind: NotificationKind::Resolved,
                payload: json!({"case_id": case.id}),
            },
        ],
        CaseStatus::Closed => vec![Effect::MarkClosed],
        CaseStatus::Reopened => vec![
            Effect::Reopen,
            Effect::RestartResolution,
            Effect::Notify {
                kind: NotificationKind::Reopened,
                payload: json!({"case_id": case.id, "reason": req.reason}),
            },
        ],
        CaseStatus::Cancelled => vec![Effect::CancelClocks],
        _ => Vec::new(),
    }
}

/// The request's message to the driver, if any: the first response, the
/// resolution or an update, and (unless it is the resolution) a new
/// next-update clock.
fn telling(
    case: &CaseState,
    after: &CaseState,
    req: &TransitionRequest<'_>,
    rules: &Rules<'_>,
) -> Vec<Effect> {
    let Some(message) = req.message.filter(|m| !m.trim().is_empty()) else {
        return Vec::new();
    };
    let kind = match req.to {
        CaseStatus::Acknowledged if case.status != CaseStatus::Reopened => EventKind::FirstResponse,
        CaseStatus::EffectivenessVerified => EventKind::Resolved,
        _ => EventKind::Update,
    };
    let mut effects = vec![Effect::TellDrivers {
        kind,
        message: message.to_string(),
    }];
    if kind != EventKind::Resolved {
        // The driver heard from us: the silence clock starts again.
        effects.push(Effect::RestartNextUpdate {
            target_ms: after.next_update_target_ms(rules.sla),
        });
    }
    effects
}

/// Checks a message for the driver sent as an update; returns it trimmed.
pub fn check_update_message(message: &str) -> Result<&str, Refusal> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(Refusal::Invalid(format!(
            "message: must be 1 to {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(message)
}

/// Plans an update to the driver without a status change: the message is
/// queued for the cars, recorded, and the next-update clock restarts (and
/// waits with the others while the case waits on the customer).
pub fn plan_update(
    case: &CaseState,
    message: &str,
    sla: &SlaPolicy,
) -> Result<Vec<Effect>, Refusal> {
    let message = check_update_message(message)?;
    if !TAKES_UPDATES.contains(&case.status) {
        return Err(Refusal::Invalid(format!(
            "message: a {} case takes no updates (the first response is the acknowledged transition)",
            case.status
        )));
    }
    let mut effects = vec![
        Effect::TellDrivers {
            kind: EventKind::Update,
            message: message.to_string(),
        },
        Effect::History {
            field: "update",
            new: message.to_string(),
        },
        Effect::RestartNextUpdate {
            target_ms: case.next_update_target_ms(sla),
        },
    ];
    if case.status == CaseStatus::WaitingCustomer {
        // The new clock waits with the others.
        effects.push(Effect::PauseClocks);
    }
    Ok(effects)
}
