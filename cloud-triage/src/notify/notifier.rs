//! The running notifier: it queues new events for every endpoint, claims
//! due rows with a lease, sends each (at most `MAX_IN_FLIGHT` at once per
//! endpoint), and records every attempt; what follows an attempt is
//! [`crate::domain::webhooks`]'s rule.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use rand::Rng;
use tokio::{
    task::{Id, JoinSet},
    time::Instant,
};

use super::{sign, Endpoint, WebhookConfig, WebhookConfigError};
use crate::{
    domain::webhooks::after_failure,
    store::{
        notifications::{ClaimedWebhook, NextStep, Recorded, WebhookAttempt, WebhookRoute},
        Store,
    },
};

/// Requests in flight at once per endpoint (so a slow endpoint cannot take
/// the others' turns).
const MAX_IN_FLIGHT: usize = 16;
/// How much longer than a request's timeout its claim lasts.
const LEASE_MARGIN_MS: u64 = 30_000;
/// Times a finished attempt is written before the claim is left to lapse.
const RECORD_TRIES: u32 = 3;

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
    tracing::info!(endpoints = ?notifier.config.endpoints, "webhook notifier started");
    tokio::pin!(shutdown);
    let mut in_flight = InFlight::new(notifier.config.endpoints.len());
    let mut next_queue = Instant::now();
    loop {
        if Instant::now() >= next_queue {
            if let Err(e) = notifier.queue_new_events().await {
                tracing::warn!(error = %e, "queueing webhook events failed; retrying");
            }
            next_queue = Instant::now() + poll;
        }
        let wake = in_flight.start_due(&notifier, next_queue).await;
        // A due row claimed by nobody yet: look again soon, not in a hot loop.
        let wake = wake.max(Instant::now() + Duration::from_millis(5));
        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = in_flight.tasks.join_next_with_id(), if !in_flight.tasks.is_empty() => {
                in_flight.finished(done);
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    // Let the requests in flight finish, so their attempts are recorded.
    while in_flight.tasks.join_next().await.is_some() {}
    tracing::info!("webhook notifier stopped");
    Ok(())
}

/// The deliveries running, and how many per endpoint (by index).
struct InFlight {
    tasks: JoinSet<()>,
    busy: Vec<usize>,
    endpoint_of: HashMap<Id, usize>,
}

impl InFlight {
    fn new(endpoints: usize) -> Self {
        Self {
            tasks: JoinSet::new(),
            busy: vec![0; endpoints],
            endpoint_of: HashMap::new(),
        }
    }

    /// Claims what is due at each endpoint with room and starts sending it;
    /// returns when to look again (at the latest `next_queue`).
    async fn start_due(&mut self, notifier: &Arc<Notifier>, next_queue: Instant) -> Instant {
        let poll = Duration::from_millis(notifier.config.poll_interval_ms);
        let lease_ms =
            i64::try_from(notifier.config.timeout_ms + LEASE_MARGIN_MS).unwrap_or(i64::MAX);
        let mut wake = (Instant::now() + poll).min(next_queue);
        for (index, endpoint) in notifier.config.endpoints.iter().enumerate() {
            let free = MAX_IN_FLIGHT.saturating_sub(self.busy[index]);
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
                        self.busy[index] += 1;
                        let task = self.tasks.spawn(notifier.clone().deliver(index, webhook));
                        self.endpoint_of.insert(task.id(), index);
                    }
                }
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint.name, error = %e, "claiming webhooks failed")
                }
            }
            if self.busy[index] < MAX_IN_FLIGHT {
                match notifier.store.next_webhook_due_ms(&endpoint.name).await {
                    Ok(Some(due)) => wake = wake.min(notifier.clock.instant_at(due)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(endpoint = %endpoint.name, error = %e, "reading webhook schedule failed")
                    }
                }
            }
        }
        wake
    }

    /// A delivery task ended: its endpoint has room again.
    fn finished(&mut self, done: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery task failed");
                e.id()
            }
        };
        if let Some(index) = self.endpoint_of.remove(&id) {
            self.busy[index] -= 1;
        }
    }
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
                let policy = self.config.retry_policy();
                let jitter = rand::rng().random::<f64>();
                let now_ms = self.clock.now_ms();
                let next = after_failure(&policy, claimed.attempt, permanent, jitter, now_ms);
                if next == NextStep::GiveUp {
                    tracing::warn!(endpoint = %endpoint.name, event = %claimed.event_id,
                        attempts = claimed.attempt, %error, "webhook given up");
                }
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
