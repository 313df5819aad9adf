//! `/ui/cases/{id}`: one case worked through its 8D lifecycle.
//!
//! The page (`case.html`, its body `case_body.html` for htmx) shows the
//! header with the SLA badges, one button per transition the lifecycle
//! allows from here (each opens a form with exactly what that transition
//! asks for), the 8D panel with its edit form and the suggested actions,
//! the reports (newest first, 20 at a time), the known issues and similar
//! cases, the message to the cars, the drivers' satisfaction answers,
//! merge and split, and the history (oldest first).
//!
//! Every action calls the use case its API route calls (`app/`), with the
//! signed-in person as the actor. A success answers htmx with the new body
//! (`HX-Retarget: #case`), a plain form with a redirect to the page; a
//! refusal (422) or a conflict (409) re-renders the action's own form with
//! the message inline.
//!
//! # Layout
//! - this file: the routes, the page, the reports partial, the answers.
//! - `view`: what the page shows, built from the read models and the rules.
//! - `fields`: the 8D fields as forms show them.
//! - `reports`: the reports, their clips and charts.
//! - `listing`: the known issues, similar cases and history as listed.
//! - `transition`, `eight_d`, `follow_up`, `merge_split`: the actions.

mod eight_d;
mod fields;
mod follow_up;
mod listing;
mod merge_split;
mod reports;
mod transition;
mod view;

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Extension, Router,
};
use serde::Deserialize;

use super::{
    page::{render, Chrome, Section, UiError},
    Htmx,
};
use crate::{
    api::{error::ApiError, ApiState},
    store::{ui_sessions::UiSession, StoreError},
    views::CaseDetail,
};
use reports::ReportsPage;
use view::{CaseView, EightDPanel, SmallForm, TransitionForm};

/// This view's routes (relative to `/ui`). The role rule is the API's:
/// `POST /cases/{id}` stands for `PATCH /api/cases/{id}`, the other POSTs
/// for the API routes of the same name.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/cases/{id}", get(show).post(eight_d::update))
        .route("/cases/{id}/reports", get(more_reports))
        .route("/cases/{id}/transition-form", get(transition::form))
        .route("/cases/{id}/transition", post(transition::submit))
        .route("/cases/{id}/message", post(follow_up::message))
        .route("/cases/{id}/satisfaction", post(follow_up::satisfaction))
        .route("/cases/{id}/merge", post(merge_split::merge))
        .route("/cases/{id}/split", post(merge_split::split))
}

/// The whole page.
#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    view: CaseView,
}

/// The page's body, the part htmx swaps (`#case`).
#[derive(Template)]
#[template(path = "case_body.html")]
struct CaseBody {
    chrome: Chrome,
    view: CaseView,
}

/// A page of reports, as htmx appends it to the list.
#[derive(Template)]
#[template(path = "case_reports.html")]
struct ReportsPartial {
    chrome: Chrome,
    reports: ReportsPage,
}

/// A page of reports on its own (the same list without htmx).
#[derive(Template)]
#[template(path = "case_reports_page.html")]
struct ReportsFull {
    chrome: Chrome,
    reports: ReportsPage,
}

/// One transition's form.
#[derive(Template)]
#[template(path = "case_transition_form.html")]
struct TransitionPartial {
    chrome: Chrome,
    form: TransitionForm,
}

/// The 8D panel.
#[derive(Template)]
#[template(path = "case_eight_d.html")]
struct EightDPartial {
    chrome: Chrome,
    eight_d: EightDPanel,
}

/// The message form.
#[derive(Template)]
#[template(path = "case_message_form.html")]
struct MessagePartial {
    chrome: Chrome,
    message: SmallForm,
}

/// The satisfaction form.
#[derive(Template)]
#[template(path = "case_satisfaction_form.html")]
struct SatisfactionPartial {
    chrome: Chrome,
    satisfaction: SmallForm,
}

/// The merge form.
#[derive(Template)]
#[template(path = "case_merge_form.html")]
struct MergePartial {
    chrome: Chrome,
    merge: SmallForm,
}

/// The split form.
#[derive(Template)]
#[template(path = "case_split_form.html")]
struct SplitPartial {
    chrome: Chrome,
    split: SmallForm,
}

/// A case number from the path: anything else is a 400 page.
fn case_id(raw: &str) -> Result<i64, UiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        UiError(ApiError::BadRequest(format!(
            "case id must be a case number, got {raw:?}"
        )))
    })
}

/// The 404 of case `id`.
fn no_case(id: i64) -> UiError {
    UiError(ApiError::NotFound(format!("case {id}")))
}

/// The page of case `id`, or its 404.
async fn load(state: &ApiState, id: i64) -> Result<CaseView, UiError> {
    CaseView::load(&state.store, id)
        .await?
        .ok_or_else(|| no_case(id))
}

/// `GET /ui/cases/{id}`: the page, or its body for htmx.
async fn show(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let view = load(&state, id).await?;
    Ok(page(&session, htmx, view))
}

/// The page (or its body for htmx) of `view`.
fn page(session: &UiSession, htmx: bool, view: CaseView) -> Response {
    let chrome = Chrome::new(session, Section::Cases);
    if htmx {
        render(&CaseBody { chrome, view })
    } else {
        render(&CasePage { chrome, view })
    }
}

