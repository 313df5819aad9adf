//! A transcript that arrives after its feedback (the clip came in chunks):
//! whether the feedback's case may still be triaged from the words, and
//! what its history records.

use crate::domain::CaseStatus;

/// Whether a case is still the untouched case its one feedback opened,
/// untriaged: then the late words triage it as if they had come with the
/// envelope. Once an engineer or another report touched it, the words are
/// recorded but give no verdict.
pub fn may_retriage(status: CaseStatus, reports: i64, category: &str) -> bool {
    status == CaseStatus::New
        && reports == 1
        && [qloop_models::UNTRIAGED, qloop_models::NEEDS_HUMAN_TRIAGE].contains(&category)
}

/// The history entry of words recorded without a verdict.
pub fn transcript_history(feedback_id: &str, asr_model: &str, text: &str) -> String {
    format!("feedback {feedback_id} transcribed by {asr_model}: {text}")
}

/// The history entry of the category the words gave.
pub fn category_history(
    category: &str,
    confidence: f64,
    feedback_id: &str,
    asr_model: &str,
) -> String {
    format!("{category} ({confidence:.2}) from the words of feedback {feedback_id}, transcribed by {asr_model}")
}

/// What made a case major when its late words did (the escalation's cause).
pub const MAJOR_CAUSE: &str = "major once transcribed";

/// The knowledge index may already hold the case itself (untitled): its
/// document id, which is no match for itself.
pub fn own_doc_id(case_id: i64) -> String {
    format!("case-{case_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_untriaged_case_of_one_report_is_triaged_from_late_words() {
        assert!(may_retriage(CaseStatus::New, 1, qloop_models::UNTRIAGED));
        assert!(may_retriage(
            CaseStatus::New,
            1,
            qloop_models::NEEDS_HUMAN_TRIAGE
        ));
        assert!(!may_retriage(
            CaseStatus::Acknowledged,
            1,
            qloop_models::UNTRIAGED
        ));
        assert!(!may_retriage(CaseStatus::New, 2, qloop_models::UNTRIAGED));
        assert!(!may_retriage(CaseStatus::New, 1, "brakes"));
    }

    #[test]
    fn the_texts_name_the_feedback_and_the_recogniser() {
        assert_eq!(
            transcript_history("f1", "whisper", "noise"),
            "feedback f1 transcribed by whisper: noise"
        );
        assert_eq!(
            category_history("brakes", 0.876, "f1", "whisper"),
            "brakes (0.88) from the words of feedback f1, transcribed by whisper"
        );
        assert_eq!(own_doc_id(7), "case-7");
        assert_eq!(
            crate::domain::hazard::major_detail(MAJOR_CAUSE, None, "crash"),
            "major once transcribed (crash)"
        );
    }
}
