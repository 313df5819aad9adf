//! Webhooks: every `notification_events` row (case opened, escalated,
//! breached, emerging issue, resolved) is POSTed, signed, to each configured
//! endpoint that takes its kind; retried with backoff; every attempt recorded.
//!
//! # API
//! ```ignore
//! let config: WebhookConfig = toml::from_str(&text)?; // the `[webhooks]` table
//! config.validate()?;                                   // errors name the key
//! let task = tokio::spawn(run_notifier(store.clone(), config, shutdown));
//! ```
//! [`run_notifier`] returns when `shutdown` completes, after the requests in
//! flight have finished and been recorded; with no endpoints it returns at
//! once. Several notifiers (processes) may share one PostgreSQL database:
//! rows are claimed with a lease (see [`crate::store::notifications`]). They
//! should share one endpoint list, since an event is fanned out to the
//! endpoints of the notifier that sees it first.
//!
//! # What an endpoint receives
//! `POST url` with body `{"id", "kind", "case_id", "created_at_ms", "payload"}`
//! and headers `X-Qloop-Event` (the kind), `X-Qloop-Delivery` (the event id,
//! the same on every retry: deduplicate on it), `X-Qloop-Timestamp` (Unix
//! seconds of this attempt) and `X-Qloop-Signature:
//! sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))`, checked by
//! [`verify_signature`]. Any 2xx acknowledges; anything else (other status,
//! refused connection, timeout) is retried after `initial_backoff_ms · 2^(n-1)`
//! (at most `max_backoff_ms`), half of it random jitter, up to
//! `max_attempts`; then the event is marked `failed` at that endpoint.
//! Events of one case arrive in order (`created_at_ms`, then id): a failing
//! event holds back the later events of its own case only. Redirects are not
//! followed.
//!
//! The notifier reads and writes only the notification tables, so a dead
//! endpoint never slows triage. Time comes from tokio's clock (plus the wall
//! clock at start), so a test can pause it.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::Arc,
    time::Duration,
};

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Deserialize;
use sha2::Sha256;
use tokio::{task::JoinSet, time::Instant};

use crate::store::{
    notifications::{ClaimedWebhook, NextStep, Recorded, WebhookAttempt, WebhookRoute},
    Store,
};

/// The event kinds an endpoint may subscribe to.
pub const KNOWN_KINDS: &[&str] = crate::domain::NotificationKind::NAMES;
/// Requests in flight at once per endpoint (so a slow endpoint cannot take
/// the others' turns).
const MAX_IN_FLIGHT: usize = 16;
/// How much longer than a request's timeout its claim lasts.
const LEASE_MARGIN_MS: u64 = 30_000;
/// Times a finished attempt is written before the claim is left to lapse.
const RECORD_TRIES: u32 = 3;

/// Webhook settings (the `[webhooks]` table of the service's TOML).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where events go; none turns webhooks off.
    pub endpoints: Vec<Endpoint>,
    /// Attempts per event and endpoint before it is marked `failed`.
    pub max_attempts: u32,
    /// Wait after the first failure, ms; doubles per failure.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts, ms.
    pub max_backoff_ms: u64,
    /// One request's time limit (connect to last byte), ms.
    pub timeout_ms: u64,
    /// How often new events are looked for, ms.
    pub poll_interval_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            endpoints: Vec::new(),
            // About four hours of an endpoint being down at the defaults.
            max_attempts: 30,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 600_000,
            timeout_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// One receiver of webhooks.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// A unique name (letters, digits, `-`, `_`, `.`); delivery state is kept under it.
    pub name: String,
    /// `http://` or `https://` URL the events are POSTed to.
    pub url: String,
    /// HMAC key for `X-Qloop-Signature`, at least 16 bytes. Never logged.
    pub secret: String,
    /// The kinds it takes; absent: all of them.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
}

impl std::fmt::Debug for Endpoint {
    /// Shows the URL's origin only (paths and queries of webhook URLs often
    /// carry tokens) and never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = reqwest::Url::parse(&self.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "<invalid url>".into());
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("url", &origin)
            .field("secret", &"<redacted>")
            .field("kinds", &self.kinds)
            .finish()
    }
}

