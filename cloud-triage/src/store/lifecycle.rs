//! The 8D case lifecycle: which transitions exist, what each requires, and
//! what each does (SLA clocks, messages to the driver's car, follow-ups).
//!
//! new → acknowledged → contained → root_cause_found →
//! corrective_action_implemented → effectiveness_verified → follow_up →
//! closed; side states waiting_customer (clocks paused; it returns to the
//! state it left), reopened (an unsatisfied driver; the loop repeats),
//! merged (by a merge) and cancelled.

use qloop_protocol::{EventKind, VehicleEvent};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{
    case_update::apply_changes, linking, records::CaseDetail, rows::enum_column, sla, Store,
    StoreError,
};
use crate::{
    domain::{fields::check_changes, CaseStatus, NotificationKind, Severity, SlaMetric},
    policy::Policy,
};

type Tx = Transaction<'static, Any>;

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

/// Columns that must hold a value for a case to enter `to`.
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

/// A transition request: `{"to": STATE, "actor": …, "message": …, …fields}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Transition {
    /// The status to move to.
    #[schema(value_type = CaseStatus)]
    pub to: String,
    /// Who does it.
    /// Over HTTP the caller\'s token name is recorded instead.
    #[serde(default)]
    pub actor: String,
    /// What the driver is told (required for `acknowledged` and
    /// `effectiveness_verified`; sent as an update otherwise).
    pub message: Option<String>,
    /// Why (required for `waiting_customer`, `reopened` and `cancelled`).
    pub reason: Option<String>,
    /// Case fields set with the transition (same names as `PATCH`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(message)
}

/// Longest message to a driver, characters (it is shown in the car).
const MAX_MESSAGE_CHARS: usize = 1_000;

