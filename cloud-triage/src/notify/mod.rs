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
//!
//! # Layout
//! - `config`: the `[webhooks]` table and its check.
//! - `signature`: signing a body and checking a signature.
//! - `notifier`: the loop that queues, claims, sends and records.
//! - the rules (who takes which kind, retries and backoff, the states of
//!   an event at an endpoint) are [`crate::domain::webhooks`].

mod config;
mod notifier;
mod signature;

pub use crate::domain::webhooks::backoff_ms;
pub use config::{Endpoint, WebhookConfig, WebhookConfigError, KNOWN_KINDS};
pub use notifier::{run_notifier, NotifyError};
pub use signature::{sign, verify_signature};
