//! A page of search results as the template shows it: each hit with the
//! link to where it lives (its case, the report on its case, the known
//! issue), its highlight as runs of text, its score and what else its
//! document says; the facets as links that add a filter; the pager.

use std::collections::HashMap;

use qloop_knowledge::{DocKind, SearchHit, SearchResults};

use super::{fragments, ActiveFilter, Fragment, SearchForm};

/// A page of results as the template shows it.
pub(super) struct ResultsView {
    /// Matches in all pages.
    pub(super) total: usize,
    /// The first hit's number on this page (from 1; 0 when none).
    pub(super) first: usize,
    /// The last hit's number on this page.
    pub(super) last: usize,
    /// This page's hits.
    pub(super) hits: Vec<HitView>,
    /// Facets with at least one value.
    pub(super) facets: Vec<FacetGroup>,
    /// The filters in force.
    pub(super) filters: Vec<ActiveFilter>,
    /// The previous page, if any.
    pub(super) prev_href: Option<String>,
    /// The next page, if any.
    pub(super) next_href: Option<String>,
}

/// One hit.
pub(super) struct HitView {
    /// `known_issue`, `case`, `feedback`.
    pub(super) kind: &'static str,
    /// `Known issue`, `Case`, `Feedback`.
    pub(super) kind_label: &'static str,
    /// Its title (its id when it has none).
    pub(super) title: String,
    /// Where it is shown (`None`: feedback not linked to a case).
    pub(super) href: Option<String>,
    /// Its relevance score as text.
    pub(super) score: String,
    /// Its highlight as runs of text.
    pub(super) fragments: Vec<Fragment>,
    /// Label and value of what else is known (category, make, years…).
    pub(super) facts: Vec<(&'static str, String)>,
}

/// One facet: its values with counts, each a link that adds the filter.
pub(super) struct FacetGroup {
    /// `Kind`, `Category`, …
    pub(super) label: &'static str,
    /// Its values, most frequent first.
    pub(super) values: Vec<FacetLink>,
}

/// A facet value.
pub(super) struct FacetLink {
    /// The value as shown (`Known issue` for `known_issue`).
    pub(super) label: String,
    /// Matches with it.
    pub(super) count: u64,
    /// The search with this filter added.
    pub(super) href: String,
    /// The filter is already in force.
    pub(super) active: bool,
}

pub(super) fn results_view(
    form: &SearchForm,
    results: SearchResults,
    feedback_cases: &HashMap<String, i64>,
) -> ResultsView {
    let (offset, limit, total) = (results.offset, results.limit, results.total);
    let facets = results
        .facets
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| FacetGroup {
            label: facet_label(name),
            values: values
                .iter()
                .map(|f| FacetLink {
                    label: match DocKind::parse(&f.value) {
                        Some(kind) if name == "kind" => kind_label(kind).to_string(),
                        _ => f.value.clone(),
                    },
                    count: f.count,
                    href: form.href_with(name, Some(&f.value)),
                    active: form.has(name, &f.value),
                })
                .collect(),
        })
        .collect();
    let page_href = |o: usize| form.href_with("offset", Some(&o.to_string()));
    ResultsView {
        total,
        first: if results.hits.is_empty() {
            0
        } else {
            offset + 1
        },
        last: offset + results.hits.len(),
        hits: results
            .hits
            .into_iter()
            .map(|h| hit_view(h, feedback_cases))
            .collect(),
        facets,
        filters: form.filters(),
        prev_href: (offset > 0).then(|| page_href(offset.saturating_sub(limit))),
        next_href: (offset + limit < total).then(|| page_href(offset + limit)),
    }
}

fn facet_label(name: &str) -> &'static str {
    match name {
        "kind" => "Kind",
        "category" => "Category",
        "severity" => "Severity",
        "make" => "Make",
        "status" => "Status",
        _ => "Other",
    }
}

fn hit_view(hit: SearchHit, feedback_cases: &HashMap<String, i64>) -> HitView {
    let kind = hit.kind.unwrap_or(DocKind::KnownIssue);
    let href = match kind {
        DocKind::Case => hit
            .id
            .strip_prefix("case-")
            .and_then(|n| n.parse::<i64>().ok())
            .map(|n| format!("/ui/cases/{n}")),
        DocKind::Feedback => feedback_cases
            .get(&hit.id)
            .map(|case| format!("/ui/cases/{case}#report-{}", hit.id)),
        DocKind::KnownIssue => Some(format!("/ui/known-issues/{}", path_segment(&hit.id))),
    };
    HitView {
        kind: kind.as_str(),
        kind_label: kind_label(kind),
        title: if hit.title.is_empty() {
            hit.id.clone()
        } else {
            hit.title
        },
        href,
        score: score_text(hit.score),
        fragments: fragments(&hit.highlight),
        facts: facts(&hit.doc),
    }
}

/// A kind of document as people say it.
fn kind_label(kind: DocKind) -> &'static str {
    match kind {
        DocKind::KnownIssue => "Known issue",
        DocKind::Case => "Case",
        DocKind::Feedback => "Feedback",
    }
}

/// A score with three significant figures (BM25 scores are tens, fused
/// scores hundredths).
fn score_text(score: f32) -> String {
    if score.abs() >= 10.0 {
        format!("{score:.1}")
    } else if score.abs() >= 1.0 {
        format!("{score:.2}")
    } else {
        format!("{score:.4}")
    }
}

/// What a hit's document says besides its text.
fn facts(doc: &qloop_knowledge::IndexDoc) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    let mut add = |label, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            facts.push((label, v));
        }
    };
    add("Category", doc.category.clone());
    add("Severity", doc.severity.clone());
    add("Status", doc.status.clone());
    add("Make", doc.make.clone());
    add("Models", Some(doc.models.join(", ")));
    add("Years", years(&doc.years));
    add("Date", doc.date_ms.map(crate::ui::format::when));
    facts
}

/// Model years as `2019–2021` (or the one year).
pub fn years(years: &[u16]) -> Option<String> {
    let (min, max) = (years.iter().min()?, years.iter().max()?);
    Some(if min == max {
        min.to_string()
    } else {
        format!("{min}–{max}")
    })
}

/// `s` as one URL path segment (unreserved characters kept, the rest
/// percent-encoded).
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
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
    fn ids_become_safe_path_segments_and_years_a_span() {
        assert_eq!(path_segment("15V-123_000"), "15V-123_000");
        assert_eq!(path_segment("a/b c<"), "a%2Fb%20c%3C");
        assert_eq!(years(&[2021, 2019, 2020]).as_deref(), Some("2019–2021"));
        assert_eq!(years(&[2020]).as_deref(), Some("2020"));
        assert_eq!(years(&[]), None);
        assert_eq!(score_text(12.345), "12.3");
        assert_eq!(score_text(0.032_78), "0.0328");
    }
}
