//! Suggested fixes for a new case: the containment of the most similar
//! known issue as its ICA and the remedy as its PCA, flagged `suggested`
//! until an engineer accepts or replaces them.

use crate::domain::MatchKind;

/// A knowledge match as the suggestion rule reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchView<'a> {
    /// The document.
    pub doc_id: &'a str,
    /// Known issue or similar case.
    pub kind: MatchKind,
    /// Cosine similarity to the feedback, when both are embedded.
    pub similarity: Option<f64>,
    /// Its containment (a candidate ICA).
    pub containment: Option<&'a str>,
    /// Its remedy (a candidate PCA).
    pub remedy: Option<&'a str>,
}

/// Which 8D action a suggestion fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The interim containment action.
    Ica,
    /// The permanent corrective action.
    Pca,
}

impl Action {
    /// The case column it fills (and the history's field).
    pub fn column(self) -> &'static str {
        match self {
            Self::Ica => "ica_action",
            Self::Pca => "pca_action",
        }
    }

    /// The column that flags it as suggested.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Ica => "ica_suggested",
            Self::Pca => "pca_suggested",
        }
    }
}

/// One suggested action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// ICA or PCA.
    pub action: Action,
    /// The text.
    pub value: String,
    /// The history's text: the value and where it came from.
    pub history: String,
}

/// The suggestions from the known issue most similar to the feedback (at
/// least `min_similarity`, with a containment or a remedy): its containment
/// as ICA, its remedy as PCA. None when no known issue qualifies.
pub fn suggest(matches: &[MatchView<'_>], min_similarity: f64) -> Vec<Suggestion> {
    let best = matches
        .iter()
        .filter(|m| m.kind == MatchKind::KnownIssue)
        .filter(|m| m.containment.is_some() || m.remedy.is_some())
        .filter(|m| m.similarity.is_some_and(|s| s >= min_similarity))
        .max_by(|a, b| {
            a.similarity
                .unwrap_or(0.0)
                .total_cmp(&b.similarity.unwrap_or(0.0))
        });
    let Some(best) = best else {
        return Vec::new();
    };
    let source = format!(
        "suggested from known issue {} (similarity {:.3})",
        best.doc_id,
        best.similarity.unwrap_or(0.0)
    );
    [(Action::Ica, best.containment), (Action::Pca, best.remedy)]
        .into_iter()
        .filter_map(|(action, value)| {
            value.map(|v| Suggestion {
                action,
                value: v.to_string(),
                history: format!("{v} [{source}]"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known<'a>(
        id: &'a str,
        s: Option<f64>,
        ica: Option<&'a str>,
        pca: Option<&'a str>,
    ) -> MatchView<'a> {
        MatchView {
            doc_id: id,
            kind: MatchKind::KnownIssue,
            similarity: s,
            containment: ica,
            remedy: pca,
        }
    }

    #[test]
    fn the_most_similar_known_issue_gives_ica_and_pca() {
        let matches = [
            known("r1", Some(0.7), Some("stop"), Some("fix")),
            known("r2", Some(0.9), Some("park it"), Some("new pump")),
        ];
        let s = suggest(&matches, 0.5);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].action, s[0].value.as_str()), (Action::Ica, "park it"));
        assert_eq!(
            s[0].history,
            "park it [suggested from known issue r2 (similarity 0.900)]"
        );
        assert_eq!(
            (s[1].action, s[1].value.as_str()),
            (Action::Pca, "new pump")
        );
        assert_eq!(
            (Action::Pca.column(), Action::Pca.flag()),
            ("pca_action", "pca_suggested")
        );
    }

    #[test]
    fn weak_unembedded_fixless_and_similar_case_matches_suggest_nothing() {
        let mut case = known("case-1", Some(0.99), Some("x"), Some("y"));
        case.kind = MatchKind::SimilarCase;
        let matches = [
            known("weak", Some(0.49), Some("x"), None),
            known("blind", None, Some("x"), None),
            known("bare", Some(0.95), None, None),
            case,
        ];
        assert!(suggest(&matches, 0.5).is_empty());
    }

    #[test]
    fn a_known_issue_with_only_a_remedy_suggests_only_a_pca() {
        let s = suggest(&[known("r", Some(0.5), None, Some("fix"))], 0.5);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].action, Action::Pca);
    }
}
