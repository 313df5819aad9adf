//! What every page shares: the chrome (who is signed in, the CSRF token,
//! the navigation), the HTML error page, and the security headers.

use askama::Template;
use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

use crate::{
    api::error::ApiError,
    store::{access::Role, ui_sessions::UiSession},
};

/// The Content Security Policy of every UI response: scripts and styles
/// only from this origin (no inline script, no `eval`: htmx runs with
/// `allowEval: false`), media and fetches only from here, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every UI response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A login link's code is in its URL: never send it on as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The case list and cases.
    Cases,
    /// Search and known issues.
    Search,
    /// The operators' dashboard.
    Dashboard,
}

/// The frame of every signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Who is signed in (their token's name).
    pub name: String,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token, put in every form and htmx request.
    pub csrf: String,
    /// The section to mark as current.
    pub section: Section,
}

impl Chrome {
    /// The chrome for `session` on a page of `section`.
    pub fn new(session: &UiSession, section: Section) -> Self {
        Self {
            name: session.caller.name.clone(),
            role: session.caller.role,
            csrf: session.csrf.clone(),
            section,
        }
    }

    /// `aria-current="page"` for the current section's link: `section` is
    /// `cases`, `search` or `dashboard`.
    pub fn current(&self, section: &str) -> &'static str {
        let this = match self.section {
            Section::Cases => "cases",
            Section::Search => "search",
            Section::Dashboard => "dashboard",
        };
        if this == section {
            "page"
        } else {
            "false"
        }
    }

    /// The role's name, e.g. `engineer`.
    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }

    /// Whether this role may do what the API route `(method, path)` does.
    pub fn may(&self, method: &str, api_path: &str) -> bool {
        super::session::role_may(self.role, method, api_path)
    }
}

/// Renders a template, or a 500 page when it cannot be rendered.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a UI template failed to render");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be drawn; see the service log.",
            )
        }
    }
}

/// The HTML error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// An error page with `status` and `message` (the message is escaped).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    let html = page.render().unwrap_or_else(|_| message.to_string());
    (status, Html(html)).into_response()
}

/// A UI handler's failure: the API's error, shown as an HTML page with the
/// same status code and message (internal detail is logged, not shown).
#[derive(Debug)]
pub struct UiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for UiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_code();
        let message = match &self.0 {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "UI request failed");
                "Internal error; see the service log.".to_string()
            }
            other => other.to_string(),
        };
        error_page(status, &message)
    }
}

/// The UI's fallback: an HTML 404.
pub async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "There is no such page.")
}
