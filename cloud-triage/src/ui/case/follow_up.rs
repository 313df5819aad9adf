//! What goes back and forth with the drivers, on the case page: `POST
//! /ui/cases/{id}/message` ([`Store::send_update`], as
//! `api/follow_up.rs` `send_update`) and `POST /ui/cases/{id}/satisfaction`
//! ([`Store::record_satisfaction`], as `record_satisfaction` there), for an
//! operator recording a driver's answer.
//!
//! [`Store::send_update`]: crate::store::Store::send_update
//! [`Store::record_satisfaction`]: crate::store::Store::record_satisfaction

use std::sync::Arc;

use axum::{
    extract::{Form, Path, State},
    http::StatusCode,
    response::Response,
    Extension,
};
use serde::Deserialize;

use super::{answer, case_id, refused, transition::policy_of, CaseView, Panel};
use crate::{
    api::ApiState,
    now_ms,
    policy::Policy,
    store::ui_sessions::UiSession,
    ui::{page::UiError, Htmx},
};

/// Body of the message form.
#[derive(Debug, Deserialize)]
pub(super) struct MessageForm {
    /// What the drivers are told.
    #[serde(default)]
    message: String,
}

/// `POST /ui/cases/{id}/message`: the message goes to every car that
/// reported the case; a status that takes no updates, or an empty message,
/// is refused inline.
pub(super) async fn message(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    policy: Option<Extension<Arc<Policy>>>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(form): Form<MessageForm>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let policy = policy_of(&state.store, policy);
    let actor = session.caller.name.clone();
    let result = state
        .store
        .send_update(id, &form.message, &actor, &policy, now_ms())
        .await;
    answer(
        &state,
        &session,
        htmx,
        id,
        Panel::Message,
        result,
        |view: &mut CaseView, message| {
            view.message.value = form.message.clone();
            view.message.error = Some(message);
        },
    )
    .await
}

/// Body of the satisfaction form.
#[derive(Debug, Deserialize)]
pub(super) struct SatisfactionForm {
    /// 1 (very unhappy) to 5 (very happy).
    #[serde(default)]
    score: String,
    /// What the driver said.
    #[serde(default)]
    comment: String,
}

/// `POST /ui/cases/{id}/satisfaction`: records the driver's answer, which
/// closes the case or reopens it; a case not awaiting one is refused inline.
pub(super) async fn satisfaction(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    policy: Option<Extension<Arc<Policy>>>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(form): Form<SatisfactionForm>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let fill = |view: &mut CaseView, message: String| {
        view.satisfaction.value = form.score.clone();
        view.satisfaction.comment = form.comment.clone();
        view.satisfaction.error = Some(message);
    };
    let Ok(score) = form.score.trim().parse::<i64>() else {
        let message = "score: choose 1 (very unhappy) to 5 (very happy)".to_string();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return refused(
            &state,
            &session,
            htmx,
            id,
            Panel::Satisfaction,
            status,
            message,
            fill,
        )
        .await;
    };
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    let policy = policy_of(&state.store, policy);
    let actor = session.caller.name.clone();
    let result = state
        .store
        .record_satisfaction(id, score, comment, &actor, &policy, now_ms())
        .await;
    answer(
        &state,
        &session,
        htmx,
        id,
        Panel::Satisfaction,
        result,
        fill,
    )
    .await
}
