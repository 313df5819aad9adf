//! One vehicle's view: what it sent and what it reported lost.

use sqlx::Row;

use super::{rows::uuid_column, Store, StoreError};
use crate::views::{VehicleFeedback, VehicleView, VEHICLE_VIEW_LIMIT};

impl Store {
    /// The view of vehicle `vin`, or `None` when it sent nothing at all.
    pub async fn vehicle_view(&self, vin: &str) -> Result<Option<VehicleView>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, captured_at_ms, transcript, audio_status, cut_short_reason, case_id \
             FROM feedback WHERE vin = $1 ORDER BY captured_at_ms DESC, id DESC LIMIT $2",
        )
        .bind(vin)
        .bind(VEHICLE_VIEW_LIMIT)
        .fetch_all(self.pool())
        .await?;
        let feedback = rows
            .iter()
            .map(|row| {
                Ok(VehicleFeedback {
                    id: uuid_column(row.try_get::<&str, _>("id")?, "feedback.id")?,
                    captured_at_ms: row.try_get("captured_at_ms")?,
                    transcript: row.try_get("transcript")?,
                    audio_status: super::rows::enum_column(
                        row.try_get("audio_status")?,
                        "feedback.audio_status",
                    )?,
                    cut_short_reason: row.try_get("cut_short_reason")?,
                    case_id: row.try_get("case_id")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let losses = self.vehicle_losses(vin, VEHICLE_VIEW_LIMIT).await?;
        if feedback.is_empty() && losses.is_empty() {
            return Ok(None);
        }
        let lost_feedback = losses
            .iter()
            .filter(|l| matches!(l.lost.as_str(), "feedback" | "capture"))
            .filter(|l| !l.resent && !l.feedback_arrived && l.feedback_id.is_some())
            .count() as i64;
        Ok(Some(VehicleView {
            vin: vin.to_string(),
            feedback,
            losses,
            lost_feedback,
        }))
    }
}
