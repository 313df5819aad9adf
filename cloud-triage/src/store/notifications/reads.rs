//! What the webhook tables hold, for operators and tests: every recorded
//! attempt, and each event's state at an endpoint.

use sqlx::Row;
use uuid::Uuid;

use crate::store::{rows::uuid_column, Store, StoreError};

/// One recorded attempt (`webhook_deliveries`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryAttempt {
    /// The event sent.
    pub event_id: Uuid,
    /// The endpoint it went to.
    pub endpoint: String,
    /// 1 for the first attempt of this event at this endpoint.
    pub attempt: i64,
    /// When the attempt started, Unix ms.
    pub at_ms: i64,
    /// The HTTP status, if a response came back.
    pub http_status: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, ms.
    pub duration_ms: i64,
    /// Whether the endpoint acknowledged it.
    pub delivered: bool,
}

/// An event's delivery state at one endpoint (`webhook_queue`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookQueueEntry {
    /// The event.
    pub event_id: Uuid,
    /// The endpoint.
    pub endpoint: String,
    /// `pending`, `delivered`, `skipped` or `failed`.
    pub state: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Earliest time of the next attempt, Unix ms.
    pub next_attempt_at_ms: i64,
    /// When the endpoint acknowledged it, Unix ms.
    pub delivered_at_ms: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

impl Store {
    /// Every recorded attempt (of `endpoint`, or all), in the order made.
    pub async fn webhook_attempts(
        &self,
        endpoint: Option<&str>,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, endpoint, attempt, at_ms, http_status, error, duration_ms, delivered \
             FROM webhook_deliveries WHERE ($1 = '' OR endpoint = $1) ORDER BY id",
        )
        .bind(endpoint.unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryAttempt {
                    event_id: uuid_column(row.try_get("event_id")?, "webhook_deliveries.event_id")?,
                    endpoint: row.try_get("endpoint")?,
                    attempt: row.try_get("attempt")?,
                    at_ms: row.try_get("at_ms")?,
                    http_status: row.try_get("http_status")?,
                    error: row.try_get("error")?,
                    duration_ms: row.try_get("duration_ms")?,
                    delivered: row.try_get::<i64, _>("delivered")? != 0,
                })
            })
            .collect()
    }

    /// The delivery state of every event at `endpoint`, oldest event first.
    pub async fn webhook_queue(
        &self,
        endpoint: &str,
    ) -> Result<Vec<WebhookQueueEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, endpoint, state, attempts, next_attempt_at_ms, delivered_at_ms, last_error \
             FROM webhook_queue WHERE endpoint = $1 ORDER BY created_at_ms, event_id",
        )
        .bind(endpoint)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WebhookQueueEntry {
                    event_id: uuid_column(row.try_get("event_id")?, "webhook_queue.event_id")?,
                    endpoint: row.try_get("endpoint")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
                    delivered_at_ms: row.try_get("delivered_at_ms")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }
}
