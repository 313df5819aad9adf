//! The 8D case lifecycle in the database: each use case loads the case's
//! [`CaseState`], asks [`crate::domain::lifecycle`] for the plan, and applies
//! its [`Effect`]s in one transaction. The rules (which transitions exist,
//! what each requires and does) are all in the domain module.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use sqlx::{Any, Row, Transaction};

use super::{
    case_update::write_fields,
    case_writes,
    rows::{enum_column, flag_column},
    sla, Store, StoreError,
};
use crate::{
    domain::{
        lifecycle::{
            self, after_satisfaction, check_actor, check_answer, check_awaiting_satisfaction,
            check_texts, check_update_message, satisfaction_note, CaseState, Effect, Rules,
            TransitionRequest, REQUIRED_FIELDS,
        },
        CaseStatus, UnknownValue,
    },
    policy::Policy,
};

pub use crate::domain::lifecycle::{next_states, required_fields};

use super::records::CaseDetail;

type Tx = Transaction<'static, Any>;

/// A transition: the status to move to, who moves it, texts and fields.
/// The HTTP body is `api::transition::TransitionRequest`, converted to this
/// at the edge.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The status to move to.
    pub to: String,
    /// Who does it.
    pub actor: String,
    /// What the driver is told (required for `acknowledged` and
    /// `effectiveness_verified`; sent as an update otherwise).
    pub message: Option<String>,
    /// Why (required for `waiting_customer`, `reopened` and `cancelled`).
    pub reason: Option<String>,
    /// Case fields set with the transition (same names as `PATCH`).
    pub fields: Map<String, Value>,
}

/// Loads what the lifecycle needs to know about case `id` (inside the
/// caller's transaction, after it took the row's lock).
async fn load_state(tx: &mut Tx, id: i64) -> Result<CaseState, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT status, paused_from, reopen_count, severity, category, department, ica_suggested, \
         pca_suggested, {} FROM cases WHERE id = $1",
        REQUIRED_FIELDS.join(", ")
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let mut filled = BTreeSet::new();
    for field in REQUIRED_FIELDS {
        let present = if field == "satisfaction" || field.ends_with("_ms") {
            row.try_get::<Option<i64>, _>(field)?.is_some()
        } else {
            row.try_get::<Option<String>, _>(field)?
                .is_some_and(|v| !v.trim().is_empty())
        };
        if present {
            filled.insert(field);
        }
    }
    Ok(CaseState {
        id,
        status: enum_column(row.try_get("status")?, "cases.status")?,
        paused_from: row
            .try_get::<Option<String>, _>("paused_from")?
            .map(|s| enum_column(&s, "cases.paused_from"))
            .transpose()?,
        reopen_count: row.try_get("reopen_count")?,
        severity: enum_column(row.try_get("severity")?, "cases.severity")?,
        category: row.try_get("category")?,
        department: row.try_get("department")?,
        ica_suggested: flag_column(row.try_get("ica_suggested")?),
        pca_suggested: flag_column(row.try_get("pca_suggested")?),
        filled,
    })
}

