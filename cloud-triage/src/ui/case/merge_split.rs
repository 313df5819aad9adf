//! Correcting the fleet linker on the case page: `POST
//! /ui/cases/{id}/merge` ([`Store::merge_cases`]) and `POST
//! /ui/cases/{id}/split` ([`Store::split_case`]), the use cases
//! `api/merge_split.rs` calls, with the same semantics: a merge moves this
//! case's reports into the other and leaves this one `merged`; a split
//! makes a new case of the selected reports.
//!
//! [`Store::merge_cases`]: crate::store::Store::merge_cases
//! [`Store::split_case`]: crate::store::Store::split_case

use axum::{
    extract::{Form, Path, State},
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{case_id, done, no_case, refusal, refused, CaseView, Panel};
use crate::{
    api::ApiState,
    now_ms,
    store::{ui_sessions::UiSession, StoreError},
    ui::{page::UiError, Htmx},
};

/// Body of the merge form.
#[derive(Debug, Deserialize)]
pub(super) struct MergeForm {
    /// The case that takes this case's reports.
    #[serde(default)]
    into: String,
}

/// `POST /ui/cases/{id}/merge`: on success the other case's page (htmx is
/// told to go there); a refusal (same case, a closed one) or a case number
/// that does not exist is the form again with the message, 422.
pub(super) async fn merge(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let fill = |view: &mut CaseView, message: String| {
        view.merge.value = form.into.clone();
        view.merge.error = Some(message);
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Ok(into) = form.into.trim().parse::<i64>() else {
        let message = format!("into: a case number, got {:?}", form.into);
        return refused(
            &state,
            &session,
            htmx,
            id,
            Panel::Merge,
            unprocessable,
            message,
            fill,
        )
        .await;
    };
    let actor = session.caller.name.clone();
    match state.store.merge_cases(id, into, &actor, now_ms()).await {
        Ok(()) => Ok(go_to(htmx, into)),
        // Either case may be the one missing: this one is the 404 page.
        Err(StoreError::NotFound) => {
            if state.store.get_case(id).await?.is_none() {
                return Err(no_case(id));
            }
            let message = format!("into: there is no case {into}");
            refused(
                &state,
                &session,
                htmx,
                id,
                Panel::Merge,
                unprocessable,
                message,
                fill,
            )
            .await
        }
        Err(e) => {
            let (status, message) = refusal(e, id)?;
            refused(
                &state,
                &session,
                htmx,
                id,
                Panel::Merge,
                status,
                message,
                fill,
            )
            .await
        }
    }
}

/// To case `to`'s page: a redirect, or for htmx `HX-Redirect`.
fn go_to(htmx: bool, to: i64) -> Response {
    let url = format!("/ui/cases/{to}");
    if !htmx {
        return Redirect::to(&url).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&url) {
        response.headers_mut().insert("hx-redirect", value);
    }
    response
}

/// `POST /ui/cases/{id}/split` with the selected reports' `feedback_ids`:
/// they become a new case; the page says which, with a link (a plain form
/// goes to the new case). None selected, or one not in this case, is
/// refused inline.
pub(super) async fn split(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let fill = |view: &mut CaseView, message: String| view.split.error = Some(message);
    let texts: Vec<&str> = pairs
        .iter()
        .filter(|(name, _)| name == "feedback_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    let Ok(ids) = texts
        .iter()
        .map(|t| Uuid::parse_str(t))
        .collect::<Result<Vec<_>, _>>()
    else {
        let message = "feedback_ids: only this case's report ids can be split off".to_string();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return refused(
            &state,
            &session,
            htmx,
            id,
            Panel::Split,
            status,
            message,
            fill,
        )
        .await;
    };
    let actor = session.caller.name.clone();
    match state.store.split_case(id, &ids, &actor, now_ms()).await {
        Ok(new_id) if htmx => {
            let count = ids.len();
            done(&state, &session, true, id, |view| {
                view.notice = Some(format!(
                    "{count} report{} split off into case #{new_id}.",
                    if count == 1 { "" } else { "s" }
                ));
                view.created = Some(new_id);
            })
            .await
        }
        Ok(new_id) => Ok(go_to(false, new_id)),
        Err(e) => {
            let (status, message) = refusal(e, id)?;
            refused(
                &state,
                &session,
                htmx,
                id,
                Panel::Split,
                status,
                message,
                fill,
            )
            .await
        }
    }
}
