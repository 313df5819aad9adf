//! The `[webhooks]` table: endpoints (name, URL, secret, the kinds each
//! takes) and the retry settings, checked at start with errors that name
//! the key.

use std::collections::HashSet;

use serde::Deserialize;

use crate::domain::webhooks::RetryPolicy;

/// The event kinds an endpoint may subscribe to.
pub const KNOWN_KINDS: &[&str] = crate::domain::NotificationKind::NAMES;
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

impl WebhookConfig {
    /// How failed events are retried.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            initial_backoff_ms: self.initial_backoff_ms,
            max_backoff_ms: self.max_backoff_ms,
        }
    }
}
