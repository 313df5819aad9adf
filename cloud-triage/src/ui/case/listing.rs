//! The case's links and record as the page lists them: its known issues
//! and similar cases (with the link to each one's page) and its history.

use crate::{
    domain::MatchKind,
    ui::format::when,
    views::{CaseMatch, HistoryEntry},
};

/// A known issue or similar case with its scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchView {
    /// Its page.
    pub href: String,
    /// Its title.
    pub title: String,
    /// Its document id.
    pub doc_id: String,
    /// `Known issue` or `Similar case`.
    pub kind: &'static str,
    /// Hybrid rank score.
    pub score: String,
    /// Cosine similarity, or empty.
    pub similarity: String,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryView {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Which field.
    pub field: String,
    /// The value before, or empty.
    pub old: String,
    /// The value after, or empty.
    pub new: String,
}

impl HistoryView {
    /// The view of `h`.
    pub fn of(h: &HistoryEntry) -> Self {
        let value = |v: &Option<String>| shown_value(&h.field, v.as_deref().unwrap_or_default());
        Self {
            at: when(h.at_ms),
            actor: h.actor.clone(),
            field: h.field.clone(),
            old: value(&h.old_value),
            new: value(&h.new_value),
        }
    }
}

/// A history value as people read it: a time field's Unix ms as a time.
fn shown_value(field: &str, value: &str) -> String {
    match value.parse::<i64>() {
        Ok(ms) if field.ends_with("_ms") => when(ms),
        _ => value.to_string(),
    }
}

/// A match with the link to its page: `case-N` is case N, anything else a
/// known issue.
pub fn match_view(m: &CaseMatch) -> MatchView {
    let href = match m
        .doc_id
        .strip_prefix("case-")
        .and_then(|n| n.parse::<i64>().ok())
    {
        Some(n) => format!("/ui/cases/{n}"),
        None => format!("/ui/known-issues/{}", encode_segment(&m.doc_id)),
    };
    MatchView {
        href,
        title: m.title.clone(),
        doc_id: m.doc_id.clone(),
        kind: match m.kind {
            MatchKind::KnownIssue => "Known issue",
            MatchKind::SimilarCase => "Similar case",
        },
        score: format!("{:.4}", m.score),
        similarity: m.similarity.map(|s| format!("{s:.2}")).unwrap_or_default(),
    }
}

/// `text` as one URL path segment (unreserved characters kept, the rest
/// percent-encoded).
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_field_in_the_history_reads_as_a_time() {
        assert_eq!(
            shown_value("ica_due_ms", "1717000000000"),
            "2024-05-29 16:26 UTC"
        );
        assert_eq!(shown_value("root_cause", "1717000000000"), "1717000000000");
        assert_eq!(shown_value("ica_due_ms", ""), "");
    }

    #[test]
    fn a_known_issue_id_is_one_path_segment() {
        assert_eq!(encode_segment("24V-123"), "24V-123");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn a_similar_case_links_to_its_case_and_a_known_issue_to_its_page() {
        let m = |doc_id: &str, kind| CaseMatch {
            doc_id: doc_id.into(),
            kind,
            score: 0.03,
            similarity: None,
            title: "t".into(),
            containment: None,
            remedy: None,
        };
        assert_eq!(
            match_view(&m("case-12", MatchKind::SimilarCase)).href,
            "/ui/cases/12"
        );
        assert_eq!(
            match_view(&m("TSB 21/07", MatchKind::KnownIssue)).href,
            "/ui/known-issues/TSB%2021%2F07"
        );
    }
}
