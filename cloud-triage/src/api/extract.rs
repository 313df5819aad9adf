//! Path, query and JSON body extractors whose rejections are [`ApiError`]s, so a bad
//! parameter gets the API's JSON error body instead of axum's plain text.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
    Json,
};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Like [`axum::extract::Path`], rejecting with a 400 [`ApiError`].
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "invalid path parameter: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Like [`axum::extract::Query`], rejecting with a 400 [`ApiError`].
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "invalid query: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Like [`axum::Json`], rejecting with an [`ApiError`]: 422 when the JSON is
/// well formed but does not fit the expected shape, 400 otherwise.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Unprocessable(format!(
                "invalid body: {}",
                e.body_text()
            ))),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "invalid body: {}",
                rejection.body_text()
            ))),
        }
    }
}
