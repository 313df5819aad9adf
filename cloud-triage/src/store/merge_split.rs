//! The rows an engineer's merge or split changes: the cases taking part,
//! the reports that move, the matches a merged case hands on, and the case
//! a split opens. What may move and what is recorded is
//! [`crate::domain::fleet::merge_split`]; the use cases are
//! [`crate::app::merge`] and [`crate::app::split`].

use sqlx::{Any, Row, Transaction};

use super::{case_writes, rows::enum_column, StoreError};
use crate::domain::fleet::merge_split::FleetCase;

type Tx = Transaction<'static, Any>;

/// Locks a case row for the change (bumping `updated_at_ms`) and reads its
/// status and severity; `NotFound` when there is no such case.
pub(crate) async fn touch(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<FleetCase, StoreError> {
    if !case_writes::bump_updated(tx, case_id, at_ms, None).await? {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query("SELECT status, severity FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(FleetCase {
        id: case_id,
        status: enum_column(row.try_get("status")?, "cases.status")?,
        severity: enum_column(row.try_get("severity")?, "cases.severity")?,
    })
}

/// Feedback ids linked to a case, sorted.
pub(crate) async fn feedback_of(tx: &mut Tx, case_id: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT feedback_id FROM case_feedback WHERE case_id = $1 ORDER BY feedback_id",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("feedback_id")?))
        .collect()
}

/// Moves feedback rows to case `to` (feedback.case_id and case_feedback).
pub(crate) async fn move_feedback(
    tx: &mut Tx,
    ids: &[String],
    to: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    for id in ids {
        sqlx::query(
            "UPDATE case_feedback SET case_id = $1, linked_at_ms = $2 WHERE feedback_id = $3",
        )
        .bind(to)
        .bind(at_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE feedback SET case_id = $1 WHERE id = $2")
            .bind(to)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Copies case `from`'s knowledge matches to `into`, except documents
/// `into` already has.
pub(crate) async fn copy_matches(tx: &mut Tx, from: i64, into: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_matches (case_id, doc_id, kind, score, similarity, title, containment, remedy, found_at_ms) \
         SELECT $1, doc_id, kind, score, similarity, title, containment, remedy, found_at_ms FROM case_matches m \
         WHERE m.case_id = $2 AND NOT EXISTS (SELECT 1 FROM case_matches o WHERE o.case_id = $1 AND o.doc_id = m.doc_id)",
    )
    .bind(into)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Points a merged-away case at the case it joined; it holds no occurrence.
pub(crate) async fn mark_merged(tx: &mut Tx, from: i64, into: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET merged_into = $1, occurrences = 0 WHERE id = $2")
        .bind(into)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A stored feedback's transcript.
pub(crate) async fn transcript_of(
    tx: &mut Tx,
    feedback_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query("SELECT transcript FROM feedback WHERE id = $1")
        .bind(feedback_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("transcript")?)
}

/// Inserts case `new_id`, split from `from`: `new`, titled `title`, with
/// `from`'s category, department, severity, hazard and model (its
/// aggregates follow once its reports moved).
pub(crate) async fn insert_split_case(
    tx: &mut Tx,
    new_id: i64,
    title: &str,
    from: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cases (id, status, category, department, severity, hazard, confidence, model_version, \
         title, vehicle_count, first_seen_ms, last_seen_ms, opened_at_ms, updated_at_ms) \
         SELECT $1, 'new', category, department, severity, hazard, confidence, model_version, $2, 1, \
         first_seen_ms, last_seen_ms, $3, $3 FROM cases WHERE id = $4",
    )
    .bind(new_id)
    .bind(title)
    .bind(at_ms)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
