//! The lifecycle's transitions on the case page: `GET
//! /ui/cases/{id}/transition-form?to=STATUS` (one transition's form) and
//! `POST /ui/cases/{id}/transition`, the use case `api/transition.rs` calls
//! ([`Store::transition`](crate::store::Store::transition)) with the policy
//! the API uses.

use std::sync::Arc;

use axum::{
    extract::{Form, Path, Query, State},
    http::StatusCode,
    response::Response,
    Extension,
};
use serde::Deserialize;
use serde_json::Map;

use super::{
    answer, case_id, fields::to_value, load, page, refused, view::status_label,
    view::TransitionForm, Panel, TransitionPartial,
};
use crate::{
    api::{error::ApiError, ApiState},
    app::transition::Transition,
    domain::{lifecycle::allowed_targets, CaseStatus, Refusal},
    now_ms,
    policy::Policy,
    store::{ui_sessions::UiSession, Store},
    ui::{
        page::{render, Chrome, Section, UiError},
        Htmx,
    },
};

/// The route whose role rule decides who may move a case.
const TRANSITION_ROUTE: &str = "/api/cases/{id}/transition";

/// The policy the API's handlers use: the service's, else the store's.
pub(super) fn policy_of(store: &Store, policy: Option<Extension<Arc<Policy>>>) -> Policy {
    policy.map_or_else(|| (*store.policy()).clone(), |p| (*p.0).clone())
}

/// Query of the transition form.
#[derive(Debug, Deserialize)]
pub(super) struct FormQuery {
    /// The status to move to.
    to: String,
}

/// `GET /ui/cases/{id}/transition-form?to=STATUS`: the form of one allowed
/// transition (for htmx), or the page; a status the case cannot take from
/// here is a 422 page naming where it can go.
pub(super) async fn form(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Query(q): Query<FormQuery>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let chrome = Chrome::new(&session, Section::Cases);
    if !chrome.may("POST", TRANSITION_ROUTE) {
        return Err(UiError(ApiError::Forbidden(format!(
            "A {} may not move cases (the API's rule for POST {TRANSITION_ROUTE}).",
            chrome.role_name()
        ))));
    }
    let view = load(&state, id).await?;
    let Some(form) = view.transitions.iter().find(|f| f.to == q.to).cloned() else {
        let to: CaseStatus = q.to.parse().map_err(|e: crate::domain::UnknownValue| {
            UiError(ApiError::Unprocessable(e.to_string()))
        })?;
        let lifecycle = state.store.lifecycle_state(id).await?;
        let allowed = lifecycle.as_ref().map(allowed_targets).unwrap_or_default();
        let refusal = Refusal::NotAllowed {
            from: view.case.summary.status,
            to,
            allowed,
        };
        return Err(UiError(ApiError::Unprocessable(refusal.to_string())));
    };
    Ok(if htmx {
        render(&TransitionPartial { chrome, form })
    } else {
        page(&session, false, view)
    })
}

/// A transition form as posted: `to`, `message`, `reason`, the case fields.
#[derive(Debug, Default)]
struct Posted {
    to: String,
    message: Option<String>,
    reason: Option<String>,
    fields: Vec<(String, String)>,
}

impl Posted {
    fn of(pairs: Vec<(String, String)>) -> Self {
        let mut posted = Self::default();
        let given = |v: String| Some(v).filter(|t| !t.trim().is_empty());
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => {}
                "to" => posted.to = value,
                "message" => posted.message = given(value),
                "reason" => posted.reason = given(value),
                _ => posted.fields.push((name, value)),
            }
        }
        posted
    }

    /// The case fields as the use case takes them; blanks are not sent (so
    /// a missing required field is named by the lifecycle's refusal).
    fn field_map(&self) -> Result<Map<String, serde_json::Value>, String> {
        let mut map = Map::new();
        for (name, text) in &self.fields {
            if let Some(value) = to_value(name, text)? {
                map.insert(name.clone(), value);
            }
        }
        Ok(map)
    }

    /// Puts what was typed back into `form`, with the refusal.
    fn refill(&self, form: &mut TransitionForm, message: String) {
        for field in &mut form.fields {
            if let Some((_, text)) = self.fields.iter().find(|(n, _)| *n == field.name) {
                field.value = text.clone();
            }
        }
        if form.message.is_some() {
            form.message = Some(self.message.clone().unwrap_or_default());
        }
        if form.reason.is_some() {
            form.reason = Some(self.reason.clone().unwrap_or_default());
        }
        form.error = Some(message);
    }
}

/// `POST /ui/cases/{id}/transition`: moves the case; a refusal (not
/// allowed from here, something required missing) is the form again with
/// the lifecycle's message inline, 422.
pub(super) async fn submit(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    policy: Option<Extension<Arc<Policy>>>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let posted = Posted::of(pairs);
    let panel = Panel::Transition(posted.to.clone());
    let fill = |view: &mut super::CaseView, message: String| {
        let at = match view.transitions.iter().position(|f| f.to == posted.to) {
            Some(at) => at,
            None => {
                view.transitions.push(unavailable(id, &posted.to));
                view.transitions.len() - 1
            }
        };
        posted.refill(&mut view.transitions[at], message);
    };
    let fields = match posted.field_map() {
        Ok(fields) => fields,
        Err(message) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return refused(&state, &session, htmx, id, panel, status, message, fill).await;
        }
    };
    let transition = Transition {
        to: posted.to.clone(),
        actor: session.caller.name.clone(),
        message: posted.message.clone(),
        reason: posted.reason.clone(),
        fields,
    };
    let policy = policy_of(&state.store, policy);
    let result = state
        .store
        .transition(id, &transition, &policy, now_ms())
        .await;
    answer(&state, &session, htmx, id, panel, result, fill).await
}

/// The form of a transition the case cannot take (a stale page asked for
/// it): no fields, only the refusal.
fn unavailable(case_id: i64, to: &str) -> TransitionForm {
    TransitionForm {
        case_id,
        to: to.to_string(),
        label: status_label(to),
        fields: Vec::new(),
        elsewhere: Vec::new(),
        message: None,
        reason: None,
        hint: None,
        error: None,
    }
}
