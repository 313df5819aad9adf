//! Fleet-wide linking: does a new feedback belong to an open case of the
//! same issue, or does it open a new case? The thresholds are
//! configuration; their defaults are chosen by the linking evaluation.

use serde::{Deserialize, Serialize};

/// When a feedback joins an open case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkPolicy {
    /// Least cosine similarity between the feedback and the case.
    pub min_similarity: f32,
    /// The case must have the feedback's category.
    pub same_category: bool,
    /// The case must concern the feedback's model family (make + model).
    pub same_model_family: bool,
    /// The case must have been seen within this many days.
    pub window_days: u32,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            // Chosen by `cloud-triage eval-linking` on complaints-dev: 0.6
            // keeps purity at 0.977 (0.965 at 0.5) while opening 448 cases
            // for 314 true issues (571 at 0.8).
            min_similarity: 0.60,
            same_category: true,
            same_model_family: true,
            window_days: 90,
        }
    }
}

/// What the linker knows about a new feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedback<'a> {
    /// Its embedding (normalised).
    pub vector: &'a [f32],
    /// Its category.
    pub category: &'a str,
    /// Make and model, upper case (`TESLA MODEL 3`).
    pub model_family: &'a str,
    /// Captured at, Unix ms.
    pub at_ms: i64,
}

/// An open case the feedback might join.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCase {
    /// Case number.
    pub id: i64,
    /// Its embedding: the normalised mean of its feedbacks' embeddings.
    pub vector: Vec<f32>,
    /// Its category.
    pub category: String,
    /// Model families it was reported on.
    pub model_families: Vec<String>,
    /// Last occurrence, Unix ms.
    pub last_seen_ms: i64,
}

/// The linker's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkDecision {
    /// Join this case; the similarity that decided it.
    Link {
        /// Case number.
        case_id: i64,
        /// Cosine similarity.
        similarity: f32,
    },
    /// Open a new case.
    Open,
}

/// Picks the most similar open case that passes every rule of `policy`.
pub fn decide(policy: &LinkPolicy, new: &NewFeedback<'_>, open: &[OpenCase]) -> LinkDecision {
    let window_ms = i64::from(policy.window_days) * 86_400_000;
    open.iter()
        .filter(|c| !policy.same_category || c.category == new.category)
        .filter(|c| {
            !policy.same_model_family || c.model_families.iter().any(|m| m == new.model_family)
        })
        .filter(|c| (new.at_ms - c.last_seen_ms).abs() <= window_ms)
        .map(|c| (c.id, cosine(new.vector, &c.vector)))
        .filter(|(_, s)| *s >= policy.min_similarity)
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map_or(LinkDecision::Open, |(case_id, similarity)| {
            LinkDecision::Link {
                case_id,
                similarity,
            }
        })
}

/// Cosine similarity; 0 for mismatched or zero vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// The normalised mean of vectors (a case's centroid).
pub fn centroid<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        if v.len() == sum.len() {
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        sum.iter_mut().for_each(|x| *x /= norm);
    }
    sum
}

/// Clustering quality of a replay: how many cases the linker opened versus
/// the true number of issues, and how pure each case is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterQuality {
    /// Feedbacks replayed.
    pub feedbacks: usize,
    /// Distinct true issues among them.
    pub true_issues: usize,
    /// Cases opened.
    pub cases: usize,
    /// Share of feedbacks whose case's majority issue is theirs.
    pub purity: f64,
    /// Share of each issue's feedbacks that landed in its largest case, averaged over feedbacks.
    pub completeness: f64,
}

