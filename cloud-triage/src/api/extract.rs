//! Path, query and JSON body extractors whose rejections are [`ApiError`]s, so a bad
//! parameter gets the API's JSON error body instead of axum's plain text.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
    Json,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
///
/// A number with no fraction (`2.0`) is read as the integer it is: JSON
/// Schema calls it an `integer`, and clients may write integers that way,
/// while serde refuses a float for an `i64`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let rejected = |rejection: JsonRejection| match rejection {
            JsonRejection::JsonDataError(e) => {
                ApiError::Unprocessable(format!("invalid body: {}", e.body_text()))
            }
            other => ApiError::BadRequest(format!("invalid body: {}", other.body_text())),
        };
        let Json(mut value) = Json::<Value>::from_request(req, state)
            .await
            .map_err(rejected)?;
        whole_numbers_as_integers(&mut value);
        let bytes = serde_json::to_vec(&value)
            .map_err(|e| ApiError::Internal(format!("re-encoding a JSON body: {e}")))?;
        Json::<T>::from_bytes(&bytes)
            .map(|Json(body)| Self(body))
            .map_err(rejected)
    }
}

/// Turns every float without a fraction that fits an `i64` into that integer.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            // 2^63: the first whole number past i64::MAX; i64::MIN is -2^63 exactly.
            const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_floats_become_integers_and_others_stay() {
        let mut v = json!({"a": 2.0, "b": [786.0, -0.0, 1.5], "c": 1e30, "d": "2.0", "e": 7});
        whole_numbers_as_integers(&mut v);
        assert_eq!(
            v,
            json!({"a": 2, "b": [786, 0, 1.5], "c": 1e30, "d": "2.0", "e": 7})
        );
        assert!(v["a"].is_i64());
    }
}
