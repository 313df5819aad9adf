//! The small writes every change to a case shares, in one place: a history
//! entry, a notification event, a case number, the `updated_at_ms` bump, a
//! status change, and a message to the cars that reported the case. Each
//! runs inside the caller's write transaction. This module uses no other
//! store module but the downlink outbox, so every other one may use it.

use qloop_protocol::{EventKind, VehicleEvent};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{CaseStatus, NotificationKind};

type Tx = Transaction<'static, Any>;

/// Appends one entry to a case's history.
pub(crate) async fn history(
    tx: &mut Tx,
    case_id: i64,
    at_ms: i64,
    actor: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_history (id, case_id, at_ms, actor, field, old_value, new_value) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(case_id)
    .bind(at_ms)
    .bind(actor)
    .bind(field)
    .bind(old)
    .bind(new)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues a notification event (`case_opened`, `escalated`,
/// `emerging_issue`, …) in the transaction of the change it announces.
pub(crate) async fn notify(
    tx: &mut Tx,
    kind: NotificationKind,
    case_id: i64,
    payload: serde_json::Value,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notification_events (id, kind, case_id, payload_json, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(kind.as_str())
    .bind(case_id)
    .bind(payload.to_string())
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next case number (numbers are never reused; only a transaction that
/// commits keeps its number).
pub(crate) async fn next_case_number(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("UPDATE sequences SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind("case_number")
            .fetch_one(&mut **tx)
            .await?
            .try_get("value")?,
    )
}

/// Marks case `id` changed at `at_ms`: `updated_at_ms` becomes `at_ms`, or
/// one more than its value when that is not earlier, so it strictly
/// increases. As the transaction's first write to the row it also takes
/// the row's write lock, serialising concurrent changes. With `expected`,
/// only a case last changed at that instant is bumped (an optimistic
/// update). False when no row was bumped.
pub(crate) async fn bump_updated(
    tx: &mut Tx,
    id: i64,
    at_ms: i64,
    expected: Option<i64>,
) -> Result<bool, StoreError> {
    let bumped = sqlx::query(
        "UPDATE cases SET updated_at_ms = CASE WHEN updated_at_ms >= $1 THEN updated_at_ms + 1 ELSE $1 END \
         WHERE id = $2 AND ($3 IS NULL OR updated_at_ms = $3)",
    )
    .bind(at_ms)
    .bind(id)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(bumped.rows_affected() == 1)
}

/// Sets a case's status and records the change (`note`: the history's new
/// value, the status with its reason when given).
pub(crate) async fn set_status(
    tx: &mut Tx,
    id: i64,
    from: CaseStatus,
    to: CaseStatus,
    actor: &str,
    note: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET status = $1 WHERE id = $2")
        .bind(to.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    history(
        tx,
        id,
        at_ms,
        actor,
        "status",
        Some(from.as_str()),
        Some(note),
    )
    .await
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
