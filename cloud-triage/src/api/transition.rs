//! `POST /api/cases/{id}/transition`: a case moves through its 8D lifecycle.

use axum::{extract::State, Json};

use super::{
    cases::{not_found_as_404, policy_of},
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath},
    ApiState,
};
use crate::{
    now_ms,
    store::{access::Caller, records::CaseDetail},
};

/// Moves a case through its lifecycle (8D): `{"to": STATE, "actor": …,
/// "message"?, "reason"?, …fields}`. A transition that is not allowed from the
/// case's status, or lacks a required field, is refused with 422 naming it.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/transition",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = crate::store::lifecycle::Transition,
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
    ApiJson(mut t): ApiJson<crate::store::lifecycle::Transition>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        t.actor = c.name;
    }
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .transition(id, &t, &policy, now_ms())
            .await
            .map_err(not_found_as_404(id))?,
    ))
}
