//! The rows a transcript that arrives after its feedback reads and writes:
//! the feedback's recognition and words, and its case's triage. The use
//! case is [`crate::app::late_transcript`]; whether the case may still be
//! triaged from the words is [`crate::domain::fleet::late_words`].

use sqlx::{Any, Row, Transaction};

use super::{
    rows::{enum_column, vector_text},
    AsrRecord, StoreError,
};
use crate::domain::{CaseStatus, Severity, TranscriptSource};

type Tx = Transaction<'static, Any>;

/// A stored feedback as a late transcript finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFeedback {
    /// Its case.
    pub case_id: i64,
    /// The car's model name.
    pub model: String,
    /// When the car captured it, Unix ms.
    pub captured_at_ms: i64,
    /// Recognition is recorded already (a redelivered chunk).
    pub recognised: bool,
}

/// The feedback `feedback_id`, if stored.
pub(crate) async fn stored_feedback(
    tx: &mut Tx,
    feedback_id: &str,
) -> Result<Option<StoredFeedback>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT case_id, model, captured_at_ms, asr_status FROM feedback WHERE id = $1",
    )
    .bind(feedback_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let case_id = row.try_get::<Option<i64>, _>("case_id")?.ok_or_else(|| {
        StoreError::Corrupt(format!("feedback {feedback_id} is stored without a case"))
    })?;
    Ok(Some(StoredFeedback {
        case_id,
        model: row.try_get("model")?,
        captured_at_ms: row.try_get("captured_at_ms")?,
        recognised: row.try_get::<Option<String>, _>("asr_status")?.is_some(),
    }))
}

/// Records what the cloud's recognition did; when it `transcribed`, the
/// head unit's transcript is kept aside.
pub(crate) async fn record_asr(
    tx: &mut Tx,
    feedback_id: &str,
    asr: &AsrRecord,
    transcribed: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feedback SET asr_status = $1, asr_model = $2, asr_language = $3, asr_ms = $4, \
         asr_error = $5, head_unit_transcript = CASE WHEN $6 = 1 THEN transcript ELSE NULL END, \
         head_unit_confidence = CASE WHEN $6 = 1 THEN transcript_confidence ELSE NULL END \
         WHERE id = $7",
    )
    .bind(asr.status.as_str())
    .bind(&asr.model)
    .bind(asr.language.as_deref())
    .bind(asr.elapsed_ms)
    .bind(asr.error.as_deref())
    .bind(i64::from(transcribed))
    .bind(feedback_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives the feedback the cloud's words (and their embedding).
pub(crate) async fn write_words(
    tx: &mut Tx,
    feedback_id: &str,
    text: &str,
    confidence: f64,
    vector: Option<&[f32]>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feedback SET transcript = $1, transcript_source = $2, \
         transcript_confidence = $3, vector = $4 WHERE id = $5",
    )
    .bind(text)
    .bind(TranscriptSource::CloudAsr.as_str())
    .bind(confidence)
    .bind(vector.map(vector_text))
    .bind(feedback_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A case as the late words find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseState {
    /// Its status.
    pub status: CaseStatus,
    /// Its category.
    pub category: String,
    /// Its title.
    pub title: String,
    /// How many reports it holds.
    pub reports: i64,
}

/// Case `case_id`'s status, category, title and report count.
pub(crate) async fn case_state(tx: &mut Tx, case_id: i64) -> Result<CaseState, StoreError> {
    let row = sqlx::query(
        "SELECT c.status, c.category, c.title, \
         (SELECT COUNT(*) FROM case_feedback cf WHERE cf.case_id = c.id) AS reports \
         FROM cases c WHERE c.id = $1",
    )
    .bind(case_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(CaseState {
        status: enum_column(row.try_get("status")?, "cases.status")?,
        category: row.try_get("category")?,
        title: row.try_get("title")?,
        reports: row.try_get("reports")?,
    })
}

/// Sets a case's title.
pub(crate) async fn set_title(tx: &mut Tx, case_id: i64, title: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET title = $1 WHERE id = $2")
        .bind(title)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What triage of the late words gives a case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retriage<'a> {
    /// Its new title.
    pub title: &'a str,
    /// Its category.
    pub category: &'a str,
    /// Its severity.
    pub severity: Severity,
    /// Its department.
    pub department: Option<&'a str>,
    /// Triage's confidence.
    pub confidence: f64,
    /// The model that triaged it.
    pub model_version: &'a str,
}

/// Writes a case's triage from late words (the caller marks it changed).
pub(crate) async fn write_retriage(
    tx: &mut Tx,
    case_id: i64,
    r: &Retriage<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cases SET title = $1, category = $2, severity = $3, department = $4, \
         confidence = $5, model_version = $6 WHERE id = $7",
    )
    .bind(r.title)
    .bind(r.category)
    .bind(r.severity.as_str())
    .bind(r.department)
    .bind(r.confidence)
    .bind(r.model_version)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
