//! What cars report they lost, and captures that arrived cut short.
//!
//! A car's outbox quarantines a record it finds torn or corrupt (and evicts
//! audio when over its quota); it tells the cloud in a
//! [`LossReport`](qloop_protocol::LossReport). Each report is stored once.
//! A lost audio chunk that the car could not send again leaves the clip
//! `incomplete` rather than `partial` forever, whether the report comes
//! before or after the envelope. A lost feedback envelope shows on its
//! vehicle (`GET /api/vehicles/{vin}`) and in `/metrics` until, if ever, the
//! feedback arrives after all.

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use qloop_protocol::{LossReport, LostMessage};

use super::{rows::uuid_column, Store, StoreError};
use crate::views::LostMessageRecord;

/// Reported losses by what was lost, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossCount {
    /// What was lost (see [`crate::views::LostMessageRecord::lost`]).
    pub lost: String,
    /// Whether the car sent it again.
    pub resent: bool,
    /// How many reports.
    pub count: i64,
}

/// Feedback whose envelope a car reported lost and which never arrived.
pub const LOST_FEEDBACK_NEVER_ARRIVED: &str =
    "SELECT COUNT(*) AS n FROM lost_messages l WHERE l.lost_kind IN ('feedback', 'capture') \
     AND l.resent = 0 AND l.feedback_id IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.id = l.feedback_id)";

impl Store {
    /// Stores a car's loss report once (a repeat returns false). A chunk
    /// lost for good marks its feedback's audio `incomplete`.
    pub async fn record_loss(
        &self,
        report: &LossReport,
        received_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let chunk = match report.lost {
            LostMessage::AudioChunk { index } => Some(i64::from(index)),
            _ => None,
        };
        let (_gate, mut tx) = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO lost_messages (report_id, vin, feedback_id, lost_kind, chunk_index, reason, \
             resent, detected_at_ms, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (report_id) DO NOTHING",
        )
        .bind(report.report_id.to_string())
        .bind(&report.vin)
        .bind(report.feedback_id.map(|id| id.to_string()))
        .bind(report.lost.as_str())
        .bind(chunk)
        .bind(report.reason.replace('\0', "\u{FFFD}"))
        .bind(i64::from(report.resent))
        .bind(report.detected_at_ms)
        .bind(received_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if let Some(feedback_id) = report.feedback_id {
            mark_audio_incomplete_if_lost(&mut tx, feedback_id).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The losses car `vin` reported, newest first (at most `limit`).
    pub async fn vehicle_losses(
        &self,
        vin: &str,
        limit: i64,
    ) -> Result<Vec<LostMessageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.*, CAST(CASE WHEN EXISTS (SELECT 1 FROM feedback f WHERE f.id = l.feedback_id) \
             THEN 1 ELSE 0 END AS BIGINT) AS arrived FROM lost_messages l WHERE l.vin = $1 \
             ORDER BY l.received_at_ms DESC, l.report_id DESC LIMIT $2",
        )
        .bind(vin)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LostMessageRecord {
                    report_id: uuid_column(
                        row.try_get::<&str, _>("report_id")?,
                        "lost_messages.report_id",
                    )?,
                    feedback_id: row
                        .try_get::<Option<String>, _>("feedback_id")?
                        .map(|id| uuid_column(&id, "lost_messages.feedback_id"))
                        .transpose()?,
                    lost: row.try_get("lost_kind")?,
                    chunk_index: row.try_get("chunk_index")?,
                    reason: row.try_get("reason")?,
                    resent: row.try_get::<i64, _>("resent")? != 0,
                    feedback_arrived: row.try_get::<i64, _>("arrived")? != 0,
                    detected_at_ms: row.try_get("detected_at_ms")?,
                    received_at_ms: row.try_get("received_at_ms")?,
                })
            })
            .collect()
    }

    /// Reported losses by kind and whether they were resent.
    pub async fn loss_counts(&self) -> Result<Vec<LossCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT lost_kind, resent, COUNT(*) AS n FROM lost_messages \
             GROUP BY lost_kind, resent ORDER BY lost_kind, resent",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LossCount {
                    lost: row.try_get("lost_kind")?,
                    resent: row.try_get::<i64, _>("resent")? != 0,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Feedback a car reported lost (envelope or unfinished capture) that
    /// never arrived.
    pub async fn lost_feedback_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(LOST_FEEDBACK_NEVER_ARRIVED)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Marks feedback `id`'s chunked audio `incomplete` when its car reported a
/// chunk of it lost for good. Called when the report arrives and when the
/// envelope does, so the order of the two does not matter.
pub(crate) async fn mark_audio_incomplete_if_lost(
    tx: &mut Transaction<'static, Any>,
    feedback_id: Uuid,
) -> Result<(), StoreError> {
    let id = feedback_id.to_string();
    sqlx::query(
        "UPDATE feedback SET audio_status = 'incomplete' WHERE id = $1 AND audio_status = 'partial' \
         AND EXISTS (SELECT 1 FROM lost_messages WHERE feedback_id = $1 \
         AND lost_kind = 'audio_chunk' AND resent = 0)",
    )
    .bind(&id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
