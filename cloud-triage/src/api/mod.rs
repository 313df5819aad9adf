//! The HTTP API: cases (read and worked), feedback, health, and the OpenAPI
//! document.
//!
//! # Layout
//! - [`access`]: API tokens and roles on every route.
//! - [`vehicles`]: one car's feedback and the outbox records it reported lost.
//! - [`error`]: [`ApiError`](error::ApiError), the one mapping from failure to status code.
//! - [`extract`]: path and query extractors that reject with that error.
//! - [`health`]: `GET /healthz`.
//! - [`cases`]: `GET /api/cases`, `GET` and `PATCH /api/cases/{id}`.
//! - [`merge_split`]: `POST /api/cases/{id}/merge` and `/split`.
//! - [`transition`]: `POST /api/cases/{id}/transition` (the 8D lifecycle).
//! - [`follow_up`]: `POST /api/cases/{id}/satisfaction` and `/message`.
//! - [`tokens`]: `POST /api/tokens`.
//! - [`metrics`]: `GET /api/metrics/response-times` and `GET /metrics`.
//! - [`feedback`]: `GET /api/feedback/{id}`.
//! - [`search`]: `GET /api/search` (the knowledge index).
//! - [`openapi`]: `GET /api/openapi.json`.
//! - [`contract`]: what the document promises beyond the annotations, and the edge checks that keep it.

pub mod access;
pub mod cases;
pub mod contract;
pub mod error;
pub mod extract;
pub mod feedback;
pub mod follow_up;
pub mod health;
pub mod merge_split;
pub mod metrics;
pub mod openapi;
pub mod search;
pub mod tokens;
pub mod transition;
pub mod vehicles;

use std::sync::{atomic::AtomicBool, Arc};

use axum::{
    routing::{get, patch, post},
    Router,
};

use crate::store::Store;
use error::ApiError;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The database.
    pub store: Store,
    /// False until the service is subscribed and serving; `/healthz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
}

/// Every route the API serves, as `(method, path)`; the OpenAPI document lists the same.
pub const ROUTES: [(&str, &str); 16] = [
    ("get", "/healthz"),
    ("get", "/api/cases"),
    ("get", "/api/cases/{id}"),
    ("patch", "/api/cases/{id}"),
    ("post", "/api/cases/{id}/merge"),
    ("post", "/api/cases/{id}/split"),
    ("post", "/api/cases/{id}/transition"),
    ("post", "/api/cases/{id}/message"),
    ("post", "/api/cases/{id}/satisfaction"),
    ("post", "/api/tokens"),
    ("get", "/api/metrics/response-times"),
    ("get", "/metrics"),
    ("get", "/api/feedback/{id}"),
    ("get", "/api/vehicles/{vin}"),
    ("get", "/api/search"),
    ("get", "/api/openapi.json"),
];

/// The API's routes, with JSON errors for unknown paths and methods.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/cases", get(cases::list_cases))
        .route(
            "/api/cases/{id}",
            get(cases::get_case).merge(patch(cases::update_case)),
        )
        .route("/api/cases/{id}/merge", post(merge_split::merge_case))
        .route("/api/cases/{id}/split", post(merge_split::split_case))
        .route(
            "/api/cases/{id}/transition",
            post(transition::transition_case),
        )
        .route(
            "/api/cases/{id}/satisfaction",
            post(follow_up::record_satisfaction),
        )
        .route("/api/cases/{id}/message", post(follow_up::send_update))
        .route("/api/feedback/{id}", get(feedback::get_feedback))
        .route("/api/vehicles/{vin}", get(vehicles::get_vehicle))
        .route("/api/search", get(search::search))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/api/tokens", post(tokens::create_token))
        .route("/api/metrics/response-times", get(metrics::response_times))
        .route("/metrics", get(metrics::prometheus))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::require_token,
        ))
        .fallback(|| async { ApiError::NotFound("route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}
