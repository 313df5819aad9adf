//! Access: every route but `/healthz` and the OpenAPI document needs an API
//! token (`Authorization: Bearer qlp_…`); a missing or unknown token gets
//! 401, a role that may not use the route 403. Reads need a token too: cases,
//! feedback, audio and telemetry hold personal data. Vehicles have no API
//! tokens; they reach the service over MQTT only.
//!
//! The caller's token name is the actor recorded in case history.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header::AUTHORIZATION, Method},
    middleware::Next,
    response::Response,
};

use super::{error::ApiError, ApiState};
use crate::store::access::{Caller, Role};

/// Every role.
pub(super) const ALL: &[Role] = &[Role::Operator, Role::Engineer, Role::Admin];
const ENGINEERS: &[Role] = &[Role::Engineer, Role::Admin];
const ADMINS: &[Role] = &[Role::Admin];

/// The roles allowed on a route; `None` for public routes.
pub fn allowed_roles(method: &Method, path: &str) -> Option<&'static [Role]> {
    match (method.as_str(), path) {
        ("GET", "/healthz" | "/api/openapi.json") => None,
        ("GET", _) => Some(ALL),
        ("POST", "/api/cases/{id}/satisfaction") => Some(ALL),
        ("POST", "/api/tokens") => Some(ADMINS),
        _ => Some(ENGINEERS),
    }
}

/// Checks the token against the route's roles and hands the caller on.
pub async fn require_token(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Some(roles) = allowed_roles(request.method(), &path) else {
        return Ok(next.run(request).await);
    };
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("an API token is required: Authorization: Bearer TOKEN".into())
        })?;
    let caller: Caller = state
        .store
        .caller(token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API token is unknown or revoked".into()))?;
    if !roles.contains(&caller.role) {
        return Err(ApiError::Forbidden(format!(
            "a {} token may not {} {path}",
            caller.role.as_str(),
            request.method()
        )));
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}