/// Query of `GET /ui/cases/{id}/reports`.
#[derive(Debug, Deserialize)]
struct ReportsQuery {
    /// Reports to skip, newest first.
    offset: Option<String>,
}

/// `GET /ui/cases/{id}/reports?offset=N`: the next reports, newest first.
async fn more_reports(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Query(q): Query<ReportsQuery>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let offset = match q.offset.as_deref() {
        None | Some("") => 0,
        Some(text) => text.parse::<usize>().map_err(|_| {
            UiError(ApiError::BadRequest(format!(
                "offset must be a count of reports, got {text:?}"
            )))
        })?,
    };
    let case = state.store.get_case(id).await?.ok_or_else(|| no_case(id))?;
    let reports = ReportsPage::load(&state.store, &case, offset).await?;
    let chrome = Chrome::new(&session, Section::Cases);
    Ok(if htmx {
        render(&ReportsPartial { chrome, reports })
    } else {
        render(&ReportsFull { chrome, reports })
    })
}

/// The form a refused action re-renders.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Panel {
    /// The form of the transition to this status.
    Transition(String),
    /// The 8D panel.
    EightD,
    /// The message to the cars.
    Message,
    /// The driver's satisfaction.
    Satisfaction,
    /// Merge into another case.
    Merge,
    /// Split reports off.
    Split,
}

/// How an action's use case answered, as the page shows it: a success is
/// the new body (htmx) or a redirect to the page; a refusal (422) or a
/// conflict (409) is the action's form again, with `fill` putting back what
/// was typed and the message inline; no such case is the 404 page.
async fn answer(
    state: &ApiState,
    session: &UiSession,
    htmx: bool,
    id: i64,
    panel: Panel,
    result: Result<CaseDetail, StoreError>,
    fill: impl FnOnce(&mut CaseView, String),
) -> Result<Response, UiError> {
    match result {
        Ok(_) => done(state, session, htmx, id, |_| {}).await,
        Err(e) => {
            let (status, message) = refusal(e, id)?;
            refused(state, session, htmx, id, panel, status, message, fill).await
        }
    }
}

/// A use case's refusal as its status and message (422 for a rule, 409
/// for a conflict); no such case is the 404 page, anything else the 500.
fn refusal(e: StoreError, id: i64) -> Result<(StatusCode, String), UiError> {
    match e {
        StoreError::Invalid(m) => Ok((StatusCode::UNPROCESSABLE_ENTITY, m)),
        StoreError::Conflict(m) => Ok((StatusCode::CONFLICT, m)),
        StoreError::NotFound => Err(no_case(id)),
        other => Err(other.into()),
    }
}

/// A successful action: the case's new body for htmx (swapped for the whole
/// `#case`, whichever form sent it), else a redirect to the page.
async fn done(
    state: &ApiState,
    session: &UiSession,
    htmx: bool,
    id: i64,
    note: impl FnOnce(&mut CaseView),
) -> Result<Response, UiError> {
    if !htmx {
        return Ok(Redirect::to(&format!("/ui/cases/{id}")).into_response());
    }
    let mut view = load(state, id).await?;
    note(&mut view);
    let mut response = page(session, true, view);
    let headers = response.headers_mut();
    headers.insert("hx-retarget", HeaderValue::from_static("#case"));
    headers.insert("hx-reswap", HeaderValue::from_static("outerHTML"));
    Ok(response)
}

/// A refused action: its form with the message (htmx), or the whole page
/// with that form filled in and the message (a plain form), at `status`.
#[allow(clippy::too_many_arguments)]
async fn refused(
    state: &ApiState,
    session: &UiSession,
    htmx: bool,
    id: i64,
    panel: Panel,
    status: StatusCode,
    message: String,
    fill: impl FnOnce(&mut CaseView, String),
) -> Result<Response, UiError> {
    let mut view = load(state, id).await?;
    fill(&mut view, message);
    let mut response = if htmx {
        panel_partial(session, view, &panel)
    } else {
        page(session, false, view)
    };
    *response.status_mut() = status;
    Ok(response)
}

/// The partial of one panel of `view`.
fn panel_partial(session: &UiSession, view: CaseView, panel: &Panel) -> Response {
    let chrome = Chrome::new(session, Section::Cases);
    match panel {
        Panel::Transition(to) => match view.transitions.iter().position(|f| f.to == *to) {
            Some(i) => render(&TransitionPartial {
                chrome,
                form: view.transitions[i].clone(),
            }),
            None => render(&CaseBody { chrome, view }),
        },
        Panel::EightD => render(&EightDPartial {
            chrome,
            eight_d: view.eight_d,
        }),
        Panel::Message => render(&MessagePartial {
            chrome,
            message: view.message,
        }),
        Panel::Satisfaction => render(&SatisfactionPartial {
            chrome,
            satisfaction: view.satisfaction,
        }),
        Panel::Merge => render(&MergePartial {
            chrome,
            merge: view.merge,
        }),
        Panel::Split => render(&SplitPartial {
            chrome,
            split: view.split,
        }),
    }
}
