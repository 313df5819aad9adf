//! `/ui/cases`: the case list, filtered (status, category, severity,
//! hazard, model, software version, emerging, SLA state), ordered and
//! paged, a major case's hazard beside its severity and one SLA badge per
//! metric on each row; and `POST /ui/cases/bulk-merge`, which merges
//! the selected cases into one.
//!
//! The filters form is a plain GET form; htmx sends it to the same address
//! and swaps only the rows (`cases_rows.html`), which also reload every
//! 30 s (`static/cases.js` holds that back while cases are selected). The
//! list reads through [`Store::list_cases`], the API's own listing, and the
//! page's clocks in one query ([`Store::sla_clocks_of`]).
//!
//! # Layout
//! - `filters`: the query string read and checked, and the form drawn back.
//! - `merge`: the bulk merge, each case through the merge use case.

mod filters;
mod merge;

use askama::Template;
use axum::{
    extract::State,
    http::HeaderMap,
    response::Response,
    routing::{get, post},
    Extension, Router,
};

pub use filters::{list_href, Choice, FilterForm, ListForm};
pub use merge::{MergeReport, MergeResult};

use super::{
    format::{hazard_words, sla_badges, when, SlaBadge},
    page::{render, Chrome, Section, UiError},
    Htmx,
};
use crate::{
    api::{extract::ApiQuery, ApiState},
    now_ms,
    store::{ui_sessions::UiSession, Store, StoreError},
    views::CaseQuery,
};

/// The API route whose role rule the bulk merge follows.
const MERGE_ROUTE: (&str, &str) = ("POST", "/api/cases/{id}/merge");

/// This view's routes (relative to `/ui`).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/cases", get(list))
        .route("/cases/bulk-merge", post(merge::bulk_merge))
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Case number.
    pub id: i64,
    /// Its title (the driver's first words: untrusted, escaped).
    pub title: String,
    /// Status, e.g. `new`.
    pub status: &'static str,
    /// Category.
    pub category: String,
    /// Severity, e.g. `major`.
    pub severity: &'static str,
    /// A major case's hazard in words, e.g. `loss of braking`.
    pub hazard: Option<&'static str>,
    /// Distinct vehicles.
    pub vehicles: i64,
    /// Reports linked.
    pub reports: i64,
    /// Whether it is an emerging issue.
    pub emerging: bool,
    /// One badge per SLA metric, its current clock.
    pub badges: Vec<SlaBadge>,
    /// When it was last reported.
    pub last_seen: String,
}

/// The list as drawn: its rows, where they sit in the whole, the pager.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The rows of this page.
    pub rows: Vec<CaseRow>,
    /// Cases matching the filters, in all pages.
    pub total: i64,
    /// The first row's position, from 1 (0 when there is none).
    pub first: i64,
    /// The last row's position.
    pub last: i64,
    /// This page's address (the rows reload from it).
    pub href: String,
    /// The previous page's address, when there is one.
    pub prev: Option<String>,
    /// The next page's address, when there is one.
    pub next: Option<String>,
    /// Whether rows can be selected for a merge (the role may merge).
    pub may_merge: bool,
}

/// The full page.
#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    chrome: Chrome,
    filters: FilterForm,
    listing: Listing,
    merge: Option<MergeReport>,
}

/// The rows alone, for htmx.
#[derive(Template)]
#[template(path = "cases_rows.html")]
struct CasesRows {
    listing: Listing,
}

/// Whether htmx asked for the rows only. A history restore (htmx
/// reloading a page it has not cached) wants the whole page.
fn wants_rows(htmx: Htmx, headers: &HeaderMap) -> bool {
    htmx.0 && !headers.contains_key("hx-history-restore-request")
}

/// `GET /ui/cases`: the list, or only its rows for htmx. A bad filter is a
/// 400 page naming the allowed values.
async fn list(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    htmx: Htmx,
    headers: HeaderMap,
    ApiQuery(form): ApiQuery<ListForm>,
) -> Result<Response, UiError> {
    let query = form.to_query(state.store.taxonomy())?;
    let chrome = Chrome::new(&session, Section::Cases);
    let listing = listing(
        &state.store,
        &query,
        chrome.may(MERGE_ROUTE.0, MERGE_ROUTE.1),
    )
    .await?;
    if wants_rows(htmx, &headers) {
        return Ok(render(&CasesRows { listing }));
    }
    Ok(render(&CasesPage {
        filters: FilterForm::new(&query, state.store.taxonomy()),
        chrome,
        listing,
        merge: None,
    }))
}

/// The whole page for `query` with a merge's report above the list (a
/// merge sent without JavaScript).
async fn page_with_report(
    state: &ApiState,
    session: &UiSession,
    query: &CaseQuery,
    report: MergeReport,
) -> Result<Response, UiError> {
    let chrome = Chrome::new(session, Section::Cases);
    let listing = listing(
        &state.store,
        query,
        chrome.may(MERGE_ROUTE.0, MERGE_ROUTE.1),
    )
    .await?;
    Ok(render(&CasesPage {
        filters: FilterForm::new(query, state.store.taxonomy()),
        chrome,
        listing,
        merge: Some(report),
    }))
}

/// One page of cases for `q` with each row's SLA badges, the clocks of the
/// whole page read in one query.
async fn listing(store: &Store, q: &CaseQuery, may_merge: bool) -> Result<Listing, StoreError> {
    let page = store.list_cases(q).await?;
    let ids: Vec<i64> = page.items.iter().map(|c| c.id).collect();
    let clocks = store
        .sla_clocks_of(&ids, &store.calendar(), now_ms())
        .await?;
    let rows: Vec<CaseRow> = page
        .items
        .into_iter()
        .map(|c| CaseRow {
            badges: clocks.get(&c.id).map(|k| sla_badges(k)).unwrap_or_default(),
            id: c.id,
            title: c.title,
            status: c.status.as_str(),
            category: c.category,
            severity: c.severity.as_str(),
            hazard: hazard_words(c.severity, c.hazard),
            vehicles: c.vehicle_count,
            reports: c.occurrence_count,
            emerging: c.emerging_at_ms.is_some(),
            last_seen: when(c.last_seen_ms),
        })
        .collect();
    let shown = rows.len() as i64;
    let (offset, limit) = (page.offset, page.limit);
    Ok(Listing {
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        total: page.total,
        href: list_href(q, offset),
        prev: (offset > 0).then(|| list_href(q, (offset - limit).max(0))),
        next: (offset + shown < page.total).then(|| list_href(q, offset + limit)),
        rows,
        may_merge,
    })
}
