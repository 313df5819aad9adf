//! A transcript that arrives after its feedback. A clip too large for one
//! MQTT message travels in chunks after the envelope, so the feedback is
//! stored and its case opened (untriaged: there were no words yet) before
//! the cloud can transcribe it. Once it has, the feedback gets its words and,
//! while its case is still the untouched case it opened alone
//! ([`may_retriage`]), that case is triaged from them: title, category,
//! department, severity, matches and suggested fixes, exactly as if the
//! words had come with the envelope; major words give it their hazard when
//! it names none yet, and escalate it on the one path
//! ([`crate::store::reassessment`]). When an open case of the same
//! issue exists, the returned outcome names it and the caller merges the
//! new case into it ([`Store::merge_cases`]), so the fleet-wide case counts
//! this report too.

use qloop_knowledge::linking::{LinkDecision, NewFeedback};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::{fleet, ingest::Triaged};
use crate::{
    domain::{
        fleet::{
            late_words::{
                category_history, may_retriage, own_doc_id, transcript_history, MAJOR_CAUSE,
            },
            may_link, model_family, DIM,
        },
        hazard::{self, major_detail},
        texts::{case_title, UNTITLED},
        AsrStatus, Severity,
    },
    store::{
        case_writes,
        hazard::keep as keep_hazard,
        late_transcript::{self as rows, Retriage, StoredFeedback},
        linking,
        reassessment::{self, Why},
        sla, AsrRecord, Store, StoreError,
    },
};

type Tx = Transaction<'static, Any>;

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
        let Some(stored) = rows::stored_feedback(&mut tx, &feedback_id)
            .await?
            .filter(|f| !f.recognised)
        else {
            return Ok(None);
        };
        let case_id = stored.case_id;
        let transcribed = late.asr.status == AsrStatus::Transcribed;
        let vector = triage
            .and_then(|t| t.assessment.vector.as_deref())
            .filter(|v| transcribed && v.len() == DIM);
        rows::record_asr(&mut tx, &feedback_id, late.asr, transcribed).await?;
        let mut outcome = LateOutcome {
            case_id,
            retriaged: false,
            same_issue_as: None,
        };
        if transcribed {
            rows::write_words(&mut tx, &feedback_id, late.text, late.confidence, vector).await?;
            let case = rows::case_state(&mut tx, case_id).await?;
            match triage.filter(|_| may_retriage(case.status, case.reports, &case.category)) {
                Some(t) => {
                    let words = Words {
                        feedback_id: &feedback_id,
                        stored: &stored,
                        late,
                        vector,
                    };
                    outcome.same_issue_as = retriage(&mut tx, &words, t, now).await?;
                    outcome.retriaged = true;
                }
                // An engineer has the case already: give it the words, not a verdict.
                None => {
                    if case.title == UNTITLED {
                        rows::set_title(&mut tx, case_id, &case_title(Some(late.text))).await?;
                    }
                    let note = transcript_history(&feedback_id, &late.asr.model, late.text);
                    case_writes::history(
                        &mut tx,
                        case_id,
                        now,
                        "triage",
                        "transcript",
                        None,
                        Some(&note),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(Some(outcome))
    }
}

/// The late words of one stored feedback.
struct Words<'a> {
    feedback_id: &'a str,
    stored: &'a StoredFeedback,
    late: LateTranscript<'a>,
    vector: Option<&'a [f32]>,
}

/// Triages the feedback's untouched case from its words; returns the open
/// case of the same issue it should be merged into, if any.
async fn retriage(
    tx: &mut Tx,
    words: &Words<'_>,
    t: Triaged<'_>,
    now: i64,
) -> Result<Option<(i64, f32)>, StoreError> {
    let (a, case_id) = (t.assessment, words.stored.case_id);
    let mut same_issue_as = None;
    if let Some(v) = words.vector.filter(|_| may_link(&a.category)) {
        linking::lock_linking(tx).await?;
        let family = model_family(&words.stored.model);
        let new = NewFeedback {
            vector: v,
            category: &a.category,
            model_family: &family,
            at_ms: words.stored.captured_at_ms,
        };
        if let LinkDecision::Link {
            case_id: other,
            similarity,
        } = fleet::find_case(tx, t.policy, &new).await?
        {
            same_issue_as = Some((other, similarity)).filter(|(o, _)| *o != case_id);
        }
    }
    let before = sla::assessed(tx, case_id).await?;
    let title = case_title(Some(words.late.text));
    let severity = a.severity.parse::<Severity>()?;
    let retriaged = Retriage {
        title: &title,
        category: &a.category,
        severity,
        department: a.department.as_deref(),
        confidence: a.confidence,
        model_version: &a.model_version,
    };
    rows::write_retriage(tx, case_id, &retriaged).await?;
    case_writes::bump_updated(tx, case_id, now, None).await?;
    if let Some(v) = words.vector {
        fleet::add_to_centroid(tx, case_id, v).await?;
    }
    let note = category_history(
        &a.category,
        a.confidence,
        words.feedback_id,
        &words.late.asr.model,
    );
    case_writes::history(tx, case_id, now, "triage", "category", None, Some(&note)).await?;
    let own = own_doc_id(case_id);
    let matches: Vec<_> = t
        .matches
        .iter()
        .filter(|m| m.doc_id != own)
        .cloned()
        .collect();
    linking::save_matches(tx, case_id, &matches, now).await?;
    fleet::suggest_fixes(tx, case_id, t.matches, t.policy, now).await?;
    // Major words: their hazard, unless the case names one, and escalated
    // once, like a major report on arrival; the clocks take the targets of
    // the case's severity and category.
    let named = hazard::named(a.hazard.as_deref());
    let case_hazard = keep_hazard(tx, case_id, severity, named, "triage", now).await?;
    let reasons = a.severity_reasons.join(", ");
    let detail = major_detail(MAJOR_CAUSE, case_hazard, &reasons);
    let why = Why {
        actor: "triage",
        reason: &reasons,
        detail: &detail,
    };
    reassessment::reassess_from(tx, case_id, (before.0, &before.1), why, &t.policy.sla, now)
        .await?;
    Ok(same_issue_as)
}
