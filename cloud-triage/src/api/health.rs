//! `GET /healthz`: 200 with the store's counts when ready, 503 while starting.

use std::sync::atomic::Ordering;

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{error::ApiError, ApiState};
use crate::store::{Backend, Counts};

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when serving, `starting` before the service is subscribed.
    pub status: String,
    /// The database in use, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// What is stored, once ready.
    #[serde(flatten)]
    pub counts: Option<Counts>,
}

/// Health and counts.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Serving; counts of stored records", body = Health),
        (status = 503, description = "Starting, or the database is unreachable", body = Health),
    )
)]
pub async fn healthz(
    State(state): State<ApiState>,
) -> Result<(StatusCode, Json<Health>), ApiError> {
    if !state.ready.load(Ordering::Acquire) {
        let starting = Health {
            status: "starting".into(),
            backend: None,
            counts: None,
        };
        return Ok((StatusCode::SERVICE_UNAVAILABLE, Json(starting)));
    }
    let counts = state
        .store
        .counts()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database unreachable: {e}")))?;
    let ok = Health {
        status: "ok".into(),
        backend: Some(state.store.backend()),
        counts: Some(counts),
    };
    Ok((StatusCode::OK, Json(ok)))
}
