//! `follow_ups` rows: the questions asked after a resolution. Scheduled by
//! a transition to `effectiveness_verified`, sent by the SLA tick, answered
//! by the driver's satisfaction. When each is due and whether it is sent is
//! [`crate::domain::lifecycle::follow_ups`]'s rule; here they are read and
//! written.

use sqlx::{Any, Row, Transaction};

use crate::domain::{lifecycle::follow_up_due_ms, CaseStatus};
use crate::store::{rows::enum_column, StoreError};

type Tx = Transaction<'static, Any>;

/// A follow-up question that is due and not yet sent or answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DueFollowUp {
    /// The case.
    pub case_id: i64,
    /// Its resolution cycle.
    pub cycle: i64,
    /// The day after resolution it asks on.
    pub day: i64,
    /// The case's status now.
    pub status: CaseStatus,
}

/// Schedules the questions of resolution `cycle` of case `case_id`, resolved
/// at `at_ms`, one per day in `days` (a question already scheduled is kept).
pub(crate) async fn schedule(
    tx: &mut Tx,
    case_id: i64,
    cycle: i64,
    days: &[u32],
    at_ms: i64,
) -> Result<(), StoreError> {
    for day in days {
        sqlx::query(
            "INSERT INTO follow_ups (case_id, cycle, day, due_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id, cycle, day) DO NOTHING",
        )
        .bind(case_id)
        .bind(cycle)
        .bind(i64::from(*day))
        .bind(follow_up_due_ms(at_ms, *day))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The questions due at `now_ms`, not sent and not answered, of cases in
/// one of `statuses`, by case and day.
pub(crate) async fn due(
    tx: &mut Tx,
    statuses: &[CaseStatus],
    now_ms: i64,
) -> Result<Vec<DueFollowUp>, StoreError> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..statuses.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT u.case_id, u.cycle, u.day, c.status FROM follow_ups u JOIN cases c ON c.id = u.case_id \
         WHERE u.sent_at_ms IS NULL AND u.done_at_ms IS NULL AND u.due_at_ms <= $1 \
         AND c.status IN ({}) ORDER BY u.case_id, u.day",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now_ms);
    for status in statuses {
        query = query.bind(status.as_str());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in &rows {
        due.push(DueFollowUp {
            case_id: row.try_get("case_id")?,
            cycle: row.try_get("cycle")?,
            day: row.try_get("day")?,
            status: enum_column(row.try_get("status")?, "cases.status")?,
        });
    }
    Ok(due)
}

/// Marks the question of `day` in `cycle` of case `case_id` sent at `at_ms`.
pub(crate) async fn mark_sent(
    tx: &mut Tx,
    case_id: i64,
    cycle: i64,
    day: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE follow_ups SET sent_at_ms = $1 WHERE case_id = $2 AND cycle = $3 AND day = $4",
    )
    .bind(at_ms)
    .bind(case_id)
    .bind(cycle)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the questions of case `case_id` due by `at_ms` answered.
pub(crate) async fn mark_answered(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE follow_ups SET done_at_ms = $1 \
         WHERE case_id = $2 AND done_at_ms IS NULL AND due_at_ms <= $1",
    )
    .bind(at_ms)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
