//! The sign-in pages: `GET`/`POST /ui/login` (an API token), the one-time
//! link's page `GET`/`POST /ui/login/link`, and `POST /ui/logout`. The forms
//! before a session exists carry a double-submit CSRF cookie; see
//! [`super::session`] for the session itself.

use axum::{
    extract::{Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension,
};
use serde::Deserialize;

use super::{
    page::{render, UiError},
    session::{cookie_value, over_tls, same_secret, set_cookie, LOGIN_CSRF_COOKIE, SESSION_COOKIE},
};
use crate::{
    api::ApiState,
    now_ms,
    store::ui_sessions::{secret, NewSession, UiSession, SESSION_TTL_MS},
};

/// The sign-in page.
#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    error: Option<&'a str>,
}

/// The one-time link's page.
#[derive(askama::Template)]
#[template(path = "login_link.html")]
struct LinkPage<'a> {
    csrf: &'a str,
    code: &'a str,
    error: Option<&'a str>,
}

/// Query of `GET /ui/login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in.
    pub next: Option<String>,
}

/// A page with a fresh double-submit CSRF cookie.
fn with_login_csrf(
    headers: &HeaderMap,
    status: StatusCode,
    draw: impl Fn(&str) -> Response,
) -> Response {
    let csrf = secret();
    let mut response = draw(&csrf);
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, over_tls(headers)),
    );
    response
}

/// Only UI paths on this site are places to go after signing in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/ui/cases",
    }
}

/// `GET /ui/login`.
pub async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref()).to_string();
    with_login_csrf(&headers, StatusCode::OK, |csrf| {
        render(&LoginPage {
            csrf,
            next: &next,
            error: None,
        })
    })
}

/// Body of `POST /ui/login`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// An API token.
    pub token: String,
    /// The double-submit CSRF token.
    pub csrf: String,
    /// Where to go after.
    pub next: Option<String>,
}

fn login_csrf_ok(headers: &HeaderMap, field: &str) -> bool {
    cookie_value(headers, LOGIN_CSRF_COOKIE).is_some_and(|c| same_secret(&c, field))
}

/// Redirects to `to` with the new session's cookie set.
fn signed_in(headers: &HeaderMap, new: &NewSession, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let secure = over_tls(headers);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &new.id, SESSION_TTL_MS / 1000, secure),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
    );
    response
}

/// `POST /ui/login`: a valid token opens a session and goes on to the cases
/// (or where the person was going).
pub async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    let next = safe_next(form.next.as_deref()).to_string();
    let again = |status: StatusCode, message: &'static str| {
        with_login_csrf(&headers, status, |csrf| {
            render(&LoginPage {
                csrf,
                next: &next,
                error: Some(message),
            })
        })
    };
    if !login_csrf_ok(&headers, &form.csrf) {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "The sign-in form was stale; try again.",
        ));
    }
    match state.store.open_ui_session(&form.token, now_ms()).await? {
        Some(new) => Ok(signed_in(&headers, &new, &next)),
        None => Ok(again(
            StatusCode::UNAUTHORIZED,
            "That token is unknown or revoked.",
        )),
    }
}

/// Query of `GET /ui/login/link`.
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    /// The link's one-time code.
    pub code: Option<String>,
}

/// `GET /ui/login/link?code=…`: one button that uses the link.
pub async fn link_page(headers: HeaderMap, Query(q): Query<LinkQuery>) -> Response {
    let code = q.code.unwrap_or_default();
    with_login_csrf(&headers, StatusCode::OK, |csrf| {
        render(&LinkPage {
            csrf,
            code: &code,
            error: None,
        })
    })
}

/// Body of `POST /ui/login/link`.
#[derive(Debug, Deserialize)]
pub struct LinkForm {
    /// The link's code.
    pub code: String,
    /// The double-submit CSRF token.
    pub csrf: String,
}

/// `POST /ui/login/link`: the code, once and in time, opens a session.
pub async fn redeem_link(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Result<Response, UiError> {
    let again = |status: StatusCode, message: &'static str| {
        with_login_csrf(&headers, status, |csrf| {
            render(&LinkPage {
                csrf,
                code: &form.code,
                error: Some(message),
            })
        })
    };
    if !login_csrf_ok(&headers, &form.csrf) {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "The page was stale; try again.",
        ));
    }
    match state.store.redeem_login_link(&form.code, now_ms()).await? {
        Some(new) => Ok(signed_in(&headers, &new, "/ui/cases")),
        None => Ok(again(
            StatusCode::UNAUTHORIZED,
            "This sign-in link is unknown, used or expired; ask for a new one (cloud-triage login-link).",
        )),
    }
}

/// `POST /ui/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Extension(_session): Extension<UiSession>,
) -> Result<Response, UiError> {
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        state.store.end_ui_session(&id, now_ms()).await?;
    }
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, over_tls(&headers)),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ui_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/ui/cases/7")), "/ui/cases/7");
        assert_eq!(safe_next(Some("https://evil.example/")), "/ui/cases");
        assert_eq!(safe_next(Some("//evil.example/ui/")), "/ui/cases");
        assert_eq!(safe_next(Some("/ui/\\evil")), "/ui/cases");
        assert_eq!(safe_next(None), "/ui/cases");
    }
}
