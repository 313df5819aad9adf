//! `sla_clocks` rows as [`Clock`]s and back: load a case's clocks (all,
//! running, or a metric's current cycle), every clock that has not stopped,
//! insert a new one, save one's changing columns. No rule is here: what a
//! clock does is [`crate::domain::clocks`].

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::domain::{clocks::Clock, SlaMetric};
use crate::store::{
    rows::{enum_column, json_column},
    StoreError,
};

type Tx = Transaction<'static, Any>;

/// A `sla_clocks` row as a [`Clock`].
pub(crate) fn clock_from_row(row: &AnyRow) -> Result<Clock, StoreError> {
    let pauses: Vec<(i64, i64)> = serde_json::from_value(json_column(
        &row.try_get::<String, _>("pauses_json")?,
        "sla_clocks.pauses_json",
    )?)
    .map_err(|e| StoreError::Corrupt(format!("sla_clocks.pauses_json: {e}")))?;
    Ok(Clock {
        metric: enum_column(row.try_get("metric")?, "sla_clocks.metric")?,
        cycle: row.try_get("cycle")?,
        target_ms: row.try_get("target_ms")?,
        started_at_ms: row.try_get("started_at_ms")?,
        due_at_ms: row.try_get("due_at_ms")?,
        paused_ms: row.try_get("paused_ms")?,
        paused_since_ms: row.try_get("paused_since_ms")?,
        pauses,
        stopped_at_ms: row.try_get("stopped_at_ms")?,
        breached_at_ms: row.try_get("breached_at_ms")?,
    })
}

/// A case's clocks: all of them, or those not stopped.
pub(crate) async fn load_clocks(
    tx: &mut Tx,
    case_id: i64,
    running: bool,
) -> Result<Vec<Clock>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM sla_clocks WHERE case_id = $1 AND ($2 = 0 OR stopped_at_ms IS NULL) \
         ORDER BY metric, cycle",
    )
    .bind(case_id)
    .bind(i64::from(running))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(clock_from_row).collect()
}

/// Every clock that has not stopped, `(case, clock)`, by case, metric and cycle.
pub(crate) async fn open_clocks(tx: &mut Tx) -> Result<Vec<(i64, Clock)>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM sla_clocks WHERE stopped_at_ms IS NULL ORDER BY case_id, metric, cycle",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64, _>("case_id")?, clock_from_row(row)?)))
        .collect()
}

/// The current (highest) cycle of a metric's clock on a case.
pub(crate) async fn current_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
) -> Result<Option<Clock>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM sla_clocks WHERE case_id = $1 AND metric = $2 ORDER BY cycle DESC LIMIT 1",
    )
    .bind(case_id)
    .bind(metric.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(clock_from_row).transpose()
}

/// Inserts a new clock (a new case, or a metric's next cycle); an existing
/// clock of the same metric and cycle is kept.
pub(crate) async fn insert_clock(tx: &mut Tx, case_id: i64, c: &Clock) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sla_clocks (case_id, metric, cycle, target_ms, started_at_ms, due_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, metric, cycle) DO NOTHING",
    )
    .bind(case_id)
    .bind(c.metric.as_str())
    .bind(c.cycle)
    .bind(c.target_ms)
    .bind(c.started_at_ms)
    .bind(c.due_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves a clock's changing columns.
pub(crate) async fn save_clock(tx: &mut Tx, case_id: i64, c: &Clock) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sla_clocks SET target_ms = $1, due_at_ms = $2, paused_ms = $3, paused_since_ms = $4, \
         pauses_json = $5, stopped_at_ms = $6, breached_at_ms = $7 \
         WHERE case_id = $8 AND metric = $9 AND cycle = $10",
    )
    .bind(c.target_ms)
    .bind(c.due_at_ms)
    .bind(c.paused_ms)
    .bind(c.paused_since_ms)
    .bind(serde_json::to_string(&c.pauses).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(c.stopped_at_ms)
    .bind(c.breached_at_ms)
    .bind(case_id)
    .bind(c.metric.as_str())
    .bind(c.cycle)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
