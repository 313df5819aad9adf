//! Reading one stored feedback.

use sqlx::Row;
use uuid::Uuid;

use super::{
    rows::{enum_column, flag_column, json_column, uuid_column},
    AsrRecord, AudioInfo, Consent, CutShortInfo, FeedbackDetail, Store, StoreError,
};

/// The most feedback [`Store::get_feedback_many`] reads in one statement.
pub const MAX_FEEDBACK_BATCH: usize = 100;

impl Store {
    /// Feedback `id` with its telemetry snapshot, or `None` when it is not stored.
    pub async fn get_feedback(&self, id: Uuid) -> Result<Option<FeedbackDetail>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM feedback WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(feedback_of_row(&row)?))
    }

    /// The stored feedback among `ids` (at most [`MAX_FEEDBACK_BATCH`]) in
    /// the order of `ids`, read in one statement: a page of a case's reports
    /// without one query per report. Ids that are not stored are left out.
    pub async fn get_feedback_many(&self, ids: &[Uuid]) -> Result<Vec<FeedbackDetail>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_FEEDBACK_BATCH {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_FEEDBACK_BATCH} feedback in one read, got {}",
                ids.len()
            )));
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT * FROM feedback WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut found = rows
            .iter()
            .map(feedback_of_row)
            .collect::<Result<Vec<_>, _>>()?;
        found.sort_by_key(|f| ids.iter().position(|id| *id == f.id));
        Ok(found)
    }
}

/// A `feedback` row as the read model.
fn feedback_of_row(row: &sqlx::any::AnyRow) -> Result<FeedbackDetail, StoreError> {
    Ok(FeedbackDetail {
        id: uuid_column(row.try_get("id")?, "feedback.id")?,
        vin: row.try_get("vin")?,
        model: row.try_get("model")?,
        model_year: row.try_get("model_year")?,
        captured_at_ms: row.try_get("captured_at_ms")?,
        received_at_ms: row.try_get("received_at_ms")?,
        trigger: enum_column(row.try_get("trigger_kind")?, "feedback.trigger_kind")?,
        locale: row.try_get("locale")?,
        transcript: row.try_get("transcript")?,
        transcript_source: row
            .try_get::<Option<String>, _>("transcript_source")?
            .map(|s| enum_column(&s, "feedback.transcript_source"))
            .transpose()?,
        transcript_confidence: row.try_get("transcript_confidence")?,
        asr: match row.try_get::<Option<String>, _>("asr_status")? {
            None => None,
            Some(status) => Some(AsrRecord {
                status: enum_column(&status, "feedback.asr_status")?,
                model: row
                    .try_get::<Option<String>, _>("asr_model")?
                    .unwrap_or_default(),
                language: row.try_get("asr_language")?,
                elapsed_ms: row.try_get::<Option<i64>, _>("asr_ms")?.unwrap_or_default(),
                error: row.try_get("asr_error")?,
                head_unit_transcript: row.try_get("head_unit_transcript")?,
                head_unit_confidence: row.try_get("head_unit_confidence")?,
            }),
        },
        software: json_column(row.try_get("software_json")?, "feedback.software_json")?,
        telemetry: json_column(row.try_get("telemetry_json")?, "feedback.telemetry_json")?,
        audio: AudioInfo {
            status: enum_column(row.try_get("audio_status")?, "feedback.audio_status")?,
            path: row.try_get("audio_path")?,
            codec: row.try_get("audio_codec")?,
            sample_rate: row.try_get("audio_sample_rate")?,
            channels: row.try_get("audio_channels")?,
            duration_ms: row.try_get("audio_duration_ms")?,
            bytes: row.try_get("audio_bytes")?,
        },
        consent: Consent {
            audio: flag_column(row.try_get("consent_audio")?),
            location: flag_column(row.try_get("consent_location")?),
        },
        cut_short: match row.try_get::<Option<String>, _>("cut_short_reason")? {
            None => None,
            Some(reason) => Some(CutShortInfo {
                reason,
                completed_at_ms: row
                    .try_get::<Option<i64>, _>("cut_short_at_ms")?
                    .unwrap_or_default(),
            }),
        },
        envelope_bytes: row.try_get("envelope_bytes")?,
        case_id: row.try_get("case_id")?,
    })
}