/// Scores an assignment: `truth[i]` is feedback i's issue, `case[i]` its case.
pub fn cluster_quality(truth: &[String], case: &[i64]) -> ClusterQuality {
    use std::collections::HashMap;
    let mut by_case: HashMap<i64, HashMap<&str, usize>> = HashMap::new();
    let mut by_issue: HashMap<&str, HashMap<i64, usize>> = HashMap::new();
    for (t, c) in truth.iter().zip(case) {
        *by_case.entry(*c).or_default().entry(t).or_default() += 1;
        *by_issue.entry(t).or_default().entry(*c).or_default() += 1;
    }
    let n = truth.len().max(1) as f64;
    let majority: usize = by_case
        .values()
        .map(|m| m.values().max().copied().unwrap_or(0))
        .sum();
    let largest: usize = by_issue
        .values()
        .map(|m| m.values().max().copied().unwrap_or(0))
        .sum();
    ClusterQuality {
        feedbacks: truth.len(),
        true_issues: by_issue.len(),
        cases: by_case.len(),
        purity: majority as f64 / n,
        completeness: largest as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, v: &[f32], cat: &str, fam: &str, last: i64) -> OpenCase {
        OpenCase {
            id,
            vector: v.to_vec(),
            category: cat.into(),
            model_families: vec![fam.into()],
            last_seen_ms: last,
        }
    }

    #[test]
    fn the_most_similar_case_passing_every_rule_is_joined() {
        let policy = LinkPolicy::default();
        let new = NewFeedback {
            vector: &[1.0, 0.0],
            category: "brakes",
            model_family: "TESLA MODEL 3",
            at_ms: 0,
        };
        let open = vec![
            case(1, &[0.9, 0.1], "brakes", "TESLA MODEL 3", 0),
            case(2, &[1.0, 0.0], "hvac", "TESLA MODEL 3", 0),
            case(3, &[1.0, 0.01], "brakes", "TESLA MODEL Y", 0),
            case(4, &[1.0, 0.0], "brakes", "TESLA MODEL 3", -200 * 86_400_000),
            case(5, &[0.0, 1.0], "brakes", "TESLA MODEL 3", 0),
        ];
        match decide(&policy, &new, &open) {
            LinkDecision::Link {
                case_id,
                similarity,
            } => {
                assert_eq!(
                    case_id, 1,
                    "2 is another category, 3 another model, 4 too old, 5 dissimilar"
                );
                assert!(similarity > 0.99);
            }
            LinkDecision::Open => panic!("case 1 qualifies"),
        }
        let strict = LinkPolicy {
            min_similarity: 0.999,
            ..policy
        };
        assert_eq!(decide(&strict, &new, &open), LinkDecision::Open);
    }

    #[test]
    fn a_replay_joins_similar_reports_and_opens_cases_for_the_rest() {
        let item = |v: [f32; 2], cat: &str| ReplayItem {
            vector: v.to_vec(),
            category: cat.into(),
            model_family: "FORD ESCAPE".into(),
            at_ms: 0,
        };
        let items = vec![
            item([1.0, 0.0], "brakes"),
            item([0.95, 0.05], "brakes"),
            item([0.0, 1.0], "brakes"),
            item([1.0, 0.0], "hvac"),
        ];
        let cases = replay(&LinkPolicy::default(), &items);
        assert_eq!(
            cases,
            vec![0, 0, 1, 2],
            "similar joins; dissimilar or other category opens"
        );
    }

    #[test]
    fn purity_and_completeness_follow_their_definitions() {
        let truth: Vec<String> = ["a", "a", "a", "b", "b"].map(String::from).to_vec();
        let q = cluster_quality(&truth, &[1, 1, 2, 2, 2]);
        assert_eq!((q.true_issues, q.cases), (2, 2));
        assert!(
            (q.purity - 4.0 / 5.0).abs() < 1e-9,
            "case 2 holds one a among two b"
        );
        assert!((q.completeness - 4.0 / 5.0).abs() < 1e-9);
        let perfect = cluster_quality(&truth, &[7, 7, 7, 9, 9]);
        assert_eq!((perfect.purity, perfect.completeness), (1.0, 1.0));
    }
}

/// One feedback in a replay: its embedding, category, model family and time.
#[derive(Debug, Clone)]
pub struct ReplayItem {
    /// Normalised embedding.
    pub vector: Vec<f32>,
    /// Category.
    pub category: String,
    /// Make and model.
    pub model_family: String,
    /// Captured at, Unix ms.
    pub at_ms: i64,
}

/// Replays feedback in order through [`decide`], opening or joining cases
/// as the service would (a case's vector is the centroid of its members);
/// returns each item's case number.
pub fn replay(policy: &LinkPolicy, items: &[ReplayItem]) -> Vec<i64> {
    let mut open: Vec<OpenCase> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut assigned = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let new = NewFeedback {
            vector: &item.vector,
            category: &item.category,
            model_family: &item.model_family,
            at_ms: item.at_ms,
        };
        match decide(policy, &new, &open) {
            LinkDecision::Link { case_id, .. } => {
                let slot = case_id as usize;
                members[slot].push(i);
                let c = &mut open[slot];
                c.vector = centroid(members[slot].iter().map(|&m| items[m].vector.as_slice()));
                c.last_seen_ms = c.last_seen_ms.max(item.at_ms);
                if !c.model_families.contains(&item.model_family) {
                    c.model_families.push(item.model_family.clone());
                }
                assigned.push(case_id);
            }
            LinkDecision::Open => {
                let id = open.len() as i64;
                open.push(OpenCase {
                    id,
                    vector: item.vector.clone(),
                    category: item.category.clone(),
                    model_families: vec![item.model_family.clone()],
                    last_seen_ms: item.at_ms,
                });
                members.push(vec![i]);
                assigned.push(id);
            }
        }
    }
    assigned
}
