//! The API served in-process on a free port over a real SQLite store, and
//! helpers for real HTTP requests against it (included with `mod api_support;`).
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
};

use cloud_triage::{
    api::{router, ApiState},
    store::{AudioState, IngestMeta, Store},
};
use qloop_protocol::{testing::EnvelopeBuilder, FeedbackEnvelope, TriggerKind};
use serde_json::Value;

use cloud_triage::store::access::Role;

/// Each served API's admin token by base URL, so plain helpers can authenticate.
static TOKENS: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Registers the token `get` and `client_for` send to the API at `base`.
pub fn register_token(base: &str, token: &str) {
    TOKENS
        .lock()
        .unwrap()
        .insert(base.to_string(), token.to_string());
}

/// A client that sends the admin token of the API `url` belongs to.
pub fn client_for(url: &str) -> reqwest::Client {
    let token = TOKENS
        .lock()
        .unwrap()
        .iter()
        .find(|(base, _)| url.starts_with(base.as_str()))
        .map(|(_, t)| t.clone());
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(t) = token {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {t}").parse().unwrap(),
        );
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The VIN of every test envelope.
pub const VIN: &str = "5YJ3E1EA7KF317000";

/// A running API with its store.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The store behind it.
    pub store: Store,
    /// Its readiness flag.
    pub ready: Arc<AtomicBool>,
    /// The SQLite URL, for a second connection.
    pub db_url: String,
    /// An admin token for it.
    pub token: String,
    /// Keeps the database directory alive.
    _dir: tempfile::TempDir,
}

/// Serves the API over a fresh SQLite store; `ready` sets the readiness flag.
pub async fn serve(ready: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display());
    let store = Store::connect(&db_url).await.unwrap();
    let ready = Arc::new(AtomicBool::new(ready));
    let app = router(ApiState {
        store: store.clone(),
        ready: ready.clone(),
    })
    .layer(axum::Extension(Arc::new(
        qloop_knowledge::KnowledgeIndex::in_memory().unwrap(),
    )));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}");
    let token = store
        .create_token(Role::Admin, "test admin", 1)
        .await
        .unwrap();
    TOKENS.lock().unwrap().insert(base.clone(), token.clone());
    Served {
        base,
        store,
        ready,
        db_url,
        token,
        _dir: dir,
    }
}

/// A valid envelope with one signal, saying `text` if given.
pub fn envelope(text: Option<&str>) -> FeedbackEnvelope {
    let t = 1_717_000_000_000;
    let built = EnvelopeBuilder::new(VIN, text.unwrap_or_default(), t)
        .trigger(TriggerKind::Hmi)
        .speed(&[(t, 88.0)]);
    match text {
        Some(_) => built.build(),
        None => built.without_utterance().build(),
    }
}

/// Ingests a new feedback; returns its id and case number.
pub async fn ingest(store: &Store, text: Option<&str>) -> (uuid::Uuid, i64) {
    let env = envelope(text);
    let meta = IngestMeta {
        received_at_ms: 1_717_000_001_000,
        envelope_bytes: 500,
        asr: None,
        audio: AudioState::None,
    };
    (
        env.feedback_id,
        store.ingest_feedback(&env, &meta).await.unwrap().case_id,
    )
}

/// GETs `url`, asserting a JSON answer; returns status and body.
pub async fn get(url: String) -> (u16, Value) {
    let response = client_for(&url).get(&url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "every answer is JSON"
    );
    (status, response.json().await.unwrap())
}

/// Asserts an error body with `code` and a non-empty message; returns the message.
pub fn error_message(body: &Value, code: &str) -> String {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    assert!(!message.is_empty());
    message
}
