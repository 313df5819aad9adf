//! `/ui/search`: the knowledge index (known issues, cases, feedback) through
//! the API's own search ([`crate::api::search::run_search`]): the same
//! parameters, filters, ranking and 400s, shown with facets that add a
//! filter, highlights, scores and paging. `/ui/known-issues/{id}` is in
//! [`known_issue`].
//!
//! The form is a plain GET form; htmx (`hx-boost` on the search area)
//! swaps the area in place and pushes the URL, so every state has a link.

mod highlight;
mod known_issue;

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{Query, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use qloop_knowledge::{DocKind, KnowledgeIndex, SearchHit, SearchResults};

use super::{
    page::{render, Chrome, Section, UiError},
    Htmx,
};
use crate::{
    api::{error::ApiError, search::SearchParams, ApiState},
    knowledge::Vectors,
    store::ui_sessions::UiSession,
};
pub use highlight::{fragments, Fragment};

/// This view's routes (relative to `/ui`).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/search", get(search))
        .route("/known-issues/{id}", get(known_issue::show))
}

/// The search area: the form, and the results once there is a query.
#[derive(Template)]
#[template(path = "search_partial.html")]
struct SearchPartial {
    form: SearchForm,
    outcome: Outcome,
}

/// The search page.
#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    form: SearchForm,
    outcome: Outcome,
}

/// What the page says under the form.
enum Outcome {
    /// No query yet: the form only.
    Empty,
    /// This service has no knowledge index.
    NoIndex,
    /// A page of results.
    Results(ResultsView),
}

/// The query as the form shows it: every non-empty parameter, in order.
struct SearchForm {
    pairs: Vec<(String, String)>,
    /// Whether this service has embeddings (the ranking choice is offered).
    embeddings: bool,
}

