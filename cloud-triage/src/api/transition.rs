//! `POST /api/cases/{id}/transition`: a case moves through its 8D lifecycle.

use axum::{extract::State, Json};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    cases::{not_found_as_404, policy_of},
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath},
    ApiState,
};
use crate::{
    app::transition::Transition,
    domain::{lifecycle::MAX_MESSAGE_CHARS, CaseStatus},
    now_ms,
    store::access::Caller,
    views::CaseDetail,
};

/// Body of `POST /api/cases/{id}/transition`. Its schema in the document is
/// `contract`'s: these properties and every editable case field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TransitionRequest {
    /// The status to move to.
    pub to: CaseStatus,
    /// Ignored over HTTP: the caller's token name is recorded.
    #[serde(default)]
    pub actor: String,
    /// What the driver is told (required for `acknowledged` and
    /// `effectiveness_verified`; sent as an update otherwise).
    pub message: Option<String>,
    /// Why (required for `waiting_customer`, `reopened` and `cancelled`).
    pub reason: Option<String>,
    /// Case fields set with the transition (same names as `PATCH`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

impl TransitionRequest {
    /// The store's transition by `actor`, once the texts are within their limits.
    fn into_transition(self, actor: String) -> Result<Transition, ApiError> {
        for (field, text) in [("message", &self.message), ("reason", &self.reason)] {
            if let Some(text) = text {
                super::contract::check_text(field, text, MAX_MESSAGE_CHARS, false)?;
            }
        }
        Ok(Transition {
            to: self.to.as_str().to_string(),
            actor,
            message: self.message,
            reason: self.reason,
            fields: self.fields,
        })
    }
}

/// Moves a case through its lifecycle (8D): `{"to": STATE, "actor": …,
/// "message"?, "reason"?, …fields}`. A transition that is not allowed from the
/// case's status, or lacks a required field, is refused with 422 naming it.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/transition",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "The case in its new status", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Not allowed from this status, or required fields missing (named)", body = ErrorBody),
    )
)]
pub async fn transition_case(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    let actor = caller.map_or(request.actor.clone(), |c| c.0.name);
    let t = request.into_transition(actor)?;
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .transition(id, &t, &policy, now_ms())
            .await
            .map_err(not_found_as_404(id))?,
    ))
}
