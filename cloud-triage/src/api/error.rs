//! The API's one error type and its one mapping to HTTP status codes.
//!
//! Every failure a handler can meet becomes an [`ApiError`]; its response is
//! `{"error": {"code": "...", "message": "..."}}`. Messages for client errors
//! say what was wrong with the request. Internal failures are logged with
//! their detail and answered with a fixed message, so database text never
//! reaches a client.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// What went wrong, as the client should learn it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request's path or query is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The route exists but not for this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// No valid API token was presented.
    #[error("{0}")]
    Unauthorized(String),
    /// The token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is well formed but its values are not acceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// The request contradicts the stored state.
    #[error("{0}")]
    Conflict(String),
    /// The service is starting or its database is unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// A failure inside the service; the detail is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of an error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `not_found`, `bad_request`, `method_not_allowed`, `unauthorized`, `forbidden`, `unprocessable`, `conflict`, `unavailable`, `internal`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// The status code and stable code string of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("record".into()),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Invalid(message) => Self::Unprocessable(message),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "API request failed");
                "internal error; see the service log".to_string()
            }
            Self::Unavailable(reason) => {
                tracing::warn!(%reason, "API answered unavailable");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message,
            },
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_is_a_500_without_its_text() {
        let err = ApiError::from(StoreError::Corrupt(
            "telemetry_json at /var/lib/qloop".into(),
        ));
        assert_eq!(
            err.status_and_code(),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(!err.to_string().contains("/var/lib"));
    }

    #[test]
    fn store_conflicts_invalid_values_and_misses_keep_their_meaning() {
        let invalid = ApiError::from(StoreError::Invalid("status: must be one of new".into()));
        assert_eq!(
            invalid.status_and_code().0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::from(StoreError::Conflict("x".into()))
                .status_and_code()
                .0,
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from(StoreError::NotFound).status_and_code().0,
            StatusCode::NOT_FOUND
        );
    }
}