/// Applies a plan's effects to case `id`, in order.
async fn apply(
    tx: &mut Tx,
    id: i64,
    actor: &str,
    effects: Vec<Effect>,
    policy: &Policy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let wt = policy.sla.working_time();
    for effect in effects {
        match effect {
            Effect::SetFields(changes) => {
                write_fields(tx, id, actor, &changes, &policy.sla, at_ms).await?
            }
            Effect::SetStatus { from, to, note } => {
                case_writes::set_status(tx, id, from, to, actor, &note, at_ms).await?
            }
            Effect::ResumeClocks => {
                sla::resume_clocks(tx, id, wt, at_ms).await?;
                sqlx::query("UPDATE cases SET paused_from = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::PauseClocks => sla::pause_clocks(tx, id, at_ms).await?,
            Effect::SetPausedFrom(from) => {
                sqlx::query("UPDATE cases SET paused_from = $1 WHERE id = $2")
                    .bind(from.as_str())
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::StopClock(metric) => sla::stop_clock(tx, id, metric, wt, at_ms).await?,
            Effect::StopRoute => sla::stop_route(tx, id, at_ms).await?,
            Effect::MarkFirstResponse => {
                sqlx::query("UPDATE cases SET first_response_at_ms = COALESCE(first_response_at_ms, $1) WHERE id = $2")
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::MarkResolved => {
                sqlx::query(
                    "UPDATE cases SET resolved_at_ms = $1, verified_at_ms = COALESCE(verified_at_ms, $1) WHERE id = $2",
                )
                .bind(at_ms)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
            Effect::ScheduleFollowUps { cycle, days } => {
                for day in days {
                    sqlx::query(
                        "INSERT INTO follow_ups (case_id, cycle, day, due_at_ms) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (case_id, cycle, day) DO NOTHING",
                    )
                    .bind(id)
                    .bind(cycle)
                    .bind(i64::from(day))
                    .bind(at_ms + i64::from(day) * 86_400_000)
                    .execute(&mut **tx)
                    .await?;
                }
            }
            Effect::MarkClosed => {
                sqlx::query("UPDATE cases SET closed_at_ms = $1 WHERE id = $2")
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::Reopen => {
                sqlx::query(
                    "UPDATE cases SET reopen_count = reopen_count + 1, resolved_at_ms = NULL, satisfaction = NULL, \
                     satisfaction_comment = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
            Effect::RestartResolution => sla::restart_resolution(tx, id, wt, at_ms).await?,
            Effect::CancelClocks => sla::cancel_clocks(tx, id, at_ms).await?,
            Effect::Notify { kind, payload } => {
                case_writes::notify(tx, kind, id, payload, at_ms).await?
            }
            Effect::TellDrivers { kind, message } => {
                case_writes::tell_drivers(tx, id, kind, &message, at_ms).await?
            }
            Effect::History { field, new } => {
                case_writes::history(tx, id, at_ms, actor, field, None, Some(&new)).await?
            }
            Effect::RestartNextUpdate { target_ms } => {
                sla::restart_next_update(tx, id, target_ms, wt, at_ms).await?
            }
        }
    }
    Ok(())
}

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
        let actor = check_actor(&t.actor)?;
        let to: CaseStatus = t.to.parse().map_err(|e: UnknownValue| e.for_field("to"))?;
        check_texts(t.message.as_deref(), t.reason.as_deref())?;
        let (_gate, mut tx) = self.begin_write().await?;
        if !case_writes::bump_updated(&mut tx, id, at_ms, None).await? {
            return Err(StoreError::NotFound);
        }
        let case = load_state(&mut tx, id).await?;
        let request = TransitionRequest {
            to,
            message: t.message.as_deref(),
            reason: t.reason.as_deref(),
            fields: &t.fields,
        };
        let rules = Rules {
            sla: &policy.sla,
            follow_up_days: &policy.follow_up.days,
            taxonomy: self.taxonomy(),
        };
        let effects = lifecycle::plan(&case, &request, &rules)?;
        apply(&mut tx, id, actor, effects, policy, at_ms).await?;
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
        check_answer(score, comment)?;
        {
            let (_gate, mut tx) = self.begin_write().await?;
            let status: String = sqlx::query("SELECT status FROM cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get("status")?;
            check_awaiting_satisfaction(enum_column(&status, "cases.status")?)?;
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
            case_writes::history(
                &mut tx,
                id,
                at_ms,
                actor,
                "satisfaction",
                None,
                Some(&satisfaction_note(score, comment)),
            )
            .await?;
            tx.commit().await?;
        }
        let (to, reason) = after_satisfaction(score, policy.follow_up.satisfied_at_least);
        let t = Transition {
            to: to.as_str().into(),
            actor: actor.into(),
            message: None,
            reason,
            fields: Map::new(),
        };
        self.transition(id, &t, policy, at_ms).await
    }

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
        check_update_message(message)?;
        let (_gate, mut tx) = self.begin_write().await?;
        if !case_writes::bump_updated(&mut tx, id, at_ms, None).await? {
            return Err(StoreError::NotFound);
        }
        let case = load_state(&mut tx, id).await?;
        let effects = lifecycle::plan_update(&case, message, &policy.sla)?;
        apply(&mut tx, id, actor, effects, policy, at_ms).await?;
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
