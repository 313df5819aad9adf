//! Fleet-wide cases as rules: one issue reported by many cars is one case.
//! The store loads a case's reports into these types, asks a rule, and
//! writes what it decides; the use cases in [`crate::app`] put the two
//! together in one transaction.
//!
//! Which open case a new feedback joins is `qloop_knowledge::linking::decide`;
//! here is only which cases the store fetches for it to judge
//! ([`candidates_since`]).
//!
//! # Layout
//! - [`aggregates`]: a case's counts, vehicles, software, model families,
//!   first/last seen and centroid, from its reports.
//! - [`emerging`]: many distinct vehicles in a short window make a case an
//!   emerging issue.
//! - [`severity_review`]: severity over every report of a case, with
//!   triage's own test of an active signal.
//! - [`late_words`]: whether late words may still triage a case.
//! - [`merge_split`]: what an engineer's merge or split may do and what it
//!   records.
//! - [`suggestions`]: the suggested ICA and PCA from the best known issue.

pub mod aggregates;
pub mod emerging;
pub mod late_words;
pub mod merge_split;
pub mod severity_review;
pub mod suggestions;

use qloop_knowledge::linking::LinkPolicy;

/// Embedding length a case's centroid and a feedback's vector have.
pub const DIM: usize = qloop_models::EMBEDDING_DIM;

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The model family linking compares: the model name, upper case, spaces collapsed.
pub fn model_family(model: &str) -> String {
    model
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Whether a feedback of `category` may join an open case: one triage
/// could not place (`needs_human_triage`) opens its own case for a person
/// to look at, however close its words are to another.
pub fn may_link(category: &str) -> bool {
    category != qloop_models::NEEDS_HUMAN_TRIAGE
}

/// The earliest `last_seen_ms` of an open case worth handing to `decide`
/// for a feedback captured at `at_ms`: older cases are outside the
/// linking window whatever else they share, so the store need not fetch
/// them. Everything else (category, model family, window, similarity) is
/// judged by `decide` alone.
pub fn candidates_since(policy: &LinkPolicy, at_ms: i64) -> i64 {
    at_ms.saturating_sub(i64::from(policy.window_days) * DAY_MS)
}

#[cfg(test)]
mod tests {
    use qloop_knowledge::linking::{decide, LinkDecision, NewFeedback, OpenCase};

    use super::*;

    #[test]
    fn model_families_ignore_case_and_spacing() {
        assert_eq!(model_family(" Model  3 "), "MODEL 3");
        assert_eq!(model_family("model 3"), model_family("MODEL 3"));
    }

    #[test]
    fn a_feedback_triage_could_not_place_opens_its_own_case() {
        assert!(!may_link(qloop_models::NEEDS_HUMAN_TRIAGE));
        assert!(may_link("brakes"));
    }

    #[test]
    fn the_candidate_bound_never_drops_a_case_decide_would_join() {
        let policy = LinkPolicy::default();
        let at = 200 * DAY_MS;
        let since = candidates_since(&policy, at);
        assert_eq!(since, at - 90 * DAY_MS);
        let new = NewFeedback {
            vector: &[1.0, 0.0],
            category: "brakes",
            model_family: "MODEL 3",
            at_ms: at,
        };
        for last_seen_ms in [since - 1, since, at, at + DAY_MS] {
            let open = [OpenCase {
                id: 1,
                vector: vec![1.0, 0.0],
                category: "brakes".into(),
                model_families: vec!["MODEL 3".into()],
                last_seen_ms,
            }];
            let joins = matches!(decide(&policy, &new, &open), LinkDecision::Link { .. });
            assert!(!joins || last_seen_ms >= since, "{last_seen_ms}");
        }
        assert_eq!(candidates_since(&policy, i64::MIN), i64::MIN);
    }
}
