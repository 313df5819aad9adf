//! `POST /api/tokens`: admins make API tokens.

use axum::{extract::State, Json};
use serde::Deserialize;

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    ApiState,
};
use crate::{now_ms, store::access::Role};

/// Longest token name, in characters.
const MAX_TOKEN_NAME_CHARS: usize = 100;

/// Body of `POST /api/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `operator`, `engineer` or `admin`.
    pub role: Role,
    /// Whose token (recorded as the actor of their changes): 1 to 100
    /// characters, not all blank; kept trimmed.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A token, shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Its role.
    pub role: Role,
    /// Its name.
    pub name: String,
}

/// Makes an API token (admins only).
#[utoipa::path(
    post,
    path = "/api/tokens",
    tag = "access",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "The token, shown once", body = TokenCreated),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "A bad role or name", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(axum::http::StatusCode, Json<TokenCreated>), ApiError> {
    super::contract::check_text("name", &req.name, MAX_TOKEN_NAME_CHARS, true)?;
    let token = state
        .store
        .create_token(req.role, &req.name, now_ms())
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(TokenCreated {
            token,
            role: req.role,
            name: req.name.trim().to_string(),
        }),
    ))
}
