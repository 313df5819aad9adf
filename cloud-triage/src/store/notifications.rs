//! Webhook delivery state for `notification_events`: which endpoint still
//! owes which event, who is sending it now, and every attempt made.
//!
//! The notifier (`crate::notify`) drives it in three steps:
//! 1. [`Store::queue_webhooks`] gives every undelivered event one
//!    `webhook_queue` row per configured endpoint (`skipped` when the
//!    endpoint does not take that kind), all endpoints in one transaction.
//! 2. [`Store::claim_webhooks`] claims due rows that are the head of their
//!    case's queue, with a lease, in one portable `UPDATE … WHERE … IN
//!    (SELECT … LIMIT n)`: on PostgreSQL a second worker's UPDATE waits on
//!    the row locks and then sees the new lease, so no row is claimed twice;
//!    on SQLite writers take turns anyway.
//! 3. [`Store::record_webhook_attempt`] writes the attempt and moves the row
//!    on (delivered, retry at a time, or given up), only if the claim is
//!    still the caller's. An event is marked delivered in
//!    `notification_events` when no endpoint owes it any more.
//!
//! `notification_events.attempts` counts the attempts at every endpoint and
//! `last_error` is the latest attempt's; the per-endpoint detail is in
//! `webhook_queue`, and each attempt in `webhook_deliveries`.
//!
//! Nothing here touches cases or feedback, so a failing endpoint never holds
//! up triage. An endpoint added to the configuration later receives the
//! events still undelivered at that time, not the whole history; rows of an
//! endpoint removed from the configuration stay `pending` until it returns.
//! Rows given up (`failed`) go back in line with
//! [`Store::requeue_failed_webhooks`].

mod reads;

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{rows::uuid_column, Store, StoreError};
use crate::domain::webhooks::{initial_state, queue_of, WebhookState};

pub use crate::domain::webhooks::NextStep;
pub use reads::{DeliveryAttempt, WebhookQueueEntry};

type Tx = Transaction<'static, Any>;

/// The most events one [`Store::queue_webhooks`] call looks at per endpoint.
pub const MAX_QUEUE_BATCH: i64 = 1_000;

/// Row is waiting to be sent (or re-sent).
pub const PENDING: &str = WebhookState::Pending.as_str();
/// The endpoint answered 2xx.
pub const DELIVERED: &str = WebhookState::Delivered.as_str();
/// The endpoint does not take this event's kind.
pub const SKIPPED: &str = WebhookState::Skipped.as_str();
/// Attempts ran out; the row no longer holds back its case.
pub const FAILED: &str = WebhookState::Failed.as_str();

/// The `WHERE` condition (on alias `q`) that `q` is the oldest pending row of
/// its endpoint's queue: nothing earlier of the same case is still pending.
const HEAD_OF_QUEUE: &str = "NOT EXISTS (SELECT 1 FROM webhook_queue p \
     WHERE p.endpoint = q.endpoint AND p.queue = q.queue AND p.state = 'pending' \
     AND (p.created_at_ms < q.created_at_ms \
          OR (p.created_at_ms = q.created_at_ms AND p.event_id < q.event_id)))";

/// One endpoint and the event kinds it takes (`None`: every kind).
#[derive(Debug, Clone, Copy)]
pub struct WebhookRoute<'a> {
    /// The endpoint's configured name.
    pub endpoint: &'a str,
    /// The kinds it subscribes to, or all.
    pub kinds: Option<&'a [String]>,
}

/// An event claimed for one endpoint, ready to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedWebhook {
    /// The claim token; [`Store::record_webhook_attempt`] needs it back.
    pub claim: String,
    /// The endpoint's name.
    pub endpoint: String,
    /// The event's id (UUIDv7).
    pub event_id: Uuid,
    /// `case_opened`, `escalated`, ….
    pub kind: String,
    /// The case it concerns.
    pub case_id: Option<i64>,
    /// The event's payload as stored (JSON text, parsed by the sender).
    pub payload_json: String,
    /// When the event was raised, Unix ms.
    pub created_at_ms: i64,
    /// The number of the attempt about to be made (1 for the first).
    pub attempt: i64,
}

