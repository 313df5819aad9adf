//! What the driver's car is told and what a case is called: the texts the
//! rules produce, in one place.

/// The title of a case whose feedback has no transcript.
pub const UNTITLED: &str = "Feedback without transcript";
/// Longest case title, in characters.
pub const TITLE_CHARS: usize = 80;

/// A case title: the transcript's first [`TITLE_CHARS`] characters, or [`UNTITLED`].
pub fn case_title(transcript: Option<&str>) -> String {
    let words = transcript
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if words.is_empty() {
        return UNTITLED.to_string();
    }
    let mut title: String = words.chars().take(TITLE_CHARS).collect();
    if words.chars().count() > TITLE_CHARS {
        title.pop();
        title.push('…');
    }
    title
}

/// The car's receipt for a stored feedback: a new case, or a case engineers
/// already work on.
pub fn received(case_id: i64, joined_open_case: bool) -> String {
    if joined_open_case {
        format!(
            "Thank you. Your feedback was received and added to case {case_id}, \
             which engineers are already working on."
        )
    } else {
        format!("Thank you. Your feedback was received as case {case_id}.")
    }
}

/// The follow-up question `day` days after the fix.
pub fn follow_up_question(day: i64, case_id: i64) -> String {
    format!("Day {day} after the fix for case {case_id}: how satisfied are you, from 1 to 5?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_transcript_is_cut_to_eighty_characters_with_an_ellipsis() {
        let title = case_title(Some(&"é".repeat(200)));
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn a_missing_or_blank_transcript_gets_the_untitled_title() {
        assert_eq!(case_title(None), UNTITLED);
        assert_eq!(case_title(Some("  \n ")), UNTITLED);
        assert_eq!(case_title(Some(" wipers   stop\n")), "wipers stop");
    }

    #[test]
    fn the_driver_hears_the_case_number() {
        assert_eq!(
            received(12, false),
            "Thank you. Your feedback was received as case 12."
        );
        assert!(received(12, true).contains("added to case 12, which engineers"));
        assert_eq!(
            follow_up_question(5, 12),
            "Day 5 after the fix for case 12: how satisfied are you, from 1 to 5?"
        );
    }
}
