//! The rows one feedback writes when it arrives: the feedback itself
//! (idempotently), its link to a case, and the case it opens with the fixes
//! suggested for it. The use case that puts them together in one
//! transaction is [`crate::app::ingest`].
//!
//! Idempotent on `feedback_id`: the feedback row is inserted with
//! `ON CONFLICT (id) DO NOTHING`. When nothing was inserted the feedback is
//! already stored (a retry, or another worker won a race: on PostgreSQL the
//! second insert waits for the first transaction and then sees its row), and
//! [`existing_case`] names its case.

use qloop_protocol::{AudioPayload, FeedbackEnvelope};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{
    case_writes,
    rows::{to_bigint, vector_text, NullableDouble},
    AsrRecord, StoreError,
};
use crate::domain::{
    fleet::suggestions::Suggestion, AsrStatus, AudioStatus, Severity, TranscriptSource, Trigger,
};

pub use crate::domain::texts::{case_title, TITLE_CHARS, UNTITLED};

type Tx = Transaction<'static, Any>;

/// Facts about a feedback the envelope itself does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestMeta {
    /// When the cloud received it, Unix ms.
    pub received_at_ms: i64,
    /// Size of the message on the wire.
    pub envelope_bytes: usize,
    /// Where the audio stands.
    pub audio: AudioState,
    /// The cloud's speech recognition, when it ran. With status
    /// `transcribed` the envelope's utterance is the cloud's transcript.
    pub asr: Option<AsrRecord>,
}

/// Where a feedback's audio stands when the envelope is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioState {
    /// No usable audio.
    None,
    /// The inline clip is on disk.
    Stored {
        /// Where.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// The clip travels in chunks that have not all arrived.
    Pending {
        /// How many chunks.
        chunks: u32,
        /// Total bytes once reassembled.
        total_bytes: u32,
    },
}

/// A case opened by one feedback, as its row is first written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewCase<'a> {
    /// Case number.
    pub id: i64,
    /// Category (`untriaged` without triage).
    pub category: &'a str,
    /// Severity (`unassessed` without triage).
    pub severity: Severity,
    /// The model that triaged it (`none` without one).
    pub model_version: &'a str,
    /// Its title.
    pub title: &'a str,
    /// When the car captured the feedback, Unix ms: first and last seen.
    pub captured_at_ms: i64,
    /// When it was opened, Unix ms.
    pub opened_at_ms: i64,
    /// The owning department, when triage names one.
    pub department: Option<&'a str>,
    /// Triage's confidence.
    pub confidence: Option<f64>,
    /// The hazard it names (a major case's, when triage named one).
    pub hazard: Option<qloop_models::Hazard>,
}

/// Inserts a new case's row (status `new`, one vehicle).
pub(crate) async fn insert_case(tx: &mut Tx, c: &NewCase<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cases (id, status, category, severity, model_version, title, vehicle_count, \
         first_seen_ms, last_seen_ms, opened_at_ms, updated_at_ms, department, confidence, hazard) \
         VALUES ($1, 'new', $2, $3, $4, $5, 1, $6, $6, $7, $7, $8, $9, $10)",
    )
    .bind(c.id)
    .bind(c.category)
    .bind(c.severity.as_str())
    .bind(c.model_version)
    .bind(c.title)
    .bind(c.captured_at_ms)
    .bind(c.opened_at_ms)
    .bind(c.department)
    .bind(NullableDouble(c.confidence))
    .bind(c.hazard.map(qloop_models::Hazard::name))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a suggested ICA or PCA, flagged as suggested, with its history.
pub(crate) async fn write_suggestion(
    tx: &mut Tx,
    case_id: i64,
    s: &Suggestion,
    at_ms: i64,
) -> Result<(), StoreError> {
    let (column, flag) = (s.action.column(), s.action.flag());
    sqlx::query(&format!(
        "UPDATE cases SET {column} = $1, {flag} = 1 WHERE id = $2"
    ))
    .bind(&s.value)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    case_writes::history(tx, case_id, at_ms, "triage", column, None, Some(&s.history)).await
}

