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
mod results;

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{Query, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use qloop_knowledge::{DocKind, KnowledgeIndex, SearchResults};

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
pub use results::{path_segment, years};
use results::{results_view, ResultsView};

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
}
