//! Webhook delivery (issue 5, "Notifications") against real local receivers
//! (axum on 127.0.0.1:0), with the store on SQLite and on PostgreSQL:
//! - a receiver failing every other request (HTTP 500, or hanging until the
//!   notifier's timeout drops the connection) still gets every event exactly
//!   once, in order per case, signed, with every attempt recorded, even with
//!   two notifiers sharing the database;
//! - a receiver that is down leaves events undelivered with attempts
//!   recorded, only on each case's first event, holds up no other endpoint,
//!   and gets them all once it is up;
//! - an event that keeps failing holds back only its own case, and after
//!   `max_attempts` is given up so the case moves on.
//!
//! Real time with millisecond backoffs: tokio's paused clock auto-advances
//! while a socket or SQLite waits, which would fire request timeouts early.

#[allow(dead_code)]
#[path = "store_suite/support.rs"]
mod support;

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use cloud_triage::{
    notify::{
        backoff_ms, run_notifier, sign, verify_signature, Endpoint, WebhookConfig, KNOWN_KINDS,
    },
    store::{notifications::DeliveryAttempt, Store},
};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection};
use support::TestDb;
use uuid::Uuid;

const SECRET: &str = "0123456789abcdef-secret";
/// The notifier's request timeout; a hanging receiver costs this much.
const TIMEOUT_MS: u64 = 400;

// ---------------------------------------------------------------- events

/// An event as inserted, for comparing with what arrived.
#[derive(Debug, Clone)]
struct Inserted {
    id: Uuid,
    kind: String,
    case_id: Option<i64>,
    created_at_ms: i64,
    payload: Value,
}

/// Inserts a notification event the way `store::linking::notify` does.
async fn insert_event(
    conn: &mut AnyConnection,
    kind: &str,
    case_id: Option<i64>,
    created_at_ms: i64,
    payload: Value,
) -> Inserted {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO notification_events (id, kind, case_id, payload_json, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(kind)
    .bind(case_id)
    .bind(payload.to_string())
    .bind(created_at_ms)
    .execute(&mut *conn)
    .await
    .unwrap();
    Inserted {
        id,
        kind: kind.into(),
        case_id,
        created_at_ms,
        payload,
    }
}

/// `per_case` events for each of `cases` cases, interleaved across cases;
/// every two events of a case share a timestamp, so the id breaks the tie.
async fn insert_events(db: &TestDb, cases: i64, per_case: i64) -> Vec<Inserted> {
    let mut conn = db.raw_connection().await;
    let mut events = Vec::new();
    for i in 0..cases * per_case {
        let case_id = 100 + i % cases;
        let created = 1_717_000_000_000 + (i / (2 * cases)) * 1_000;
        let kind = KNOWN_KINDS[(i as usize) % KNOWN_KINDS.len()];
        let payload = json!({ "case": case_id, "seq": i, "text": "brake noise" });
        events.push(insert_event(&mut conn, kind, Some(case_id), created, payload).await);
    }
    conn.close().await.unwrap();
    events
}

/// Event ids of each case in the order they must arrive: (created_at_ms, id).
fn expected_order(events: &[Inserted]) -> BTreeMap<Option<i64>, Vec<Uuid>> {
    let mut sorted: Vec<&Inserted> = events.iter().collect();
    sorted.sort_by_key(|e| (e.created_at_ms, e.id.to_string()));
    let mut by_case: BTreeMap<Option<i64>, Vec<Uuid>> = BTreeMap::new();
    for e in sorted {
        by_case.entry(e.case_id).or_default().push(e.id);
    }
    by_case
}

// ---------------------------------------------------------------- receiver

/// How a receiver answers.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// 2xx to everything.
    Healthy,
    /// Odd-numbered requests fail: alternately HTTP 500, and no answer
    /// until the notifier's timeout drops the connection.
    FailsEveryOther,
    /// HTTP 500 for this one event, 2xx to the others.
    RejectsEvent(Uuid),
}

/// One acknowledged (2xx) request.
#[derive(Debug, Clone)]
struct Acknowledged {
    delivery_header: String,
    event_header: String,
    signature_valid: bool,
    body: Value,
}

/// What a receiver saw.
#[derive(Debug)]
struct ReceiverState {
    behaviour: Behaviour,
    requests: AtomicU64,
    acknowledged: Mutex<Vec<Acknowledged>>,
}