/// Records that the feedback belongs to `case_id`.
pub(crate) async fn attach(
    tx: &mut Tx,
    feedback_id: &str,
    case_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE feedback SET case_id = $1 WHERE id = $2")
        .bind(case_id)
        .bind(feedback_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO case_feedback (feedback_id, case_id, linked_at_ms) VALUES ($1, $2, $3)",
    )
    .bind(feedback_id)
    .bind(case_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the feedback row; false when a row with its id already exists.
pub(crate) async fn insert_feedback(
    tx: &mut Tx,
    env: &FeedbackEnvelope,
    meta: &IngestMeta,
    vector: Option<&[f32]>,
) -> Result<bool, StoreError> {
    let software = serde_json::to_string(&env.vehicle.software)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let telemetry =
        serde_json::to_string(&env.telemetry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (audio_status, audio_path, audio_bytes, audio_chunks) = audio_columns(&meta.audio);
    let clip = env.audio.as_ref();
    let asr = meta.asr.as_ref();
    let crc32 = match clip.map(|a| &a.payload) {
        Some(AudioPayload::Chunked { crc32, .. }) => Some(i64::from(*crc32)),
        _ => None,
    };
    let result = sqlx::query(
        "INSERT INTO feedback (id, vin, model, model_year, captured_at_ms, received_at_ms, trigger_kind, locale, \
         transcript, transcript_source, transcript_confidence, software_json, telemetry_json, consent_audio, \
         consent_location, audio_status, audio_path, audio_codec, audio_sample_rate, audio_channels, \
         audio_duration_ms, audio_bytes, audio_chunks, audio_crc32, envelope_bytes, case_id, vector, \
         asr_status, asr_model, asr_language, asr_ms, asr_error, head_unit_transcript, head_unit_confidence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, NULL, $26, $27, $28, $29, $30, $31, $32, $33) ON CONFLICT (id) DO NOTHING",
    )
    .bind(env.feedback_id.to_string())
    .bind(&env.vehicle.vin)
    .bind(&env.vehicle.model)
    .bind(i64::from(env.vehicle.year))
    .bind(env.captured_at_ms)
    .bind(meta.received_at_ms)
    .bind(Trigger::from(env.trigger).as_str())
    .bind(&env.locale)
    .bind(env.transcript())
    .bind(env.utterance.as_ref().map(|_| match asr {
        Some(a) if a.status == AsrStatus::Transcribed => TranscriptSource::CloudAsr.as_str(),
        _ => TranscriptSource::HeadUnit.as_str(),
    }))
    .bind(NullableDouble(
        env.utterance
            .as_ref()
            .and_then(|u| u.confidence)
            .map(f64::from),
    ))
    .bind(software)
    .bind(telemetry)
    .bind(i64::from(env.consent.audio))
    .bind(i64::from(env.consent.location))
    .bind(audio_status.as_str())
    .bind(audio_path)
    .bind(clip.map(|_| "wav"))
    .bind(clip.map(|a| i64::from(a.sample_rate)))
    .bind(clip.map(|a| i64::from(a.channels)))
    .bind(clip.map(|a| i64::from(a.duration_ms)))
    .bind(audio_bytes)
    .bind(audio_chunks)
    .bind(crc32)
    .bind(to_bigint(meta.envelope_bytes as u64))
    .bind(vector.map(vector_text))
    .bind(asr.map(|a| a.status.as_str()))
    .bind(asr.map(|a| a.model.as_str()))
    .bind(asr.and_then(|a| a.language.as_deref()))
    .bind(asr.map(|a| a.elapsed_ms))
    .bind(asr.and_then(|a| a.error.as_deref()))
    .bind(asr.and_then(|a| a.head_unit_transcript.as_deref()))
    .bind(NullableDouble(asr.and_then(|a| a.head_unit_confidence)))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records that the car completed this capture after a stop, so its
/// telemetry ends at the trigger.
pub(crate) async fn record_cut_short(
    tx: &mut Tx,
    env: &FeedbackEnvelope,
) -> Result<(), StoreError> {
    let Some(cut) = env.cut_short else {
        return Ok(());
    };
    sqlx::query("UPDATE feedback SET cut_short_reason = $1, cut_short_at_ms = $2 WHERE id = $3")
        .bind(cut.reason.as_str())
        .bind(cut.completed_at_ms)
        .bind(env.feedback_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The case of a feedback that is already stored.
pub(crate) async fn existing_case(tx: &mut Tx, feedback_id: Uuid) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT case_id FROM feedback WHERE id = $1")
        .bind(feedback_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "feedback {feedback_id} conflicted but is not stored"
            ))
        })?;
    row.try_get::<Option<i64>, _>("case_id")?.ok_or_else(|| {
        StoreError::Corrupt(format!("feedback {feedback_id} is stored without a case"))
    })
}

/// The audio columns of a feedback row: status, path, bytes and chunks.
fn audio_columns(audio: &AudioState) -> (AudioStatus, Option<&str>, Option<i64>, Option<i64>) {
    match audio {
        AudioState::None => (AudioStatus::NoAudio, None, None, None),
        AudioState::Stored { path, bytes } => (
            AudioStatus::Complete,
            Some(path.as_str()),
            Some(to_bigint(*bytes)),
            None,
        ),
        AudioState::Pending {
            chunks,
            total_bytes,
        } => (
            AudioStatus::Partial,
            None,
            Some(i64::from(*total_bytes)),
            Some(i64::from(*chunks)),
        ),
    }
}
