//! The API and the web UI served in-process on a free port over a real
//! SQLite store, and a signed-in browser-like client for the UI's HTML
//! tests (included with `mod ui_support;`). Pages are parsed with `scraper`.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
};

use cloud_triage::{
    api::{router, ApiState},
    store::{access::Role, Store},
};
use reqwest::{header, redirect::Policy, StatusCode};
use scraper::{Html, Selector};

/// A running API + UI with its store.
pub struct ServedUi {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The store behind it.
    pub store: Store,
    /// Keeps the database directory alive.
    pub dir: tempfile::TempDir,
}

/// Serves the API and the UI over a fresh SQLite store, with an empty
/// in-memory knowledge index.
pub async fn serve_ui() -> ServedUi {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("ui.db").display());
    let store = Store::connect(&db_url).await.unwrap();
    serve_ui_on(store, dir, None).await
}

/// Serves the API and the UI over `store`; `index` is the knowledge index
/// (an empty in-memory one when `None`).
pub async fn serve_ui_on(
    store: Store,
    dir: tempfile::TempDir,
    index: Option<Arc<qloop_knowledge::KnowledgeIndex>>,
) -> ServedUi {
    let state = ApiState {
        store: store.clone(),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let index =
        index.unwrap_or_else(|| Arc::new(qloop_knowledge::KnowledgeIndex::in_memory().unwrap()));
    let app = router(state.clone())
        .merge(cloud_triage::ui::router(state))
        .layer(axum::Extension(index));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ServedUi {
        base: format!("http://{addr}"),
        store,
        dir,
    }
}

/// A client that does not follow redirects (so tests see the 303s).
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.to_string())
}

/// The cookie's value from a `Set-Cookie` header line.
pub fn cookie_pair_value(line: &str) -> String {
    line.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// A signed-in person: the session cookie and the CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The service.
    pub base: String,
    /// `qloop_session=…`.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The token's name (the actor in case history).
    pub name: String,
    client: reqwest::Client,
}

/// A page as fetched: status, headers and parsed HTML.
pub struct Page {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: header::HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The parsed document.
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// The texts of every element matching `css`, whitespace collapsed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap();
        self.html()
            .select(&selector)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        let selector = Selector::parse(css).unwrap();
        self.html().select(&selector).count()
    }

    /// The attribute `attr` of every element matching `css`.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap();
        self.html()
            .select(&selector)
            .filter_map(|e| e.value().attr(attr).map(str::to_string))
            .collect()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

async fn page(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// Signs in with a new token of `role` named `name` through the sign-in form.
pub async fn sign_in(ui: &ServedUi, role: Role, name: &str) -> Browser {
    let token = ui.store.create_token(role, name, 1).await.unwrap();
    sign_in_with_token(ui, &token, name).await
}

/// Signs in with `token` through `GET` and `POST /ui/login`.
pub async fn sign_in_with_token(ui: &ServedUi, token: &str, name: &str) -> Browser {
    let client = plain_client();
    let form = client
        .get(format!("{}/ui/login", ui.base))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let login_csrf =
        cookie_pair_value(&set_cookie(&form, "qloop_login_csrf").expect("a login CSRF cookie"));
    let response = client
        .post(format!("{}/ui/login", ui.base))
        .header(header::COOKIE, format!("qloop_login_csrf={login_csrf}"))
        .form(&[("token", token), ("csrf", login_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in redirects"
    );
    let session =
        cookie_pair_value(&set_cookie(&response, "qloop_session").expect("a session cookie"));
    let csrf = ui
        .store
        .ui_session(&session, cloud_triage::now_ms())
        .await
        .unwrap()
        .expect("the session exists")
        .csrf;
    Browser {
        base: ui.base.clone(),
        cookie: format!("qloop_session={session}"),
        csrf,
        name: name.to_string(),
        client,
    }
}

impl Browser {
    /// `GET path` as a full page.
    pub async fn get(&self, path: &str) -> Page {
        page(
            self.client
                .get(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `GET path` as htmx asks for it (the partial template).
    pub async fn get_htmx(&self, path: &str) -> Page {
        page(
            self.client
                .get(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .header("HX-Request", "true")
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST path` with a form body and the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        self.post_raw(path, &fields).await
    }

    /// `POST path` as htmx sends it (CSRF token in `X-CSRF-Token`).
    pub async fn post_htmx(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(
            self.client
                .post(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .header("HX-Request", "true")
                .header("X-CSRF-Token", &self.csrf)
                .form(fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST path` with exactly `fields` (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(
            self.client
                .post(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .form(fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// `GET path` with no session.
pub async fn get_anonymous(base: &str, path: &str) -> Page {
    page(
        plain_client()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Opens a case from one feedback triaged `severity` in `brakes`, naming
/// `hazard`, on embedding axis `n` (its own case, from car number `n`);
/// the case number.
pub async fn triaged_case(store: &Store, n: usize, severity: &str, hazard: Option<&str>) -> i64 {
    let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
    vector[n] = 1.0;
    let assessment = cloud_triage::triage::Assessment {
        category: "brakes".into(),
        department: None,
        severity: severity.into(),
        severity_reasons: vec!["text: brake failure".into()],
        hazard: hazard.map(str::to_string),
        confidence: 0.9,
        model_version: "test-model".into(),
        vector: Some(vector),
    };
    let at = cloud_triage::now_ms();
    let vin = format!("5YJ3E1EA7KF4{n:05}");
    let env = qloop_protocol::testing::EnvelopeBuilder::new(&vin, "the pedal sank", at).build();
    let meta = cloud_triage::store::IngestMeta {
        received_at_ms: at,
        envelope_bytes: 500,
        asr: None,
        audio: cloud_triage::store::AudioState::None,
    };
    let policy = cloud_triage::policy::Policy::default();
    let triaged = cloud_triage::app::ingest::Triaged {
        assessment: &assessment,
        matches: &[],
        policy: &policy,
    };
    store
        .ingest_triaged_feedback(&env, &meta, Some(triaged))
        .await
        .unwrap()
        .case_id
}
