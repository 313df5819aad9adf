//! `POST /api/cases/{id}/satisfaction` and `POST /api/cases/{id}/message`:
//! what goes back and forth with the drivers after a case is opened.

use axum::{extract::State, Json};
use serde::Deserialize;

use super::{
    cases::{not_found_as_404, policy_of},
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath},
    ApiState,
};
use crate::{
    domain::lifecycle::MAX_MESSAGE_CHARS, now_ms, store::access::Caller, views::CaseDetail,
};

/// Body of `POST /api/cases/{id}/satisfaction`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionRequest {
    /// Ignored over HTTP: the caller's token name is recorded.
    #[serde(default)]
    pub actor: String,
    /// 1 (very unhappy) to 5 (very happy).
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    /// What the driver said, at most 1000 characters.
    #[schema(max_length = 1000)]
    pub comment: Option<String>,
}

/// The driver's satisfaction after resolution: closes the case when
/// satisfied, reopens it when not.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/satisfaction",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = SatisfactionRequest,
    responses(
        (status = 200, description = "The case, closed or reopened", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Score out of range, or the case is not resolved", body = ErrorBody),
    )
)]
pub async fn record_satisfaction(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<SatisfactionRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .record_satisfaction(
                id,
                req.score,
                req.comment.as_deref(),
                &req.actor,
                &policy,
                now_ms(),
            )
            .await
            .map_err(not_found_as_404(id))?,
    ))
}

/// Body of `POST /api/cases/{id}/message`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// What the driver is told: 1 to 1000 characters, not all blank.
    #[schema(min_length = 1, max_length = 1000)]
    pub message: String,
}

/// Sends the cars that reported the case an update (no status change);
/// restarts the next-update SLA clock.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/message",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = UpdateRequest,
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Empty message, or the case takes no updates in its status", body = ErrorBody),
    )
)]
pub async fn send_update(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    super::contract::check_text("message", &req.message, MAX_MESSAGE_CHARS, true)?;
    let actor = caller.map_or_else(|| "api".to_string(), |c| c.0.name);
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .send_update(id, &req.message, &actor, &policy, now_ms())
            .await
            .map_err(not_found_as_404(id))?,
    ))
}