impl SearchForm {
    /// The value of parameter `name`, or "".
    fn value(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether `name` has the value `value` (for `<option selected>`).
    fn has(&self, name: &str, value: &str) -> bool {
        self.value(name) == value
    }

    /// The search URL with `name` set to `value` (or removed when `None`);
    /// the offset goes back to the first page unless it is what changes.
    fn href_with(&self, name: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != name && (name == "offset" || k != "offset"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(value) = value {
            pairs.push((name, value));
        }
        format!(
            "/ui/search?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    /// The filters applied (every parameter but the query and paging).
    fn filters(&self) -> Vec<ActiveFilter> {
        self.pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "q" | "offset" | "limit" | "mode"))
            .map(|(k, v)| ActiveFilter {
                name: k.clone(),
                value: v.clone(),
                remove_href: self.href_with(k, None),
            })
            .collect()
    }
}

/// A filter in force, with the link that removes it.
struct ActiveFilter {
    name: String,
    value: String,
    remove_href: String,
}

/// A page of results as the template shows it.
struct ResultsView {
    total: usize,
    first: usize,
    last: usize,
    hits: Vec<HitView>,
    facets: Vec<FacetGroup>,
    filters: Vec<ActiveFilter>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// One hit.
struct HitView {
    /// `known_issue`, `case`, `feedback`.
    kind: &'static str,
    /// `Known issue`, `Case`, `Feedback`.
    kind_label: &'static str,
    title: String,
    /// Where it is shown (`None`: feedback not linked to a case).
    href: Option<String>,
    score: String,
    fragments: Vec<Fragment>,
    /// Label and value of what else is known (category, make, years…).
    facts: Vec<(&'static str, String)>,
}

/// One facet: its values with counts, each a link that adds the filter.
struct FacetGroup {
    label: &'static str,
    values: Vec<FacetLink>,
}

struct FacetLink {
    value: String,
    count: u64,
    href: String,
    /// The filter is already in force.
    active: bool,
}

/// `GET /ui/search?q=…`: the form, and the results when there is a query.
async fn search(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    index: Option<Extension<Arc<KnowledgeIndex>>>,
    vectors: Option<Extension<Arc<Vectors>>>,
    RawQuery(query): RawQuery,
) -> Result<Response, UiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
    let form = SearchForm {
        pairs,
        embeddings: vectors.is_some(),
    };
    let (status, outcome) = match index {
        _ if form.value("q").is_empty() => (StatusCode::OK, Outcome::Empty),
        None => (StatusCode::SERVICE_UNAVAILABLE, Outcome::NoIndex),
        Some(Extension(index)) => {
            let results = run(&form, index, vectors.map(|Extension(v)| v)).await?;
            let cases = feedback_cases(&state, &results).await?;
            (
                StatusCode::OK,
                Outcome::Results(results_view(&form, results, &cases)),
            )
        }
    };
    let body = if htmx {
        render(&SearchPartial { form, outcome })
    } else {
        render(&SearchPage {
            chrome: Chrome::new(&session, Section::Search),
            form,
            outcome,
        })
    };
    Ok((status, body).into_response())
}

/// Reads the form's parameters as the API does (unknown ones and bad
/// values are 400s) and runs the API's search.
async fn run(
    form: &SearchForm,
    index: Arc<KnowledgeIndex>,
    vectors: Option<Arc<Vectors>>,
) -> Result<SearchResults, ApiError> {
    let encoded = serde_urlencoded::to_string(&form.pairs)
        .map_err(|e| ApiError::Internal(format!("re-encoding the query: {e}")))?;
    // Read as `ApiQuery` reads it, so the 400's message names the field.
    let uri: axum::http::Uri = format!("/ui/search?{encoded}")
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let Query(params) = Query::<SearchParams>::try_from_uri(&uri)
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    crate::api::search::run_search(index, vectors, params).await
}

/// The case of each feedback hit (the page links the report on its case).
async fn feedback_cases(
    state: &ApiState,
    results: &SearchResults,
) -> Result<HashMap<String, i64>, UiError> {
    let ids: Vec<String> = results
        .hits
        .iter()
        .filter(|h| h.kind == Some(DocKind::Feedback))
        .map(|h| h.id.clone())
        .collect();
    Ok(state.store.cases_of_feedback(&ids).await?)
}

fn results_view(
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
                    value: f.value.clone(),
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
    let (kind, kind_label, href) = match hit.kind {
        Some(DocKind::Case) => (
            "case",
            "Case",
            hit.id
                .strip_prefix("case-")
                .and_then(|n| n.parse::<i64>().ok())
                .map(|n| format!("/ui/cases/{n}")),
        ),
        Some(DocKind::Feedback) => (
            "feedback",
            "Feedback",
            feedback_cases
                .get(&hit.id)
                .map(|case| format!("/ui/cases/{case}#report-{}", hit.id)),
        ),
        Some(DocKind::KnownIssue) | None => (
            "known_issue",
            "Known issue",
            Some(format!("/ui/known-issues/{}", path_segment(&hit.id))),
        ),
    };
    HitView {
        kind,
        kind_label,
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
    add("Date", doc.date_ms.map(super::format::when));
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

    fn form(pairs: &[(&str, &str)]) -> SearchForm {
        SearchForm {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            embeddings: false,
        }
    }

    #[test]
    fn a_facet_link_adds_its_filter_and_goes_back_to_the_first_page() {
        let f = form(&[("q", "brake fluid"), ("offset", "20"), ("make", "FORD")]);
        assert_eq!(
            f.href_with("severity", Some("major")),
            "/ui/search?q=brake+fluid&make=FORD&severity=major"
        );
        assert_eq!(f.href_with("make", None), "/ui/search?q=brake+fluid");
        assert_eq!(
            f.href_with("offset", Some("30")),
            "/ui/search?q=brake+fluid&make=FORD&offset=30"
        );
        let filters: Vec<(String, String)> = f
            .filters()
            .into_iter()
            .map(|a| (a.name, a.remove_href))
            .collect();
        assert_eq!(
            filters,
            vec![("make".to_string(), "/ui/search?q=brake+fluid".to_string())]
        );
    }

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
