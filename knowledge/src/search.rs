//! Search requests and results, their validation, and rank fusion.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::{
    error::KnowledgeError,
    record::{DocKind, IndexDoc},
};

/// Longest query text accepted, characters. A driver's sentence or an
/// engineer's search is far shorter; 10,000-character queries are refused.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Deepest offset (offset + limit), so paging cannot make a search unbounded.
pub const MAX_WINDOW: usize = 10_000;

/// A driver's sentence as a query of plain words: no query syntax (so
/// nothing a driver says is a syntax error), at most [`MAX_QUERY_CHARS`].
pub fn plain_query(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '-' || c == '.' || c == ',' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut out = String::new();
    for word in cleaned.split_whitespace() {
        let word = word.trim_start_matches(['-', '\'']);
        if word.is_empty() || matches!(word, "AND" | "OR" | "NOT" | "IN") {
            continue;
        }
        if out.chars().count() + word.chars().count() + 1 > MAX_QUERY_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Filters; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// Document kind.
    pub kind: Option<DocKind>,
    /// Category (taxonomy category or NHTSA component group).
    pub category: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Manufacturer (case-insensitive).
    pub make: Option<String>,
    /// Vehicle model (case-insensitive).
    pub model: Option<String>,
    /// Earliest model year.
    pub year_from: Option<u16>,
    /// Latest model year.
    pub year_to: Option<u16>,
    /// Software version, exact.
    pub software: Option<String>,
    /// Diagnostic trouble code (case-insensitive).
    pub dtc: Option<String>,
    /// Reported or opened at or after, Unix ms.
    pub date_from_ms: Option<i64>,
    /// Reported or opened at or before, Unix ms.
    pub date_to_ms: Option<i64>,
    /// Status.
    pub status: Option<String>,
}

/// One search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// Query text (tantivy query syntax; plain words are OR-ed, ranked by BM25).
    pub q: String,
    /// Filters.
    pub filters: Filters,
    /// Page size.
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
}

impl SearchRequest {
    /// A first page of 10 for `q` without filters.
    pub fn new(q: impl Into<String>) -> Self {
        Self {
            q: q.into(),
            filters: Filters::default(),
            limit: 10,
            offset: 0,
        }
    }

    /// Checks sizes and ranges; the query syntax is checked when parsed.
    pub fn validate(&self) -> Result<(), KnowledgeError> {
        let len = self.q.chars().count();
        if len > MAX_QUERY_CHARS {
            return Err(KnowledgeError::TooLong {
                len,
                max: MAX_QUERY_CHARS,
            });
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(KnowledgeError::Filter {
                name: "limit",
                reason: format!("must be 1..={MAX_LIMIT}, got {}", self.limit),
            });
        }
        if self.offset + self.limit > MAX_WINDOW {
            return Err(KnowledgeError::Filter {
                name: "offset",
                reason: format!("offset + limit must be at most {MAX_WINDOW}"),
            });
        }
        let f = &self.filters;
        if let (Some(a), Some(b)) = (f.year_from, f.year_to) {
            if a > b {
                return Err(KnowledgeError::Filter {
                    name: "year_from",
                    reason: format!("{a} is after year_to {b}"),
                });
            }
        }
        for (name, year) in [("year_from", f.year_from), ("year_to", f.year_to)] {
            if year.is_some_and(|y| !(1900..=2100).contains(&y)) {
                return Err(KnowledgeError::Filter {
                    name,
                    reason: "must be a year in 1900..=2100".into(),
                });
            }
        }
        if let (Some(a), Some(b)) = (f.date_from_ms, f.date_to_ms) {
            if a > b {
                return Err(KnowledgeError::Filter {
                    name: "date_from",
                    reason: "is after date_to".into(),
                });
            }
        }
        Ok(())
    }
}

/// One value of a facet and how many matching documents have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// The value.
    pub value: String,
    /// Matching documents with it.
    pub count: u64,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The document's id (a recall's campaign number, `case-17`, a feedback id).
    pub id: String,
    /// Its kind.
    pub kind: Option<DocKind>,
    /// Its title.
    pub title: String,
    /// Relevance: BM25, cosine similarity, or fused RRF score by mode.
    pub score: f32,
    /// The best fragment of its text with query words in `<b>…</b>`.
    pub highlight: String,
    /// The whole document.
    pub doc: IndexDoc,
}

/// A page of hits with the total and facet counts over all matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matching documents in all pages.
    pub total: usize,
    /// Offset used.
    pub offset: usize,
    /// Page size used.
    pub limit: usize,
    /// This page.
    pub hits: Vec<SearchHit>,
    /// Per facet (kind, category, severity, make, status): values with counts.
    pub facets: BTreeMap<String, Vec<Facet>>,
}

/// The constant of reciprocal-rank fusion (Cormack et al. use 60).
pub const RRF_K: f32 = 60.0;

/// Reciprocal-rank fusion: each list votes `1 / (k + rank)` for its ids
/// (rank from 1); ids are returned best first, ties broken by id.
pub fn reciprocal_rank_fusion(lists: &[Vec<String>], k: f32) -> Vec<(String, f32)> {
    let mut scores: HashMap<&str, f32> = HashMap::new();
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            *scores.entry(id.as_str()).or_default() += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<(String, f32)> = scores
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_ids_both_lists_rank_high() {
        let bm25 = vec!["a".to_string(), "b".into(), "c".into()];
        let dense = vec!["c".to_string(), "a".into(), "d".into()];
        let fused = reciprocal_rank_fusion(&[bm25, dense], RRF_K);
        let order: Vec<&str> = fused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, vec!["a", "c", "b", "d"]);
        let expected_a = 1.0 / 61.0 + 1.0 / 62.0;
        assert!((fused[0].1 - expected_a).abs() < 1e-6);
    }

    #[test]
    fn oversized_queries_and_bad_ranges_are_refused_before_searching() {
        let mut req = SearchRequest::new("x".repeat(10_000));
        assert!(matches!(
            req.validate(),
            Err(KnowledgeError::TooLong { len: 10_000, .. })
        ));
        req.q = "brakes".into();
        req.filters.year_from = Some(2020);
        req.filters.year_to = Some(2010);
        assert!(matches!(
            req.validate(),
            Err(KnowledgeError::Filter {
                name: "year_from",
                ..
            })
        ));
        req.filters = Filters::default();
        req.limit = 0;
        assert!(req.validate().is_err());
        req.limit = 10;
        req.offset = MAX_WINDOW;
        assert!(req.validate().is_err());
    }

    #[test]
    fn a_drivers_sentence_becomes_plain_words_that_always_parse() {
        assert_eq!(
            plain_query("the \"brake\" light: (on) AND -off +now"),
            "the brake light on off now"
        );
        assert_eq!(plain_query("didn't stop, at all."), "didn't stop, at all.");
        let long = plain_query(&"squeal ".repeat(5_000));
        assert!(long.chars().count() <= MAX_QUERY_CHARS);
        assert!(!crate::index::uses_query_syntax(&plain_query(
            "title:x [a TO b] {c} ^2 ~1 * \\ NOT y"
        )));
    }
}
