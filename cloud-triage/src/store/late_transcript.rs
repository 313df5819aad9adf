//! A transcript that arrives after its feedback. A clip too large for one
//! MQTT message travels in chunks after the envelope, so the feedback is
//! stored and its case opened (untriaged: there were no words yet) before
//! the cloud can transcribe it. Once it has, the feedback gets its words and,
//! while its case is still the untouched case it opened alone, that case is
//! triaged from them: title, category, department, severity, matches and
//! suggested fixes, exactly as if the words had come with the envelope. When
//! an open case of the same issue exists, the returned outcome names it and
//! the caller merges the new case into it ([`Store::merge_cases`]), so the
//! fleet-wide case counts this report too.

use qloop_knowledge::linking::{LinkDecision, NewFeedback};
use sqlx::Row;
use uuid::Uuid;

use super::{
    case_writes,
    ingest::{suggest_fixes, Triaged},
    linking,
    records::AsrRecord,
    rows::vector_text,
    Store, StoreError,
};
use crate::domain::{
    texts::{case_title, UNTITLED},
    AsrStatus, CaseStatus, Severity,
};

/// The cloud's words for a stored feedback.
#[derive(Debug, Clone, Copy)]
pub struct LateTranscript<'a> {
    /// The feedback.
    pub feedback_id: Uuid,
    /// What the cloud's recognition did; with status `transcribed`, `text`
    /// and `confidence` are the feedback's transcript from now on.
    pub asr: &'a AsrRecord,
    /// The transcript.
    pub text: &'a str,
    /// Its confidence, 0..=1.
    pub confidence: f64,
}

/// What [`Store::apply_late_transcript`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct LateOutcome {
    /// The feedback's case.
    pub case_id: i64,
    /// True when the case was triaged from the transcript.
    pub retriaged: bool,
    /// An open case of the same issue the case should be merged into.
    pub same_issue_as: Option<(i64, f32)>,
}