/// One attempt to report with [`Store::record_webhook_attempt`].
#[derive(Debug, Clone)]
pub struct WebhookAttempt<'a> {
    /// The row the attempt was for (from [`Store::claim_webhooks`]).
    pub claimed: &'a ClaimedWebhook,
    /// When it started, Unix ms.
    pub at_ms: i64,
    /// The HTTP status, if a response came back.
    pub http_status: Option<u16>,
    /// Why it failed, `None` on success.
    pub error: Option<String>,
    /// How long it took, ms.
    pub duration_ms: i64,
    /// What happens next.
    pub next: NextStep,
}

/// Whether [`Store::record_webhook_attempt`] could move the row on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The attempt was recorded and the row updated.
    Applied,
    /// The attempt was recorded, but the claim had lapsed and was taken
    /// over, so the row was left to its new owner.
    ClaimLost,
}

/// Marks `event_id` delivered in `notification_events` once no endpoint
/// owes it (every row of it is in a settled state).
async fn complete_if_done(tx: &mut Tx, event_id: &str, at_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE notification_events SET delivered_at_ms = $1 \
         WHERE id = $2 AND delivered_at_ms IS NULL AND NOT EXISTS \
         (SELECT 1 FROM webhook_queue q WHERE q.event_id = $2 AND q.state NOT IN ($3, $4))",
    )
    .bind(at_ms)
    .bind(event_id)
    .bind(WebhookState::Delivered.as_str())
    .bind(WebhookState::Skipped.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An undelivered event, in the order events are queued.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NewEvent {
    created_at_ms: i64,
    id: String,
    kind: String,
    case_id: Option<i64>,
}

/// Up to [`MAX_QUEUE_BATCH`] undelivered events `endpoint` has no row for, oldest first.
async fn unqueued_events(tx: &mut Tx, endpoint: &str) -> Result<Vec<NewEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT e.id, e.kind, e.case_id, e.created_at_ms FROM notification_events e \
         WHERE e.delivered_at_ms IS NULL AND NOT EXISTS \
         (SELECT 1 FROM webhook_queue q WHERE q.event_id = e.id AND q.endpoint = $1) \
         ORDER BY e.created_at_ms, e.id LIMIT $2",
    )
    .bind(endpoint)
    .bind(MAX_QUEUE_BATCH)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(NewEvent {
                created_at_ms: row.try_get("created_at_ms")?,
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                case_id: row.try_get("case_id")?,
            })
        })
        .collect()
}