/// A webhook receiver on a local port.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().unwrap(), behaviour).await
    }

    async fn start_on(addr: SocketAddr, behaviour: Behaviour) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ReceiverState {
            behaviour,
            requests: AtomicU64::new(0),
            acknowledged: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Receiver {
            addr,
            state,
            stop: Some(stop),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn acknowledged(&self) -> Vec<Acknowledged> {
        self.state.acknowledged.lock().unwrap().clone()
    }

    fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let n = state.requests.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    match state.behaviour {
        Behaviour::FailsEveryOther if n % 2 == 1 => {
            if (n / 2) % 2 == 0 {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            // Never answer: the notifier's timeout drops the connection.
            std::future::pending::<()>().await;
        }
        Behaviour::RejectsEvent(id) if header("X-Qloop-Delivery") == id.to_string() => {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        _ => {}
    }
    let timestamp = header("X-Qloop-Timestamp");
    let signature_valid = verify_signature(SECRET, &timestamp, &body, &header("X-Qloop-Signature"));
    state.acknowledged.lock().unwrap().push(Acknowledged {
        delivery_header: header("X-Qloop-Delivery"),
        event_header: header("X-Qloop-Event"),
        signature_valid,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------- notifier

fn endpoint(name: &str, url: String, kinds: Option<&[&str]>) -> Endpoint {
    Endpoint {
        name: name.into(),
        url,
        secret: SECRET.into(),
        kinds: kinds.map(|k| k.iter().map(|s| s.to_string()).collect()),
    }
}

fn config(endpoints: Vec<Endpoint>, max_attempts: u32) -> WebhookConfig {
    WebhookConfig {
        endpoints,
        max_attempts,
        initial_backoff_ms: 10,
        max_backoff_ms: 80,
        timeout_ms: TIMEOUT_MS,
        poll_interval_ms: 20,
    }
}

/// A running notifier; [`Running::stop`] ends it and waits.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

fn start_notifier(store: Store, config: WebhookConfig) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        run_notifier(store, config, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("notifier stops within 10 s")
            .unwrap();
    }
}

/// Polls `check` every 20 ms until it holds, or panics after `secs`.
async fn wait_until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn all_delivered(store: &Store) -> bool {
    store.notification_events(true).await.unwrap().is_empty()
}

// ---------------------------------------------------------------- checks

/// Every event in `events` was acknowledged exactly once (nothing else),
/// with a valid signature and headers matching the body, and each case's
/// events arrived in order.
fn assert_exactly_once_in_order(receiver: &Receiver, events: &[Inserted]) {
    let acknowledged = receiver.acknowledged();
    let mut times: HashMap<String, usize> = HashMap::new();
    for ack in &acknowledged {
        *times.entry(ack.delivery_header.clone()).or_default() += 1;
        assert!(
            ack.signature_valid,
            "bad signature on {}",
            ack.delivery_header
        );
        assert_eq!(ack.body["id"], json!(ack.delivery_header));
        assert_eq!(ack.body["kind"], json!(ack.event_header));
    }
    for event in events {
        assert_eq!(
            times.remove(&event.id.to_string()),
            Some(1),
            "event {} acknowledged exactly once",
            event.id
        );
        let ack = acknowledged
            .iter()
            .find(|a| a.delivery_header == event.id.to_string())
            .unwrap();
        assert_eq!(
            ack.body,
            json!({
                "id": event.id,
                "kind": event.kind,
                "case_id": event.case_id,
                "created_at_ms": event.created_at_ms,
                "payload": event.payload,
            })
        );
    }
    assert!(times.is_empty(), "events nobody inserted: {times:?}");
    for (case, expected) in expected_order(events) {
        let arrived: Vec<Uuid> = acknowledged
            .iter()
            .filter(|a| a.body["case_id"].as_i64() == case)
            .map(|a| a.body["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(arrived, expected, "order of case {case:?}");
    }
}

/// Each event's attempts at `endpoint` are numbered 1..=n, only the last delivered.
fn assert_attempts_numbered(attempts: &[DeliveryAttempt], endpoint: &str, events: &[Inserted]) {
    for event in events {
        let mine: Vec<&DeliveryAttempt> = attempts
            .iter()
            .filter(|a| a.event_id == event.id && a.endpoint == endpoint)
            .collect();
        let numbers: Vec<i64> = mine.iter().map(|a| a.attempt).collect();
        assert_eq!(
            numbers,
            (1..=mine.len() as i64).collect::<Vec<_>>(),
            "{}",
            event.id
        );
        let (last, failed) = mine.split_last().expect("at least one attempt");
        assert!(last.delivered && last.error.is_none(), "{last:?}");
        for attempt in failed {
            assert!(!attempt.delivered && attempt.error.is_some(), "{attempt:?}");
        }
    }
}

// ---------------------------------------------------------------- behaviours

async fn every_event_is_delivered_once_in_order_despite_a_receiver_failing_half_the_time(
    db: &TestDb,
) {
    let mut events = insert_events(db, 6, 10).await;
    let mut conn = db.raw_connection().await;
    for i in 0..2 {
        let at = 1_717_000_000_500 + i;
        events.push(insert_event(&mut conn, "emerging_issue", None, at, json!({"i": i})).await);
    }
    conn.close().await.unwrap();
    let flaky = Receiver::start(Behaviour::FailsEveryOther).await;
    let escalations = Receiver::start(Behaviour::Healthy).await;
    let endpoints = vec![
        endpoint("flaky", flaky.url(), None),
        endpoint("escalations", escalations.url(), Some(&["escalated"])),
    ];
    // Two notifiers, each with its own pool, share the database.
    let second_store = Store::connect(&db.url).await.unwrap();
    let first = start_notifier(db.store.clone(), config(endpoints.clone(), 200));
    let second = start_notifier(second_store.clone(), config(endpoints, 200));
    wait_until(90, "every event delivered", || all_delivered(&db.store)).await;
    first.stop().await;
    second.stop().await;
    second_store.close().await;

    assert_exactly_once_in_order(&flaky, &events);
    let escalated: Vec<Inserted> = events
        .iter()
        .filter(|e| e.kind == "escalated")
        .cloned()
        .collect();
    assert_exactly_once_in_order(&escalations, &escalated);

    // Half the requests failed, and every request is an attempt on record.
    let attempts = db.store.webhook_attempts(Some("flaky")).await.unwrap();
    assert!(
        flaky.requests() >= 2 * events.len() as u64 - 1,
        "{}",
        flaky.requests()
    );
    assert_eq!(attempts.len() as u64, flaky.requests());
    assert!(attempts.iter().any(|a| a.http_status == Some(500)));
    assert!(attempts.iter().any(|a| a
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("timed out"))));
    assert_attempts_numbered(&attempts, "flaky", &events);
    let stored = db.store.notification_events(false).await.unwrap();
    assert!(stored.iter().all(|e| e.delivered_at_ms.is_some()));
    for entry in db.store.webhook_queue("escalations").await.unwrap() {
        let kind = &events.iter().find(|e| e.id == entry.event_id).unwrap().kind;
        let want = if kind == "escalated" {
            "delivered"
        } else {
            "skipped"
        };
        assert_eq!(entry.state, want, "{kind}");
    }
}

async fn a_receiver_that_is_down_gets_every_event_once_it_comes_back(db: &TestDb) {
    let events = insert_events(db, 3, 4).await;
    // A free port with nothing listening: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{port}/hook");
    // A second endpoint that is up meanwhile.
    let mirror = Receiver::start(Behaviour::Healthy).await;
    let endpoints = vec![
        endpoint("board", url, None),
        endpoint("mirror", mirror.url(), None),
    ];
    let running = start_notifier(db.store.clone(), config(endpoints, 1_000));
    let heads: Vec<Uuid> = expected_order(&events).values().map(|ids| ids[0]).collect();
    wait_until(30, "two attempts on each case's first event", || async {
        let queue = db.store.webhook_queue("board").await.unwrap();
        heads
            .iter()
            .all(|h| queue.iter().any(|q| q.event_id == *h && q.attempts >= 2))
    })
    .await;
    wait_until(30, "the mirror has every event", || async {
        mirror.acknowledged().len() == events.len()
    })
    .await;
    // The endpoint that is down holds up nobody else.
    assert_exactly_once_in_order(&mirror, &events);
    let queue = db.store.webhook_queue("board").await.unwrap();
    assert_eq!(queue.len(), events.len());
    for entry in &queue {
        assert_eq!(entry.state, "pending");
        if heads.contains(&entry.event_id) {
            let error = entry.last_error.as_deref().unwrap_or_default();
            assert!(error.starts_with("connect failed"), "{error}");
        } else {
            assert_eq!(
                entry.attempts, 0,
                "later events of a case wait for the first"
            );
        }
    }
    // Not delivered until every endpoint has it.
    assert_eq!(
        db.store.notification_events(true).await.unwrap().len(),
        events.len()
    );

    let receiver = Receiver::start_on(port, Behaviour::Healthy).await;
    wait_until(30, "every event delivered", || all_delivered(&db.store)).await;
    running.stop().await;
    assert_exactly_once_in_order(&receiver, &events);
    let attempts = db.store.webhook_attempts(Some("board")).await.unwrap();
    assert_attempts_numbered(&attempts, "board", &events);
    assert!(attempts
        .iter()
        .all(|a| a.http_status.is_none() || a.delivered));
}

async fn a_failing_event_holds_back_only_its_own_case_until_given_up(db: &TestDb) {
    let events = insert_events(db, 3, 4).await;
    let order = expected_order(&events);
    let poisoned_case = order.keys().next().copied().unwrap();
    let poison = order[&poisoned_case][0];
    let receiver = Receiver::start(Behaviour::RejectsEvent(poison)).await;
    let running = start_notifier(
        db.store.clone(),
        config(vec![endpoint("board", receiver.url(), None)], 3),
    );
    wait_until(30, "every event but the poison delivered", || async {
        db.store.notification_events(true).await.unwrap().len() == 1
    })
    .await;
    running.stop().await;

    let others: Vec<Inserted> = events.iter().filter(|e| e.id != poison).cloned().collect();
    assert_exactly_once_in_order(&receiver, &others);
    let queue = db.store.webhook_queue("board").await.unwrap();
    let poisoned = queue.iter().find(|q| q.event_id == poison).unwrap();
    assert_eq!((poisoned.state.as_str(), poisoned.attempts), ("failed", 3));
    assert_eq!(
        poisoned.last_error.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
    // The rest of its case went out only after it was given up.
    let attempts = db.store.webhook_attempts(Some("board")).await.unwrap();
    let given_up_at = attempts
        .iter()
        .filter(|a| a.event_id == poison)
        .map(|a| a.at_ms)
        .max();
    for id in &order[&poisoned_case][1..] {
        let sent = attempts.iter().find(|a| a.event_id == *id).unwrap();
        assert!(
            Some(sent.at_ms) >= given_up_at,
            "{id} sent before the poison gave up"
        );
    }

    // Requeued by hand, it goes out (as attempt 4) once the endpoint takes it.
    assert_eq!(
        db.store.requeue_failed_webhooks("board", 0).await.unwrap(),
        1
    );
    let fixed = Receiver::start(Behaviour::Healthy).await;
    let running = start_notifier(
        db.store.clone(),
        config(vec![endpoint("board", fixed.url(), None)], 3),
    );
    wait_until(30, "the requeued event delivered", || {
        all_delivered(&db.store)
    })
    .await;
    running.stop().await;
    let poison_event: Vec<Inserted> = events.iter().filter(|e| e.id == poison).cloned().collect();
    assert_exactly_once_in_order(&fixed, &poison_event);
    let attempts = db.store.webhook_attempts(Some("board")).await.unwrap();
    assert_attempts_numbered(&attempts, "board", &poison_event);
}

on_both_backends!(every_event_is_delivered_once_in_order_despite_a_receiver_failing_half_the_time);
on_both_backends!(a_receiver_that_is_down_gets_every_event_once_it_comes_back);
on_both_backends!(a_failing_event_holds_back_only_its_own_case_until_given_up);

// ---------------------------------------------------------------- signing and config

#[test]
fn signature_matches_an_independent_hmac_and_verifies() {
    let body = br#"{"id":"x"}"#;
    // python3: hmac.new(SECRET, b'1717000000.' + body, hashlib.sha256).hexdigest()
    let expected = "sha256=16097ffdb0fa9045aecf8b734875ca6bacf2bafe64aed13e516a441ab4e29435";
    assert_eq!(sign(SECRET, "1717000000", body), expected);
    assert!(verify_signature(SECRET, "1717000000", body, expected));
}

#[test]
fn tampered_or_malformed_signatures_are_refused() {
    let body = br#"{"id":"x"}"#;
    let good = sign(SECRET, "1717000000", body);
    assert!(!verify_signature(
        SECRET,
        "1717000000",
        br#"{"id":"y"}"#,
        &good
    ));
    assert!(!verify_signature(SECRET, "1717000001", body, &good));
    assert!(!verify_signature(
        "another-secret-0000",
        "1717000000",
        body,
        &good
    ));
    assert!(!verify_signature(
        SECRET,
        "1717000000",
        body,
        &good["sha256=".len()..]
    ));
    assert!(!verify_signature(SECRET, "1717000000", body, "sha256=zz"));
    assert!(!verify_signature(SECRET, "1717000000", body, "sha256="));
}

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
    assert_eq!(backoff_ms(100, 10_000, 1, 0.0), 50);
    assert_eq!(backoff_ms(100, 10_000, 1, 1.0), 100);
    assert_eq!(backoff_ms(100, 10_000, 4, 0.0), 400);
    assert_eq!(backoff_ms(100, 10_000, 4, 1.0), 800);
    assert_eq!(backoff_ms(100, 10_000, 30, 1.0), 10_000);
    assert_eq!(backoff_ms(100, 10_000, u32::MAX, 0.0), 5_000);
}

#[test]
fn config_reads_from_toml_with_defaults_and_refuses_unknown_keys() {
    let config: WebhookConfig = toml::from_str(
        r#"
        timeout_ms = 2000
        [[endpoints]]
        name = "quality-board"
        url = "https://hooks.example.com/qloop/T0KEN"
        secret = "0123456789abcdef"
        kinds = ["escalated", "breached"]
        "#,
    )
    .unwrap();
    config.validate().unwrap();
    assert_eq!(config.timeout_ms, 2000);
    assert_eq!(config.max_attempts, WebhookConfig::default().max_attempts);
    assert_eq!(config.endpoints[0].kinds.as_ref().unwrap().len(), 2);
    assert!(toml::from_str::<WebhookConfig>("retries = 3").is_err());
    let typo = "[[endpoints]]\nname='a'\nurl='http://x'\nsecret='0123456789abcdef'\nkind=['x']";
    assert!(toml::from_str::<WebhookConfig>(typo).is_err());
    WebhookConfig::default().validate().unwrap();
}

#[test]
fn validation_names_the_bad_key() {
    let ep = |name: &str, url: &str, secret: &str| Endpoint {
        name: name.into(),
        url: url.into(),
        secret: secret.into(),
        kinds: None,
    };
    let with = |endpoints: Vec<Endpoint>| WebhookConfig {
        endpoints,
        ..WebhookConfig::default()
    };
    let key = |c: WebhookConfig| c.validate().unwrap_err().key;
    let ok = ep("a", "http://127.0.0.1:9/h", "0123456789abcdef");
    assert_eq!(
        key(with(vec![ep("a", "ftp://x/", "0123456789abcdef")])),
        "endpoints[0].url"
    );
    assert_eq!(key(with(vec![ok.clone(), ok.clone()])), "endpoints[1].name");
    assert_eq!(
        key(with(vec![ep("a", "http://x/", "short")])),
        "endpoints[0].secret"
    );
    assert_eq!(
        key(with(vec![ep("a b", "http://x/", "0123456789abcdef")])),
        "endpoints[0].name"
    );
    let mut unknown_kind = ok.clone();
    unknown_kind.kinds = Some(vec!["opened".into()]);
    assert_eq!(key(with(vec![unknown_kind])), "endpoints[0].kinds");
    let backoff = WebhookConfig {
        initial_backoff_ms: 10,
        max_backoff_ms: 5,
        ..WebhookConfig::default()
    };
    assert_eq!(key(backoff), "max_backoff_ms");
    let no_attempts = WebhookConfig {
        max_attempts: 0,
        ..WebhookConfig::default()
    };
    assert_eq!(key(no_attempts), "max_attempts");
}

#[test]
fn debug_output_hides_the_secret_and_the_url_path() {
    let board = Endpoint {
        name: "board".into(),
        url: "https://hooks.example.com/services/T0KEN-IN-PATH?sig=abc".into(),
        secret: "super-secret-value-123".into(),
        kinds: None,
    };
    let shown = format!("{:?}", with_endpoint(board));
    assert!(
        shown.contains("board") && shown.contains("https://hooks.example.com"),
        "{shown}"
    );
    for hidden in ["super-secret-value-123", "T0KEN-IN-PATH", "sig=abc"] {
        assert!(!shown.contains(hidden), "{hidden} leaked: {shown}");
    }
}

fn with_endpoint(endpoint: Endpoint) -> WebhookConfig {
    WebhookConfig {
        endpoints: vec![endpoint],
        ..WebhookConfig::default()
    }
}
