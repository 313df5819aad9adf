//! The rows the emerging-issue rule reads and writes: whether a case is
//! flagged already, every report's words and telemetry for the severity
//! review, and the flag itself. The rules are
//! [`crate::domain::fleet::emerging`] and
//! [`crate::domain::fleet::severity_review`].

use qloop_protocol::TelemetrySnapshot;
use sqlx::{Any, Row, Transaction};

use super::StoreError;
use crate::domain::fleet::severity_review::ReportEvidence;

type Tx = Transaction<'static, Any>;

/// What an `emerging_issue` event names of a case, and whether it is
/// flagged already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmergingState {
    /// Flagged as emerging before.
    pub flagged: bool,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: String,
}

/// A case's emerging flag, title and category.
pub(crate) async fn state(tx: &mut Tx, case_id: i64) -> Result<EmergingState, StoreError> {
    let row = sqlx::query("SELECT emerging_at_ms, title, category FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(EmergingState {
        flagged: row.try_get::<Option<i64>, _>("emerging_at_ms")?.is_some(),
        title: row.try_get("title")?,
        category: row.try_get("category")?,
    })
}

/// Flags a case emerging at `at_ms`.
pub(crate) async fn flag(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET emerging_at_ms = $1 WHERE id = $2")
        .bind(at_ms)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every report of a case: its transcript and its telemetry snapshot.
pub(crate) async fn report_evidence(
    tx: &mut Tx,
    case_id: i64,
) -> Result<Vec<ReportEvidence>, StoreError> {
    let rows = sqlx::query(
        "SELECT f.transcript, f.telemetry_json FROM feedback f \
         JOIN case_feedback cf ON cf.feedback_id = f.id WHERE cf.case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let telemetry: TelemetrySnapshot =
                serde_json::from_str(&row.try_get::<String, _>("telemetry_json")?)
                    .map_err(|e| StoreError::Corrupt(format!("feedback.telemetry_json: {e}")))?;
            Ok(ReportEvidence {
                transcript: row.try_get("transcript")?,
                telemetry,
            })
        })
        .collect()
}