/// Gives `event` a row in `state` at `endpoint`, unless it has one; 1 when added.
async fn insert_row(
    tx: &mut Tx,
    event: &NewEvent,
    endpoint: &str,
    state: WebhookState,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO webhook_queue (event_id, endpoint, queue, created_at_ms, state, attempts, next_attempt_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (event_id, endpoint) DO NOTHING",
    )
    .bind(&event.id)
    .bind(endpoint)
    .bind(queue_of(event.case_id))
    .bind(event.created_at_ms)
    .bind(state.as_str())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

impl Store {
    /// Gives every undelivered event that some route lacks a row for a row
    /// at every route (looking at up to [`MAX_QUEUE_BATCH`] events per
    /// route); events no route takes are marked delivered. Returns how many
    /// `pending` rows were added.
    pub async fn queue_webhooks(
        &self,
        routes: &[WebhookRoute<'_>],
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        if routes.is_empty() {
            return Ok(0);
        }
        let (_gate, mut tx) = self.begin_write().await?;
        let mut events = Vec::new();
        for route in routes {
            events.extend(unqueued_events(&mut tx, route.endpoint).await?);
        }
        // Same order in every worker, so concurrent inserts cannot deadlock.
        events.sort();
        events.dedup();
        let mut added = 0;
        for event in &events {
            for route in routes {
                let state = initial_state(route.kinds, &event.kind);
                let inserted = insert_row(&mut tx, event, route.endpoint, state, now_ms).await?;
                if state == WebhookState::Pending {
                    added += inserted;
                }
            }
            complete_if_done(&mut tx, &event.id, now_ms).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Claims up to `limit` rows of `endpoint` that are due at `now_ms`,
    /// unclaimed (or their lease lapsed) and the head of their case's queue,
    /// for `lease_ms`; returns them oldest first.
    pub async fn claim_webhooks(
        &self,
        endpoint: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedWebhook>, StoreError> {
        let claim = Uuid::now_v7().to_string();
        let (_gate, mut tx) = self.begin_write().await?;
        let sql = format!(
            "UPDATE webhook_queue SET claimed_by = $1, claimed_until_ms = $2 \
             WHERE endpoint = $3 AND state = 'pending' AND next_attempt_at_ms <= $4 \
             AND (claimed_until_ms IS NULL OR claimed_until_ms <= $4) \
             AND event_id IN (SELECT q.event_id FROM webhook_queue q \
                 WHERE q.endpoint = $3 AND q.state = 'pending' AND q.next_attempt_at_ms <= $4 \
                 AND (q.claimed_until_ms IS NULL OR q.claimed_until_ms <= $4) AND {HEAD_OF_QUEUE} \
                 ORDER BY q.created_at_ms, q.event_id LIMIT $5)"
        );
        let claimed = sqlx::query(&sql)
            .bind(&claim)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(endpoint)
            .bind(now_ms)
            .bind(limit.max(0))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if claimed == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT q.event_id, q.endpoint, q.attempts, e.kind, e.case_id, e.payload_json, e.created_at_ms \
             FROM webhook_queue q JOIN notification_events e ON e.id = q.event_id \
             WHERE q.claimed_by = $1 ORDER BY e.created_at_ms, q.event_id",
        )
        .bind(&claim)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedWebhook {
                    claim: claim.clone(),
                    endpoint: row.try_get("endpoint")?,
                    event_id: uuid_column(row.try_get("event_id")?, "webhook_queue.event_id")?,
                    kind: row.try_get("kind")?,
                    case_id: row.try_get("case_id")?,
                    payload_json: row.try_get("payload_json")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    attempt: row.try_get::<i64, _>("attempts")? + 1,
                })
            })
            .collect()
    }

    /// Records one attempt and, if the claim is still the caller's, moves
    /// the row on as `attempt.next` says and releases the claim.
    pub async fn record_webhook_attempt(
        &self,
        attempt: &WebhookAttempt<'_>,
    ) -> Result<Recorded, StoreError> {
        let claimed = attempt.claimed;
        let event_id = claimed.event_id.to_string();
        let row = attempt.next.row(attempt.at_ms);
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint, attempt, at_ms, http_status, error, duration_ms, delivered) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&event_id)
        .bind(&claimed.endpoint)
        .bind(claimed.attempt)
        .bind(attempt.at_ms)
        .bind(attempt.http_status.map(i64::from))
        .bind(attempt.error.as_deref())
        .bind(attempt.duration_ms)
        .bind(i64::from(attempt.next == NextStep::Delivered))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE notification_events SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
        )
        .bind(attempt.error.as_deref())
        .bind(&event_id)
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE webhook_queue SET state = $1, attempts = attempts + 1, \
             next_attempt_at_ms = COALESCE($2, next_attempt_at_ms), delivered_at_ms = $3, \
             last_error = $4, claimed_by = NULL, claimed_until_ms = NULL \
             WHERE event_id = $5 AND endpoint = $6 AND claimed_by = $7 AND state = 'pending'",
        )
        .bind(row.state.as_str())
        .bind(row.next_attempt_at_ms)
        .bind(row.delivered_at_ms)
        .bind(attempt.error.as_deref())
        .bind(&event_id)
        .bind(&claimed.endpoint)
        .bind(&claimed.claim)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 1 && attempt.next == NextStep::Delivered {
            complete_if_done(&mut tx, &event_id, attempt.at_ms).await?;
        }
        tx.commit().await?;
        Ok(if moved == 1 {
            Recorded::Applied
        } else {
            Recorded::ClaimLost
        })
    }

    /// The earliest `next_attempt_at_ms` among unclaimed head-of-queue
    /// pending rows of `endpoint`: when the notifier next has work there.
    pub async fn next_webhook_due_ms(&self, endpoint: &str) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(q.next_attempt_at_ms) AS due FROM webhook_queue q \
             WHERE q.endpoint = $1 AND q.state = 'pending' AND q.claimed_by IS NULL AND {HEAD_OF_QUEUE}"
        );
        let row = sqlx::query(&sql)
            .bind(endpoint)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("due")?)
    }

    /// Puts the `failed` rows of `endpoint` back in line, due at `now_ms`
    /// (their attempt counts go on from where they stopped). Returns how many.
    pub async fn requeue_failed_webhooks(
        &self,
        endpoint: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE webhook_queue SET state = 'pending', next_attempt_at_ms = $1 \
             WHERE endpoint = $2 AND state = 'failed'",
        )
        .bind(now_ms)
        .bind(endpoint)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
