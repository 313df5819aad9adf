//! The web UI's front door: sign-in with a token or a one-time link, the
//! session cookie's attributes, sign-out, CSRF on every POST, the security
//! headers on every page, and that a page without a session sends the
//! person to sign in (htmx gets a 401 with `HX-Redirect`).

mod ui_support;

use cloud_triage::store::access::Role;
use reqwest::{header, StatusCode};
use ui_support::{
    cookie_pair_value, get_anonymous, plain_client, serve_ui, set_cookie, sign_in,
    sign_in_with_token,
};

#[tokio::test]
async fn a_page_without_a_session_sends_the_person_to_sign_in_and_back() {
    let ui = serve_ui().await;
    let page = get_anonymous(&ui.base, "/ui/cases?status=new").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/ui/login?next=%2Fui%2Fcases%3Fstatus%3Dnew")
    );
    let htmx = plain_client()
        .get(format!("{}/ui/cases", ui.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(htmx.status(), StatusCode::UNAUTHORIZED);
    assert!(htmx.headers()["hx-redirect"]
        .to_str()
        .unwrap()
        .starts_with("/ui/login?next="));
    let root = get_anonymous(&ui.base, "/").await;
    assert_eq!(root.header("location").as_deref(), Some("/ui/cases"));
}

#[tokio::test]
async fn the_sign_in_form_takes_a_token_and_sets_a_strict_http_only_cookie() {
    let ui = serve_ui().await;
    let form = get_anonymous(&ui.base, "/ui/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        form.count("form[action='/ui/login'] input[name='token']"),
        1
    );
    assert_eq!(form.count("label[for='token']"), 1, "the field is labelled");

    let token = ui
        .store
        .create_token(Role::Engineer, "erin", 1)
        .await
        .unwrap();
    let client = plain_client();
    let page = client
        .get(format!("{}/ui/login", ui.base))
        .send()
        .await
        .unwrap();
    let login_csrf = cookie_pair_value(&set_cookie(&page, "qloop_login_csrf").unwrap());
    let signed = client
        .post(format!("{}/ui/login", ui.base))
        .header(header::COOKIE, format!("qloop_login_csrf={login_csrf}"))
        .form(&[
            ("token", token.as_str()),
            ("csrf", login_csrf.as_str()),
            ("next", "/ui/search?q=brakes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed.headers()["location"], "/ui/search?q=brakes");
    let cookie = set_cookie(&signed, "qloop_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");

    // Behind a TLS proxy the cookie is Secure.
    let page = client
        .get(format!("{}/ui/login", ui.base))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let login_csrf = cookie_pair_value(&set_cookie(&page, "qloop_login_csrf").unwrap());
    let signed = client
        .post(format!("{}/ui/login", ui.base))
        .header(header::COOKIE, format!("qloop_login_csrf={login_csrf}"))
        .header("X-Forwarded-Proto", "https")
        .form(&[("token", token.as_str()), ("csrf", login_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&signed, "qloop_session")
        .unwrap()
        .contains("Secure"));
    assert_eq!(signed.headers()["location"], "/ui/cases");
}

#[tokio::test]
async fn a_wrong_token_or_a_stale_form_is_refused_with_the_reason() {
    let ui = serve_ui().await;
    let client = plain_client();
    let page = client
        .get(format!("{}/ui/login", ui.base))
        .send()
        .await
        .unwrap();
    let login_csrf = cookie_pair_value(&set_cookie(&page, "qloop_login_csrf").unwrap());
    let wrong = client
        .post(format!("{}/ui/login", ui.base))
        .header(header::COOKIE, format!("qloop_login_csrf={login_csrf}"))
        .form(&[("token", "qlp_nope"), ("csrf", login_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "qloop_session").is_none());
    assert!(wrong.text().await.unwrap().contains("unknown or revoked"));

    let token = ui.store.create_token(Role::Admin, "ada", 1).await.unwrap();
    let forged = client
        .post(format!("{}/ui/login", ui.base))
        .form(&[("token", token.as_str()), ("csrf", login_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "without the matching cookie the form is a cross-site post"
    );
    assert!(set_cookie(&forged, "qloop_session").is_none());
}

#[tokio::test]
async fn a_login_link_signs_in_once_within_ten_minutes() {
    let ui = serve_ui().await;
    let now = cloud_triage::now_ms();
    let code = ui
        .store
        .create_login_link(Role::Operator, "olga", now)
        .await
        .unwrap();
    let client = plain_client();
    let use_link = |code: String| {
        let client = client.clone();
        let base = ui.base.clone();
        async move {
            let page = client
                .get(format!("{base}/ui/login/link?code={code}"))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), StatusCode::OK, "the GET only shows a button");
            let csrf = cookie_pair_value(&set_cookie(&page, "qloop_login_csrf").unwrap());
            client
                .post(format!("{base}/ui/login/link"))
                .header(header::COOKIE, format!("qloop_login_csrf={csrf}"))
                .form(&[("code", code.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let first = use_link(code.clone()).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let session = cookie_pair_value(&set_cookie(&first, "qloop_session").unwrap());
    let signed = ui.store.ui_session(&session, now).await.unwrap().unwrap();
    assert_eq!(signed.caller.name, "olga");
    assert_eq!(signed.caller.role, Role::Operator);

    let again = use_link(code).await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a link works once"
    );
    assert!(set_cookie(&again, "qloop_session").is_none());

    let old = ui
        .store
        .create_login_link(Role::Engineer, "late", now - 11 * 60_000)
        .await
        .unwrap();
    assert_eq!(
        use_link(old).await.status(),
        StatusCode::UNAUTHORIZED,
        "a link expires after 10 minutes"
    );
}

#[tokio::test]
async fn signing_out_or_revoking_the_token_ends_the_session() {
    let ui = serve_ui().await;
    let browser = sign_in(&ui, Role::Engineer, "erin").await;
    assert_eq!(browser.get("/ui/cases").await.status, StatusCode::OK);
    let out = browser.post("/ui/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/ui/cases").await.status, StatusCode::SEE_OTHER);

    let token = ui
        .store
        .create_token(Role::Engineer, "rita", 1)
        .await
        .unwrap();
    let browser = sign_in_with_token(&ui, &token, "rita").await;
    assert_eq!(browser.get("/ui/cases").await.status, StatusCode::OK);
    ui.store.revoke_tokens("rita", 2).await.unwrap();
    assert_eq!(
        browser.get("/ui/cases").await.status,
        StatusCode::SEE_OTHER,
        "a revoked token's session no longer works"
    );
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let ui = serve_ui().await;
    let browser = sign_in(&ui, Role::Engineer, "erin").await;
    let none = browser.post_raw("/ui/logout", &[]).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    let wrong = browser
        .post_raw("/ui/logout", &[("csrf", "0".repeat(64).as_str())])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.body.contains("security token"));
    // The session survived both attempts.
    assert_eq!(browser.get("/ui/cases").await.status, StatusCode::OK);
    // htmx sends the token in a header instead.
    assert_eq!(
        browser.post_htmx("/ui/logout", &[]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_no_inline_script() {
    let ui = serve_ui().await;
    let browser = sign_in(&ui, Role::Operator, "olga").await;
    for path in [
        "/ui/login",
        "/ui/cases",
        "/ui/search",
        "/ui/dashboard",
        "/ui/no-such-page",
    ] {
        let page = if path == "/ui/login" {
            get_anonymous(&ui.base, path).await
        } else {
            browser.get(path).await
        };
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(
            page.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        for script in page
            .html()
            .select(&scraper::Selector::parse("script").unwrap())
        {
            assert!(
                script.value().attr("src").is_some(),
                "{path}: every script is a file from this origin"
            );
            assert!(
                script.text().all(|t| t.trim().is_empty()),
                "{path}: no inline script"
            );
        }
        assert_eq!(page.count("[style]"), 0, "{path}: no inline style");
    }
    let missing = browser.get("/ui/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn the_static_files_are_served_from_the_binary() {
    let ui = serve_ui().await;
    let htmx = get_anonymous(&ui.base, "/ui/static/vendor/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status, StatusCode::OK);
    assert!(htmx
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(htmx.header("cache-control").unwrap().contains("immutable"));
    assert!(htmx.body.contains("htmx"));
    let css = get_anonymous(&ui.base, "/ui/static/qloop.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        get_anonymous(&ui.base, "/ui/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_chrome_names_who_is_signed_in_and_marks_the_current_section() {
    let ui = serve_ui().await;
    let browser = sign_in(&ui, Role::Operator, "olga <ops>").await;
    let page = browser.get("/ui/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let who = page.texts("header .who span");
    assert_eq!(
        who,
        vec!["olga <ops> (operator)"],
        "the name is escaped text"
    );
    assert_eq!(
        page.attrs("nav a[aria-current='page']", "href"),
        vec!["/ui/dashboard"]
    );
    assert!(
        !page.body.contains("<ops>"),
        "the angle brackets are escaped, not markup"
    );
}
