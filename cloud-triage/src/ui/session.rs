//! Sessions, CSRF and roles for the web UI (the sign-in pages themselves are
//! in [`super::login`]).
//!
//! - `GET /ui/login` shows a form whose field `token` takes an API token;
//!   `POST /ui/login` opens a session and sets the `qloop_session` cookie
//!   (HttpOnly, SameSite=Strict, Path=/, Secure when the request came over
//!   TLS, i.e. with `X-Forwarded-Proto: https` from the proxy in front).
//! - `cloud-triage login-link` prints `/ui/login/link?code=…`: the page asks
//!   for one click (so a link scanner that fetches URLs cannot use up the
//!   code), and the POST redeems the code once, within 10 minutes.
//! - Every other UI route needs a session ([`require_session`]): a browser
//!   without one is sent to the sign-in page, an htmx request gets 401 with
//!   `HX-Redirect`. The role check is the API's: each UI route stands for
//!   an API route ([`api_route_of`]) and [`allowed_roles`] decides.
//! - Every POST carries the session's CSRF token, in the `csrf` form field
//!   or the `X-CSRF-Token` header htmx sends; the sign-in forms, which come
//!   before any session, use a double-submit cookie instead.

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::page::{error_page, UiError};
use crate::{
    api::{access::allowed_roles, ApiState},
    now_ms,
    store::access::Role,
};

/// The session cookie.
pub const SESSION_COOKIE: &str = "qloop_session";
/// The sign-in forms' double-submit CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "qloop_login_csrf";
/// The largest form body the CSRF check reads.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The API route `(method, path)` a UI route stands for, so the API's role
/// rule decides who may use it; `None` for routes every signed-in person
/// may use (signing out).
pub fn api_route_of(method: &Method, ui_path: &str) -> Option<(&'static str, String)> {
    let path = ui_path.strip_prefix("/ui").unwrap_or(ui_path);
    match (method.as_str(), path) {
        ("POST", "/logout") => None,
        // HTML forms can only POST: the 8D and routing form is the API's PATCH.
        ("POST", "/cases/{id}") => Some(("PATCH", "/api/cases/{id}".into())),
        ("POST", "/cases/bulk-merge") => Some(("POST", "/api/cases/{id}/merge".into())),
        ("GET", _) => Some(("GET", format!("/api{path}"))),
        ("POST", _) => Some(("POST", format!("/api{path}"))),
        (_, _) => Some(("POST", format!("/api{path}"))),
    }
}

/// Whether `role` may use the API route `(method, api_path)`.
pub fn role_may(role: Role, method: &str, api_path: &str) -> bool {
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST);
    allowed_roles(&method, api_path).is_none_or(|roles| roles.contains(&role))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Whether the request reached the proxy in front over TLS.
pub(super) fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/; Secure over TLS.
pub(super) fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let cookie = cookie::Cookie::build((name, value))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are hex")
}

/// Compares two secrets without stopping at the first difference.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Requires a session on every signed-in route: checks the role against
/// the API's rule and, on a POST, the CSRF token; hands on the session.
pub async fn require_session(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Result<Response, UiError> {
    let session = match cookie_value(request.headers(), SESSION_COOKIE) {
        Some(id) => state.store.ui_session(&id, now_ms()).await?,
        None => None,
    };
    let Some(session) = session else {
        return Ok(sign_in_first(&request));
    };
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if let Some((method, api_path)) = api_route_of(request.method(), &path) {
        if !role_may(session.caller.role, method, &api_path) {
            return Ok(error_page(
                StatusCode::FORBIDDEN,
                &format!(
                    "A {} may not do this (the API's rule for {method} {api_path}).",
                    session.caller.role.as_str()
                ),
            ));
        }
    }
    let mut request = if request.method() == Method::GET || request.method() == Method::HEAD {
        request
    } else {
        match check_csrf(request, &session.csrf).await {
            Ok(request) => request,
            Err(response) => return Ok(response),
        }
    };
    request.extensions_mut().insert(session);
    Ok(next.run(request).await)
}

/// Where a request without a session goes: the sign-in page (back here
/// after), or for htmx a 401 that tells it to go there.
fn sign_in_first(request: &Request) -> Response {
    // Inside `nest("/ui")` the request's URI has lost its prefix; the
    // original one is where the person was going.
    let next = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(request.uri(), |o| &o.0)
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/ui/cases".into());
    let to = format!(
        "/ui/login?{}",
        serde_urlencoded::to_string([("next", &next)]).unwrap_or_default()
    );
    if super::is_htmx(request.headers()) {
        let mut response = (StatusCode::UNAUTHORIZED, "sign in first").into_response();
        if let Ok(v) = HeaderValue::from_str(&to) {
            response.headers_mut().insert("hx-redirect", v);
        }
        return response;
    }
    if request.method() == Method::GET {
        return Redirect::to(&to).into_response();
    }
    error_page(
        StatusCode::UNAUTHORIZED,
        "Your session has ended; sign in again.",
    )
}

/// Checks a POST's CSRF token (header, or the `csrf` field of a form body)
/// and gives the request back with its body intact.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    let refuse = || {
        error_page(
            StatusCode::FORBIDDEN,
            "The form's security token is missing or stale; reload the page and try again.",
        )
    };
    if let Some(token) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if same_secret(token, expected) {
            Ok(request)
        } else {
            Err(refuse())
        };
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
    let token = serde_urlencoded_field(&bytes, "csrf");
    if !token.is_some_and(|t| same_secret(&t, expected)) {
        return Err(refuse());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The value of field `name` in a urlencoded body.
fn serde_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ui_action_is_judged_by_the_api_route_it_stands_for() {
        let post = Method::POST;
        assert_eq!(
            api_route_of(&post, "/ui/cases/{id}/transition"),
            Some(("POST", "/api/cases/{id}/transition".into()))
        );
        assert_eq!(
            api_route_of(&post, "/ui/cases/{id}"),
            Some(("PATCH", "/api/cases/{id}".into()))
        );
        assert_eq!(api_route_of(&post, "/ui/logout"), None);
        assert!(!role_may(
            Role::Operator,
            "POST",
            "/api/cases/{id}/transition"
        ));
        assert!(role_may(
            Role::Operator,
            "POST",
            "/api/cases/{id}/satisfaction"
        ));
        assert!(role_may(Role::Engineer, "PATCH", "/api/cases/{id}"));
        assert!(role_may(Role::Operator, "GET", "/api/cases/{id}"));
    }

    #[test]
    fn a_csrf_field_is_found_in_a_form_body() {
        assert_eq!(
            serde_urlencoded_field(b"a=1&csrf=abc%20d", "csrf").as_deref(),
            Some("abc d")
        );
        assert_eq!(serde_urlencoded_field(b"a=1", "csrf"), None);
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abc", "abcd"));
    }
}