impl Store {
    /// Records the cloud's recognition of a feedback's clip and, when it
    /// produced the words and the feedback's case is still the untriaged
    /// case it opened alone, triages that case from them. Returns `None`
    /// when the feedback is not stored or already has recognition recorded
    /// (a redelivered chunk), so nothing is done twice.
    pub async fn apply_late_transcript(
        &self,
        late: LateTranscript<'_>,
        triage: Option<Triaged<'_>>,
        now: i64,
    ) -> Result<Option<LateOutcome>, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let feedback_id = late.feedback_id.to_string();
        let Some(row) = sqlx::query(
            "SELECT case_id, model, captured_at_ms, asr_status FROM feedback WHERE id = $1",
        )
        .bind(&feedback_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        if row.try_get::<Option<String>, _>("asr_status")?.is_some() {
            return Ok(None);
        }
        let case_id: i64 = row.try_get::<Option<i64>, _>("case_id")?.ok_or_else(|| {
            StoreError::Corrupt(format!("feedback {feedback_id} is stored without a case"))
        })?;
        let asr = late.asr;
        let transcribed = asr.status == AsrStatus::Transcribed;
        let vector = triage
            .and_then(|t| t.assessment.vector.as_deref())
            .filter(|v| transcribed && v.len() == linking::DIM);
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
        .bind(&feedback_id)
        .execute(&mut *tx)
        .await?;
        if !transcribed {
            tx.commit().await?;
            return Ok(Some(LateOutcome {
                case_id,
                retriaged: false,
                same_issue_as: None,
            }));
        }
        sqlx::query(
            "UPDATE feedback SET transcript = $1, transcript_source = 'cloud_asr', \
             transcript_confidence = $2, vector = $3 WHERE id = $4",
        )
        .bind(late.text)
        .bind(late.confidence)
        .bind(vector.map(vector_text))
        .bind(&feedback_id)
        .execute(&mut *tx)
        .await?;
        let case = sqlx::query(
            "SELECT c.status, c.category, c.title, \
             (SELECT COUNT(*) FROM case_feedback cf WHERE cf.case_id = c.id) AS reports \
             FROM cases c WHERE c.id = $1",
        )
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await?;
        let untouched = case.try_get::<String, _>("status")? == CaseStatus::New.as_str()
            && case.try_get::<i64, _>("reports")? == 1
            && [qloop_models::UNTRIAGED, qloop_models::NEEDS_HUMAN_TRIAGE]
                .contains(&case.try_get::<String, _>("category")?.as_str());
        let title = case_title(Some(late.text));
        let Some(t) = triage.filter(|_| untouched) else {
            // An engineer has the case already: give it the words, not a verdict.
            if case.try_get::<String, _>("title")? == UNTITLED {
                sqlx::query("UPDATE cases SET title = $1 WHERE id = $2")
                    .bind(&title)
                    .bind(case_id)
                    .execute(&mut *tx)
                    .await?;
            }
            case_writes::history(
                &mut tx,
                case_id,
                now,
                "triage",
                "transcript",
                None,
                Some(&format!(
                    "feedback {feedback_id} transcribed by {}: {}",
                    asr.model, late.text
                )),
            )
            .await?;
            tx.commit().await?;
            return Ok(Some(LateOutcome {
                case_id,
                retriaged: false,
                same_issue_as: None,
            }));
        };
        let a = t.assessment;
        let mut same_issue_as = None;
        if let Some(v) = vector.filter(|_| a.category != qloop_models::NEEDS_HUMAN_TRIAGE) {
            linking::lock_linking(&mut tx).await?;
            let family = linking::model_family(&row.try_get::<String, _>("model")?);
            let decision = linking::find_case(
                &mut tx,
                t.policy,
                &NewFeedback {
                    vector: v,
                    category: &a.category,
                    model_family: &family,
                    at_ms: row.try_get("captured_at_ms")?,
                },
            )
            .await?;
            if let LinkDecision::Link {
                case_id: other,
                similarity,
            } = decision
            {
                same_issue_as = Some((other, similarity)).filter(|(o, _)| *o != case_id);
            }
        }
        let severity: Severity = a.severity.parse()?;
        let before = super::sla::assessed(&mut tx, case_id).await?;
        sqlx::query(
            "UPDATE cases SET title = $1, category = $2, severity = $3, department = $4, \
             confidence = $5, model_version = $6, updated_at_ms = $7 WHERE id = $8",
        )
        .bind(&title)
        .bind(&a.category)
        .bind(severity.as_str())
        .bind(a.department.as_deref())
        .bind(a.confidence)
        .bind(&a.model_version)
        .bind(now)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        if let Some(v) = vector {
            linking::add_to_centroid(&mut tx, case_id, v).await?;
        }
        case_writes::history(
            &mut tx,
            case_id,
            now,
            "triage",
            "category",
            None,
            Some(&format!(
                "{} ({:.2}) from the words of feedback {feedback_id}, transcribed by {}",
                a.category, a.confidence, asr.model
            )),
        )
        .await?;
        // The index may already hold this very case (untitled); it is no
        // match for itself.
        let own = format!("case-{case_id}");
        let matches: Vec<_> = t
            .matches
            .iter()
            .filter(|m| m.doc_id != own)
            .cloned()
            .collect();
        linking::save_matches(&mut tx, case_id, &matches, now).await?;
        suggest_fixes(&mut tx, case_id, t, now).await?;
        // Major words: escalated once, like a major report on arrival; the
        // clocks take the targets of the case's severity and category.
        let reasons = a.severity_reasons.join(", ");
        super::sla::reassess(
            &mut tx,
            case_id,
            (before.0, &before.1),
            "triage",
            &reasons,
            &format!("major once transcribed ({reasons})"),
            &t.policy.sla,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(LateOutcome {
            case_id,
            retriaged: true,
            same_issue_as,
        }))
    }
}
