//! The 8D case lifecycle's rows: [`load_state`] reads a case into the
//! domain's [`CaseState`], and [`apply`] writes a plan's [`Effect`]s, in
//! order, inside the caller's transaction. The rules (which transitions
//! exist, what each requires and does) are [`crate::domain::lifecycle`];
//! the use cases that load, plan and apply are in [`crate::app`]
//! (`transition`, `satisfaction`, `send_update`, the SLA tick's follow-ups).

use std::collections::BTreeSet;

use sqlx::{Any, Row, Transaction};

pub(crate) mod follow_ups;

use super::{
    case_update::write_fields,
    case_writes,
    rows::{enum_column, flag_column},
    sla, Store, StoreError,
};
use crate::{
    domain::fields::FieldValue,
    domain::lifecycle::{CaseState, Effect, REQUIRED_FIELDS},
    domain::CaseStatus,
    sla::SlaPolicy,
};

pub use crate::domain::lifecycle::{next_states, required_fields};

type Tx = Transaction<'static, Any>;

/// Loads what the lifecycle needs to know about case `id` (inside the
/// caller's transaction, after it took the row's lock).
pub(crate) async fn load_state(tx: &mut Tx, id: i64) -> Result<CaseState, StoreError> {
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
        // Times and the satisfaction score are numbers, the rest text.
        let value = if field == "satisfaction" || field.ends_with("_ms") {
            FieldValue::Int(row.try_get(field)?)
        } else {
            FieldValue::Text(row.try_get(field)?)
        };
        if value.is_present() {
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

impl Store {
    /// Case `id` as the lifecycle sees it, or `None` when there is no such
    /// case: what the web UI asks which transitions to offer (the rules
    /// then decide, [`crate::domain::lifecycle::allowed_targets`]).
    pub async fn lifecycle_state(&self, id: i64) -> Result<Option<CaseState>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let state = match load_state(&mut tx, id).await {
            Ok(state) => Some(state),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        tx.rollback().await?;
        Ok(state)
    }
}

/// Applies a plan's effects to case `id`, in order, by `actor` under the
/// SLA policy `sla`.
///
/// One arm per [`Effect`], each a row write or a call into [`sla`],
/// [`follow_ups`] or `case_writes`.
pub(crate) async fn apply(
    tx: &mut Tx,
    id: i64,
    actor: &str,
    effects: Vec<Effect>,
    sla: &SlaPolicy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let wt = sla.working_time();
    for effect in effects {
        match effect {
            Effect::SetFields(changes) => write_fields(tx, id, actor, &changes, sla, at_ms).await?,
            Effect::SetStatus { from, to, note } => {
                case_writes::set_status(tx, id, from, to, actor, &note, at_ms).await?
            }
            Effect::ResumeClocks => {
                sla::resume_clocks(tx, id, wt, at_ms).await?;
                set_paused_from(tx, id, None).await?;
            }
            Effect::PauseClocks => sla::pause_clocks(tx, id, at_ms).await?,
            Effect::SetPausedFrom(from) => set_paused_from(tx, id, Some(from)).await?,
            Effect::StopClock(metric) => sla::stop_clock(tx, id, metric, wt, at_ms).await?,
            Effect::StopRoute => sla::stop_route(tx, id, at_ms).await?,
            Effect::MarkFirstResponse => {
                execute(tx, id, at_ms, "UPDATE cases SET first_response_at_ms = COALESCE(first_response_at_ms, $1) WHERE id = $2").await?
            }
            Effect::MarkResolved => {
                execute(tx, id, at_ms, "UPDATE cases SET resolved_at_ms = $1, verified_at_ms = COALESCE(verified_at_ms, $1) WHERE id = $2").await?
            }
            Effect::ScheduleFollowUps { cycle, days } => {
                follow_ups::schedule(tx, id, cycle, &days, at_ms).await?
            }
            Effect::MarkClosed => {
                execute(tx, id, at_ms, "UPDATE cases SET closed_at_ms = $1 WHERE id = $2").await?
            }
            Effect::Reopen => reopen(tx, id).await?,
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
            Effect::MarkChanged => {
                case_writes::bump_updated(tx, id, at_ms, None).await?;
            }
            Effect::RecordSatisfaction { score, comment } => {
                record_satisfaction(tx, id, score, comment.as_deref()).await?
            }
            Effect::AnswerFollowUps => follow_ups::mark_answered(tx, id, at_ms).await?,
            Effect::MarkFollowUpSent { cycle, day } => {
                follow_ups::mark_sent(tx, id, cycle, day, at_ms).await?
            }
        }
    }
    Ok(())
}

/// Runs `sql`, binding `at_ms` as `$1` and the case `id` as `$2`.
async fn execute(tx: &mut Tx, id: i64, at_ms: i64, sql: &str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .bind(at_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets (or clears) the status a case left to wait on the customer.
async fn set_paused_from(tx: &mut Tx, id: i64, from: Option<CaseStatus>) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET paused_from = $1 WHERE id = $2")
        .bind(from.map(|s| s.as_str()))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Counts a reopening and clears the resolution and the satisfaction.
async fn reopen(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cases SET reopen_count = reopen_count + 1, resolved_at_ms = NULL, satisfaction = NULL, \
         satisfaction_comment = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the driver's satisfaction answer.
async fn record_satisfaction(
    tx: &mut Tx,
    id: i64,
    score: i64,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET satisfaction = $1, satisfaction_comment = $2 WHERE id = $3")
        .bind(score)
        .bind(comment)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
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
