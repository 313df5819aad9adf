//! The web UI for quality engineers and operators, served by `serve` at
//! `/ui/`: server-rendered pages (askama templates, HTML-escaped by default)
//! with htmx for partial updates, static files embedded in the binary.
//!
//! Each view has a full template (extends `base.html`) and a partial one
//! (the part htmx swaps); the handler picks by the `HX-Request` header
//! ([`Htmx`]). Pages read through the same read models as the API
//! ([`crate::views`]) and change cases only through the use cases in
//! [`crate::app`]; who may do what is the API's rule
//! ([`crate::api::access::allowed_roles`]), looked up for the API route an
//! action stands for ([`session::api_route_of`]).
//!
//! # Layout
//! - [`session`]: the session cookie, CSRF, roles on every signed-in route.
//! - [`login`]: sign-in (token or one-time link) and sign-out.
//! - [`assets`]: the embedded static files (`cloud-triage/static/`).
//! - [`page`]: the chrome every page shares, the HTML error page, the
//!   security headers (CSP without inline script, `X-Frame-Options: DENY`).
//! - [`format`]: times, durations and SLA badges as the pages print them.
//! - [`cases`]: `/ui/cases`, the filtered case list with bulk merge.
//! - [`case`]: `/ui/cases/{id}`, one case worked through its 8D lifecycle.
//! - [`audio`]: `/ui/feedback/{id}/audio`, the clip with HTTP Range.
//! - [`search`]: `/ui/search` and `/ui/known-issues/{id}`.
//! - [`dashboard`]: `/ui/dashboard` and the monthly report downloads.

pub mod assets;
pub mod audio;
pub mod case;
pub mod cases;
pub mod dashboard;
pub mod format;
pub mod login;
pub mod page;
pub mod search;
pub mod session;

use axum::{http::HeaderMap, response::Redirect, routing::get, Router};

use crate::api::ApiState;

/// The UI's routes: `/` redirects to the case list, everything else is
/// under `/ui/`. Merge with [`crate::api::router`].
pub fn router(state: ApiState) -> Router {
    let signed_in = Router::new()
        .merge(cases::routes())
        .merge(case::routes())
        .merge(audio::routes())
        .merge(search::routes())
        .merge(dashboard::routes())
        .route("/logout", axum::routing::post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::require_session,
        ));
    let ui = Router::new()
        .route("/", get(|| async { Redirect::to("/ui/cases") }))
        .route("/login", get(login::login_page).post(login::login))
        .route(
            "/login/link",
            get(login::link_page).post(login::redeem_link),
        )
        .route("/static/{*path}", get(assets::serve))
        .merge(signed_in)
        .fallback(page::not_found)
        .layer(axum::middleware::from_fn(page::security_headers))
        .with_state(state);
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/cases") }))
        .nest("/ui", ui)
}

/// Whether a request came from htmx (it wants the partial template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Htmx(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Htmx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(is_htmx(&parts.headers)))
    }
}

/// True for requests htmx sends (`HX-Request: true`).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|v| v.as_bytes() == b"true")
}