/// A setting that [`WebhookConfig::validate`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct WebhookConfigError {
    /// The key, relative to the webhook table (`endpoints[1].url`).
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Why [`run_notifier`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The configuration is invalid.
    #[error("webhook configuration: {0}")]
    Config(#[from] WebhookConfigError),
    /// The HTTP client could not be built.
    #[error("webhook HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl WebhookConfig {
    /// Checks every setting; the error names the first bad key.
    pub fn validate(&self) -> Result<(), WebhookConfigError> {
        let bad = |key: String, problem: &str| {
            Err(WebhookConfigError {
                key,
                problem: problem.into(),
            })
        };
        if self.max_attempts == 0 {
            return bad("max_attempts".into(), "must be at least 1");
        }
        if self.initial_backoff_ms == 0 {
            return bad("initial_backoff_ms".into(), "must be at least 1");
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            return bad("max_backoff_ms".into(), "must be >= initial_backoff_ms");
        }
        if !(1..=600_000).contains(&self.timeout_ms) {
            return bad("timeout_ms".into(), "must be between 1 and 600000");
        }
        if self.poll_interval_ms == 0 {
            return bad("poll_interval_ms".into(), "must be at least 1");
        }
        let mut names = HashSet::new();
        for (i, ep) in self.endpoints.iter().enumerate() {
            let key = |field: &str| format!("endpoints[{i}].{field}");
            let name_ok = (1..=64).contains(&ep.name.len())
                && ep
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !name_ok {
                return bad(key("name"), "1-64 letters, digits, '-', '_' or '.'");
            }
            if !names.insert(ep.name.as_str()) {
                return bad(key("name"), "used by an earlier endpoint");
            }
            match reqwest::Url::parse(&ep.url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
                _ => return bad(key("url"), "not an http:// or https:// URL"),
            }
            if ep.secret.len() < 16 {
                return bad(key("secret"), "must be at least 16 bytes");
            }
            if let Some(kinds) = &ep.kinds {
                if kinds.is_empty() {
                    return bad(key("kinds"), "empty: omit it to take every kind");
                }
                if let Some(unknown) = kinds.iter().find(|k| !KNOWN_KINDS.contains(&k.as_str())) {
                    return bad(
                        key("kinds"),
                        &format!(
                            "unknown kind {unknown:?} (known: {})",
                            KNOWN_KINDS.join(", ")
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

/// `sha256=HEX` of HMAC-SHA256 over `timestamp + "." + body`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Whether `header` (`sha256=HEX`) is the signature of `timestamp` and
/// `body` under `secret`; compared in constant time. Receivers should also
/// refuse timestamps too far from their clock.
pub fn verify_signature(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&expected).is_ok()
}

/// The HMAC state after `timestamp + "." + body`.
fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Wait before attempt `failures + 1`, ms: `initial · 2^(failures-1)` capped
/// at `max`, of which the upper half is scaled by `jitter` (0..=1).
pub fn backoff_ms(initial: u64, max: u64, failures: u32, jitter: f64) -> u64 {
    let doubling = 1u64 << failures.saturating_sub(1).min(40);
    let full = initial.saturating_mul(doubling).min(max);
    let half = full / 2;
    half + ((full - half) as f64 * jitter.clamp(0.0, 1.0)) as u64
}

/// Unix ms on tokio's clock: the wall clock at start plus tokio time since.
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall_at_start_ms: i64,
    start: Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall_at_start_ms: crate::now_ms(),
            start: Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.wall_at_start_ms + i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    fn instant_at(&self, at_ms: i64) -> Instant {
        let ahead = u64::try_from(at_ms - self.now_ms()).unwrap_or(0);
        Instant::now() + Duration::from_millis(ahead)
    }
}

/// What the running notifier shares with its delivery tasks.
struct Notifier {
    store: Store,
    config: WebhookConfig,
    client: reqwest::Client,
    clock: Clock,
}

/// Delivers webhooks until `shutdown` completes (see the module docs).
pub async fn run_notifier(
    store: Store,
    config: WebhookConfig,
    shutdown: impl Future,
) -> Result<(), NotifyError> {
    config.validate()?;
    if config.endpoints.is_empty() {
        tracing::info!("no webhook endpoints configured; notifier not started");
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("qloop-notifier/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let notifier = Arc::new(Notifier {
        store,
        config,
        client,
        clock: Clock::start(),
    });
    let poll = Duration::from_millis(notifier.config.poll_interval_ms);
    let lease_ms = i64::try_from(notifier.config.timeout_ms + LEASE_MARGIN_MS).unwrap_or(i64::MAX);
    tracing::info!(endpoints = ?notifier.config.endpoints, "webhook notifier started");
    tokio::pin!(shutdown);
    let mut in_flight = JoinSet::new();
    // Requests in flight per endpoint, by index.
    let mut busy = vec![0usize; notifier.config.endpoints.len()];
    let mut endpoint_of = HashMap::new();
    let mut next_queue = Instant::now();
    loop {
        let mut wake = Instant::now() + poll;
        if Instant::now() >= next_queue {
            if let Err(e) = notifier.queue_new_events().await {
                tracing::warn!(error = %e, "queueing webhook events failed; retrying");
            }
            next_queue = Instant::now() + poll;
        }
        wake = wake.min(next_queue);
        for (index, endpoint) in notifier.config.endpoints.iter().enumerate() {
            let free = MAX_IN_FLIGHT.saturating_sub(busy[index]);
            if free == 0 {
                continue;
            }
            let now_ms = notifier.clock.now_ms();
            match notifier
                .store
                .claim_webhooks(&endpoint.name, now_ms, lease_ms, free as i64)
                .await
            {
                Ok(claimed) => {
                    for webhook in claimed {
                        busy[index] += 1;
                        let task = in_flight.spawn(notifier.clone().deliver(index, webhook));
                        endpoint_of.insert(task.id(), index);
                    }
                }
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint.name, error = %e, "claiming webhooks failed")
                }
            }
            if busy[index] < MAX_IN_FLIGHT {
                match notifier.store.next_webhook_due_ms(&endpoint.name).await {
                    Ok(Some(due)) => wake = wake.min(notifier.clock.instant_at(due)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(endpoint = %endpoint.name, error = %e, "reading webhook schedule failed")
                    }
                }
            }
        }
        // A due row claimed by nobody yet: look again soon, not in a hot loop.
        let wake = wake.max(Instant::now() + Duration::from_millis(5));
        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook delivery task failed");
                        e.id()
                    }
                };
                if let Some(index) = endpoint_of.remove(&id) {
                    busy[index] -= 1;
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    // Let the requests in flight finish, so their attempts are recorded.
    while in_flight.join_next().await.is_some() {}
    tracing::info!("webhook notifier stopped");
    Ok(())
}

impl Notifier {
    /// Gives new events a delivery row per endpoint.
    async fn queue_new_events(&self) -> Result<u64, crate::store::StoreError> {
        let routes: Vec<WebhookRoute<'_>> = self
            .config
            .endpoints
            .iter()
            .map(|ep| WebhookRoute {
                endpoint: &ep.name,
                kinds: ep.kinds.as_deref(),
            })
            .collect();
        self.store
            .queue_webhooks(&routes, self.clock.now_ms())
            .await
    }

    /// Sends one claimed event to endpoint `index` and records the attempt.
    async fn deliver(self: Arc<Self>, index: usize, claimed: ClaimedWebhook) {
        let endpoint = &self.config.endpoints[index];
        let at_ms = self.clock.now_ms();
        let started = Instant::now();
        let (result, permanent) = match self.request_body(&claimed) {
            Ok(body) => (self.post(endpoint, &claimed, body, at_ms).await, false),
            Err(problem) => (Err((None, problem)), true),
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (http_status, error, next) = match result {
            Ok(status) => (Some(status), None, NextStep::Delivered),
            Err((status, error)) => {
                let next = if permanent || claimed.attempt >= i64::from(self.config.max_attempts) {
                    tracing::warn!(endpoint = %endpoint.name, event = %claimed.event_id,
                        attempts = claimed.attempt, %error, "webhook given up");
                    NextStep::GiveUp
                } else {
                    let wait = backoff_ms(
                        self.config.initial_backoff_ms,
                        self.config.max_backoff_ms,
                        u32::try_from(claimed.attempt).unwrap_or(u32::MAX),
                        rand::rng().random::<f64>(),
                    );
                    NextStep::RetryAt(self.clock.now_ms() + i64::try_from(wait).unwrap_or(i64::MAX))
                };
                (status, Some(error), next)
            }
        };
        let attempt = WebhookAttempt {
            claimed: &claimed,
            at_ms,
            http_status,
            error,
            duration_ms,
            next,
        };
        for try_number in 1..=RECORD_TRIES {
            match self.store.record_webhook_attempt(&attempt).await {
                Ok(Recorded::Applied) => return,
                Ok(Recorded::ClaimLost) => {
                    tracing::warn!(endpoint = %endpoint.name, event = %claimed.event_id,
                        "webhook claim lapsed during delivery; another worker owns it now");
                    return;
                }
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint.name, event = %claimed.event_id, error = %e,
                        try_number, "recording a webhook attempt failed");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(try_number))).await;
                }
            }
        }
        // Unrecorded: the claim lapses and the event is sent again (the
        // receiver deduplicates on X-Qloop-Delivery).
    }

    /// The JSON body for `claimed`, or why the stored event cannot be sent.
    fn request_body(&self, claimed: &ClaimedWebhook) -> Result<Vec<u8>, String> {
        let payload: serde_json::Value = serde_json::from_str(&claimed.payload_json)
            .map_err(|e| format!("stored payload is not JSON: {e}"))?;
        serde_json::to_vec(&serde_json::json!({
            "id": claimed.event_id,
            "kind": claimed.kind,
            "case_id": claimed.case_id,
            "created_at_ms": claimed.created_at_ms,
            "payload": payload,
        }))
        .map_err(|e| format!("encoding the body: {e}"))
    }

    /// POSTs `body`; the 2xx status, or the status (if any) and why it failed.
    async fn post(
        &self,
        endpoint: &Endpoint,
        claimed: &ClaimedWebhook,
        body: Vec<u8>,
        at_ms: i64,
    ) -> Result<u16, (Option<u16>, String)> {
        let timestamp = at_ms.div_euclid(1000).to_string();
        let signature = sign(&endpoint.secret, &timestamp, &body);
        let response = self
            .client
            .post(&endpoint.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Qloop-Event", &claimed.kind)
            .header("X-Qloop-Delivery", claimed.event_id.to_string())
            .header("X-Qloop-Timestamp", &timestamp)
            .header("X-Qloop-Signature", signature)
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
            Ok(r) => Err((Some(r.status().as_u16()), format!("HTTP {}", r.status()))),
            Err(e) => Err((None, describe(e.without_url()))),
        }
    }
}

/// A request error and its causes, without the URL (it may hold a token).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connect failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
