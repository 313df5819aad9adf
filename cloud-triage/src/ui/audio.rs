//! `GET /ui/feedback/{id}/audio`: a feedback's stored clip for the case
//! page's `<audio>` player, behind the session like every UI route, with
//! HTTP Range (the browser seeks and reads the length without the whole
//! file) by `tower_http`'s `ServeFile`.
//!
//! The clip's path is the one the service stored with the feedback
//! ([`AudioInfo::path`](crate::views::AudioInfo::path)): the ingest writes
//! it as the audio store's directory joined with `{id}.wav`, so it needs no
//! directory of its own here. Only a clip whose status is `complete` is
//! served; a feedback without one is the 404 page.

use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use uuid::Uuid;

use super::page::UiError;
use crate::{
    api::{error::ApiError, ApiState},
    domain::AudioStatus,
};

/// This view's routes (relative to `/ui`).
pub fn routes() -> Router<ApiState> {
    Router::new().route("/feedback/{id}/audio", get(clip))
}

/// `GET /ui/feedback/{id}/audio`: the WAV clip (`Content-Type: audio/wav`),
/// whole or the asked range (206 with `Content-Range`).
async fn clip(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, UiError> {
    let id = Uuid::parse_str(&raw).map_err(|_| {
        UiError(ApiError::BadRequest(format!(
            "feedback id must be a UUID, got {raw:?}"
        )))
    })?;
    let no_clip = || {
        UiError(ApiError::NotFound(format!(
            "an audio clip of feedback {id}"
        )))
    };
    let feedback = state.store.get_feedback(id).await?.ok_or_else(no_clip)?;
    let path = match (feedback.audio.status, feedback.audio.path) {
        (AudioStatus::Complete, Some(path)) => path,
        _ => return Err(no_clip()),
    };
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        tracing::warn!(feedback_id = %id, path, "a complete clip is missing on disk");
        return Err(no_clip());
    }
    let mut response = match ServeFile::new(&path).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(e) => return Err(UiError(ApiError::Internal(format!("serving {path}: {e}")))),
    };
    if response.status() == StatusCode::NOT_FOUND {
        return Err(no_clip());
    }
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    // A clip never changes once stored: the browser may keep it for the session.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}
