//! `POST /api/cases/{id}/merge` and `POST /api/cases/{id}/split`: engineers
//! correcting the fleet linker (one issue reported as two cases, or two
//! issues in one).

use axum::{extract::State, Json};
use serde::Deserialize;

use super::{
    cases::not_found_as_404,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath},
    ApiState,
};
use crate::{now_ms, store::access::Caller, views::CaseDetail};

/// Body of `POST /api/cases/{id}/merge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// Ignored over HTTP: the caller's token name is recorded.
    #[serde(default)]
    pub actor: String,
    /// The case that takes this case's occurrences.
    pub into: i64,
}

/// Body of `POST /api/cases/{id}/split`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// Ignored over HTTP: the caller's token name is recorded.
    #[serde(default)]
    pub actor: String,
    /// Feedback of this case that belong to a different issue; at least one.
    #[schema(min_items = 1)]
    pub feedback_ids: Vec<uuid::Uuid>,
}

/// Merges this case into another (same issue reported as two cases): its
/// occurrences and knowledge matches move, it becomes `merged`, both
/// histories record it.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/merge",
    tag = "cases",
    params(("id" = i64, Path, description = "The case merged away")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The case that took the occurrences", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "Either case does not exist", body = ErrorBody),
        (status = 422, description = "Same case, or a closed, cancelled or merged case", body = ErrorBody),
    )
)]
pub async fn merge_case(
    State(state): State<ApiState>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<MergeRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    // A case that does not exist is a 404 before it is a case merged into itself.
    if req.into == id && state.store.get_case(id).await?.is_none() {
        return Err(ApiError::NotFound(format!("case {id}")));
    }
    state
        .store
        .merge_cases(id, req.into, &req.actor, now_ms())
        .await
        .map_err(not_found_as_404(id))?;
    state
        .store
        .get_case(req.into)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("case {}", req.into)))
}

/// Splits feedback that belong to another issue out of this case into a new case.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/split",
    tag = "cases",
    params(("id" = i64, Path, description = "The case split")),
    request_body = SplitRequest,
    responses(
        (status = 201, description = "The new case", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "A feedback not in this case, none named, or none left", body = ErrorBody),
    )
)]
pub async fn split_case(
    State(state): State<ApiState>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<SplitRequest>,
) -> Result<(axum::http::StatusCode, Json<CaseDetail>), ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    let new_id = state
        .store
        .split_case(id, &req.feedback_ids, &req.actor, now_ms())
        .await
        .map_err(not_found_as_404(id))?;
    let case = state
        .store
        .get_case(new_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("case {new_id}")))?;
    Ok((axum::http::StatusCode::CREATED, Json(case)))
}