impl Store {
    /// Moves case `id` to `t.to` if the lifecycle allows it and every
    /// required field is present; records history, runs the SLA clocks,
    /// queues messages to the cars that reported it, and schedules follow-ups.
    pub async fn transition(
        &self,
        id: i64,
        t: &Transition,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        let actor = t.actor.trim();
        if actor.is_empty() || actor.chars().count() > 200 {
            return Err(invalid("actor: must be 1 to 200 characters".into()));
        }
        let to: CaseStatus =
            t.to.parse()
                .map_err(|e: crate::domain::UnknownValue| e.for_field("to"))?;
        for (name, text) in [("message", &t.message), ("reason", &t.reason)] {
            if text
                .as_ref()
                .is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS)
            {
                return Err(invalid(format!(
                    "{name}: longer than {MAX_MESSAGE_CHARS} characters"
                )));
            }
        }
        let wt = policy
            .sla
            .calendar
            .working_time()
            .map_err(|e| invalid(e.to_string()))?;
        let (_gate, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE cases SET updated_at_ms = CASE WHEN updated_at_ms >= $1 THEN updated_at_ms + 1 ELSE $1 END \
             WHERE id = $2 RETURNING status, paused_from, reopen_count, ica_suggested, pca_suggested",
        )
        .bind(at_ms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let from: CaseStatus = enum_column(row.try_get("status")?, "cases.status")?;
        let paused_from: Option<CaseStatus> = row
            .try_get::<Option<String>, _>("paused_from")?
            .map(|s| enum_column(&s, "cases.paused_from"))
            .transpose()?;
        let cycle: i64 = row.try_get("reopen_count")?;
        let resuming = from == CaseStatus::WaitingCustomer;
        let allowed = if resuming {
            paused_from == Some(to) || to == CaseStatus::Cancelled
        } else {
            next_states(from).contains(&to)
        };
        if !allowed {
            let options: Vec<&str> = if resuming {
                paused_from
                    .iter()
                    .map(|s| s.as_str())
                    .chain(["cancelled"])
                    .collect()
            } else {
                next_states(from).iter().map(|s| s.as_str()).collect()
            };
            return Err(invalid(format!(
                "to: a {from} case cannot become {to}; it can become {}",
                if options.is_empty() {
                    "nothing (it is final)".to_string()
                } else {
                    options.join(", ")
                }
            )));
        }
        if !t.fields.is_empty() {
            let changes = check_changes(&t.fields, self.taxonomy())?;
            apply_changes(&mut tx, id, actor, &changes, at_ms).await?;
        }
        // What is still missing after the fields just given.
        let mut missing: Vec<String> = Vec::new();
        for column in required_fields(to) {
            let present = match *column {
                "satisfaction" => sqlx::query("SELECT satisfaction FROM cases WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<Option<i64>, _>("satisfaction")?
                    .is_some(),
                c if c.ends_with("_ms") => {
                    sqlx::query(&format!("SELECT {c} AS v FROM cases WHERE id = $1"))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get::<Option<i64>, _>("v")?
                        .is_some()
                }
                c => sqlx::query(&format!("SELECT {c} AS v FROM cases WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<Option<String>, _>("v")?
                    .is_some_and(|v| !v.trim().is_empty()),
            };
            if !present {
                missing.push((*column).to_string());
            }
        }
        let flags = sqlx::query("SELECT ica_suggested, pca_suggested FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if to == CaseStatus::Contained && flags.try_get::<i64, _>("ica_suggested")? == 1 {
            missing.push(
                "ica_action (only suggested: accept it with ica_suggested=false, or write one)"
                    .into(),
            );
        }
        if to == CaseStatus::CorrectiveActionImplemented
            && flags.try_get::<i64, _>("pca_suggested")? == 1
        {
            missing.push(
                "pca_action (only suggested: accept it with pca_suggested=false, or write one)"
                    .into(),
            );
        }
        // Returning from waiting on the customer is not a new answer.
        let needs_message = !resuming
            && matches!(
                to,
                CaseStatus::Acknowledged | CaseStatus::EffectivenessVerified
            );
        if needs_message && t.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
            missing.push("message (what the driver is told)".into());
        }
        if matches!(
            to,
            CaseStatus::WaitingCustomer | CaseStatus::Reopened | CaseStatus::Cancelled
        ) && t.reason.as_deref().is_none_or(|m| m.trim().is_empty())
        {
            missing.push("reason".into());
        }
        if !missing.is_empty() {
            return Err(invalid(format!("missing for {to}: {}", missing.join(", "))));
        }

        sqlx::query("UPDATE cases SET status = $1 WHERE id = $2")
            .bind(to.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let note = t.reason.as_deref().map(|r| format!("{to} ({r})"));
        linking::history(
            &mut tx,
            id,
            at_ms,
            actor,
            "status",
            Some(from.as_str()),
            Some(note.as_deref().unwrap_or(to.as_str())),
        )
        .await?;
        if resuming {
            sla::resume_metric(&mut tx, id, None, &wt, at_ms).await?;
            sqlx::query("UPDATE cases SET paused_from = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        match to {
            CaseStatus::WaitingCustomer => {
                sla::pause_clocks(&mut tx, id, at_ms).await?;
                sqlx::query("UPDATE cases SET paused_from = $1 WHERE id = $2")
                    .bind(from.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            CaseStatus::Acknowledged => {
                sla::stop_route_if_routed(&mut tx, id, at_ms).await?;
                sla::stop_clock(&mut tx, id, SlaMetric::FirstResponse, &wt, at_ms).await?;
                sqlx::query("UPDATE cases SET first_response_at_ms = COALESCE(first_response_at_ms, $1) WHERE id = $2")
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            CaseStatus::EffectivenessVerified => {
                sla::stop_clock(&mut tx, id, SlaMetric::Resolution, &wt, at_ms).await?;
                sla::stop_clock(&mut tx, id, SlaMetric::NextUpdate, &wt, at_ms).await?;
                sqlx::query(
                    "UPDATE cases SET resolved_at_ms = $1, verified_at_ms = COALESCE(verified_at_ms, $1) WHERE id = $2",
                )
                .bind(at_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                for day in &policy.follow_up.days {
                    sqlx::query(
                        "INSERT INTO follow_ups (case_id, cycle, day, due_at_ms) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (case_id, cycle, day) DO NOTHING",
                    )
                    .bind(id)
                    .bind(cycle)
                    .bind(i64::from(*day))
                    .bind(at_ms + i64::from(*day) * 86_400_000)
                    .execute(&mut *tx)
                    .await?;
                }
                linking::notify(
                    &mut tx,
                    NotificationKind::Resolved,
                    id,
                    serde_json::json!({"case_id": id}),
                    at_ms,
                )
                .await?;
            }
            CaseStatus::Closed => {
                sqlx::query("UPDATE cases SET closed_at_ms = $1 WHERE id = $2")
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            CaseStatus::Reopened => {
                sqlx::query(
                    "UPDATE cases SET reopen_count = reopen_count + 1, resolved_at_ms = NULL, satisfaction = NULL, \
                     satisfaction_comment = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sla::restart_resolution(&mut tx, id, &wt, at_ms).await?;
                linking::notify(
                    &mut tx,
                    NotificationKind::Reopened,
                    id,
                    serde_json::json!({"case_id": id, "reason": t.reason}),
                    at_ms,
                )
                .await?;
            }
            CaseStatus::Cancelled => sla::cancel_clocks(&mut tx, id, at_ms).await?,
            _ => {}
        }
        if let Some(message) = t.message.as_deref().filter(|m| !m.trim().is_empty()) {
            let kind = match to {
                CaseStatus::Acknowledged if from != CaseStatus::Reopened => {
                    EventKind::FirstResponse
                }
                CaseStatus::EffectivenessVerified => EventKind::Resolved,
                _ => EventKind::Update,
            };
            tell_drivers(&mut tx, id, kind, message, at_ms).await?;
            if kind != EventKind::Resolved {
                // The driver heard from us: the silence clock starts again.
                let row = sqlx::query("SELECT severity, category FROM cases WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let severity: Severity = enum_column(row.try_get("severity")?, "cases.severity")?;
                let category: String = row.try_get("category")?;
                let targets = policy.sla.targets(severity, &category);
                let target = targets.target_ms(SlaMetric::NextUpdate);
                sla::restart_next_update(&mut tx, id, target, &wt, at_ms).await?;
            }
        }
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }

    /// The driver's satisfaction (1–5, with an optional comment), from the car
    /// or the API: records it and closes the case when satisfied, reopens it
    /// when not. The case must be resolved (`effectiveness_verified` or `follow_up`).
    pub async fn record_satisfaction(
        &self,
        id: i64,
        score: i64,
        comment: Option<&str>,
        actor: &str,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        if !(1..=5).contains(&score) {
            return Err(invalid(format!("score: must be 1 to 5, got {score}")));
        }
        if comment.is_some_and(|c| c.chars().count() > MAX_MESSAGE_CHARS) {
            return Err(invalid(format!(
                "comment: longer than {MAX_MESSAGE_CHARS} characters"
            )));
        }
        {
            let (_gate, mut tx) = self.begin_write().await?;
            let status: String = sqlx::query("SELECT status FROM cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get("status")?;
            let status: CaseStatus = enum_column(&status, "cases.status")?;
            if !matches!(
                status,
                CaseStatus::EffectivenessVerified | CaseStatus::FollowUp
            ) {
                return Err(invalid(format!(
                    "score: a {status} case is not awaiting the driver's satisfaction"
                )));
            }
            sqlx::query(
                "UPDATE cases SET satisfaction = $1, satisfaction_comment = $2 WHERE id = $3",
            )
            .bind(score)
            .bind(comment)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE follow_ups SET done_at_ms = $1 WHERE case_id = $2 AND done_at_ms IS NULL AND due_at_ms <= $1")
                .bind(at_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            linking::history(
                &mut tx,
                id,
                at_ms,
                actor,
                "satisfaction",
                None,
                Some(&format!(
                    "{score}/5{}",
                    comment.map(|c| format!(": {c}")).unwrap_or_default()
                )),
            )
            .await?;
            tx.commit().await?;
        }
        let satisfied = score >= i64::from(policy.follow_up.satisfied_at_least);
        let t = Transition {
            to: if satisfied { "closed" } else { "reopened" }.into(),
            actor: actor.into(),
            message: None,
            reason: (!satisfied).then(|| format!("driver not satisfied ({score}/5)")),
            fields: Map::new(),
        };
        self.transition(id, &t, policy, at_ms).await
    }
}

impl Store {
    /// Sends the driver(s) of an open, acknowledged case an update without
    /// changing its status; restarts the next-update clock.
    pub async fn send_update(
        &self,
        id: i64,
        message: &str,
        actor: &str,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        let message = message.trim();
        if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(invalid(format!(
                "message: must be 1 to {MAX_MESSAGE_CHARS} characters"
            )));
        }
        let wt = policy
            .sla
            .calendar
            .working_time()
            .map_err(|e| invalid(e.to_string()))?;
        let (_gate, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE cases SET updated_at_ms = CASE WHEN updated_at_ms >= $1 THEN updated_at_ms + 1 ELSE $1 END \
             WHERE id = $2 RETURNING status, severity, category",
        )
        .bind(at_ms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let status: CaseStatus = enum_column(row.try_get("status")?, "cases.status")?;
        if !matches!(
            status,
            CaseStatus::Acknowledged
                | CaseStatus::Contained
                | CaseStatus::RootCauseFound
                | CaseStatus::CorrectiveActionImplemented
                | CaseStatus::WaitingCustomer
        ) {
            return Err(invalid(format!(
                "message: a {status} case takes no updates (the first response is the acknowledged transition)"
            )));
        }
        tell_drivers(&mut tx, id, EventKind::Update, message, at_ms).await?;
        linking::history(&mut tx, id, at_ms, actor, "update", None, Some(message)).await?;
        let severity: Severity = enum_column(row.try_get("severity")?, "cases.severity")?;
        let category: String = row.try_get("category")?;
        let target = policy
            .sla
            .targets(severity, &category)
            .target_ms(SlaMetric::NextUpdate);
        sla::restart_next_update(&mut tx, id, target, &wt, at_ms).await?;
        if status == CaseStatus::WaitingCustomer {
            // The new clock waits with the others.
            sla::pause_clocks(&mut tx, id, at_ms).await?;
        }
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }

    /// Whether the car `vin` reported (has feedback in) case `case_id`.
    pub async fn vehicle_reported_case(&self, vin: &str, case_id: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM feedback f JOIN case_feedback cf ON cf.feedback_id = f.id \
             WHERE cf.case_id = $1 AND f.vin = $2",
        )
        .bind(case_id)
        .bind(vin)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}

/// Queues `message` for every car that reported the case.
pub(crate) async fn tell_drivers(
    tx: &mut Tx,
    case_id: i64,
    kind: EventKind,
    message: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT f.vin, MIN(f.id) AS feedback_id FROM feedback f JOIN case_feedback cf ON cf.feedback_id = f.id \
         WHERE cf.case_id = $1 GROUP BY f.vin ORDER BY f.vin",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let vin: String = row.try_get("vin")?;
        let feedback: String = row.try_get("feedback_id")?;
        let event = VehicleEvent {
            event_id: Uuid::now_v7(),
            feedback_id: Uuid::parse_str(&feedback).ok(),
            case_number: Some(case_id),
            kind,
            message: message.to_string(),
            sent_at_ms: at_ms,
        };
        super::downlink::queue_event(tx, &vin, &event).await?;
    }
    Ok(())
}
