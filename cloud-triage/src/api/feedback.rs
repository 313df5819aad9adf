//! `GET /api/feedback/{id}`: one stored feedback with its telemetry snapshot.

use axum::{extract::State, Json};
use uuid::Uuid;

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiPath,
    ApiState,
};
use crate::views::FeedbackDetail;

/// One feedback.
#[utoipa::path(
    get,
    path = "/api/feedback/{id}",
    tag = "feedback",
    params(("id" = Uuid, Path, description = "The feedback's UUID (made in the car)")),
    responses(
        (status = 200, description = "The feedback", body = FeedbackDetail),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such feedback", body = ErrorBody),
    )
)]
pub async fn get_feedback(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedbackDetail>, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::BadRequest("feedback id must be a UUID".into()))?;
    state
        .store
        .get_feedback(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("feedback {id}")))
}
