//! The downlink outbox: events for cars, written in the same transaction as
//! the change they announce, published later by `crate::downlink`.
//!
//! An event is pending until its PUBACK is recorded with
//! [`Store::mark_downlink_published`]; the car's receipt is recorded with
//! [`Store::record_receipt`]. An event's `sent_at_ms` is the time it was
//! queued, the same on every republish.

use qloop_protocol::{EventKind, EventReceipt, VehicleEvent};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{rows::uuid_column, Store, StoreError};

/// The most events one [`Store::pending_downlink`] call returns.
pub const MAX_PENDING_BATCH: i64 = 1_000;

/// Queues `event` for the car `vin` inside `tx`.
pub(crate) async fn queue_event(
    tx: &mut Transaction<'_, Any>,
    vin: &str,
    event: &VehicleEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO downlink_events (id, vin, feedback_id, case_id, kind, message, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.event_id.to_string())
    .bind(vin)
    .bind(event.feedback_id.map(|id| id.to_string()))
    .bind(event.case_number)
    .bind(event.kind.as_str())
    .bind(&event.message)
    .bind(event.sent_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The [`EventKind`] stored under `name`.
fn kind_from_str(name: &str) -> Result<EventKind, StoreError> {
    [
        EventKind::Received,
        EventKind::FirstResponse,
        EventKind::Update,
        EventKind::Resolved,
        EventKind::FollowUp,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == name)
    .ok_or_else(|| StoreError::Corrupt(format!("unknown downlink event kind {name:?}")))
}

impl Store {
    /// Up to `limit` (at most [`MAX_PENDING_BATCH`]) unpublished events with their VIN, oldest first.
    pub async fn pending_downlink(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, VehicleEvent)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, vin, feedback_id, case_id, kind, message, created_at_ms FROM downlink_events \
             WHERE published_at_ms IS NULL ORDER BY created_at_ms, id LIMIT $1",
        )
        .bind(limit.clamp(0, MAX_PENDING_BATCH))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let feedback_id = row.try_get::<Option<String>, _>("feedback_id")?;
                let event = VehicleEvent {
                    event_id: uuid_column(row.try_get("id")?, "downlink_events.id")?,
                    feedback_id: feedback_id
                        .as_deref()
                        .map(|id| uuid_column(id, "downlink_events.feedback_id"))
                        .transpose()?,
                    case_number: row.try_get("case_id")?,
                    kind: kind_from_str(row.try_get("kind")?)?,
                    message: row.try_get("message")?,
                    sent_at_ms: row.try_get("created_at_ms")?,
                };
                Ok((row.try_get("vin")?, event))
            })
            .collect()
    }

    /// Records that the broker acknowledged `event_id`; the first time counts.
    pub async fn mark_downlink_published(
        &self,
        event_id: Uuid,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE downlink_events SET published_at_ms = COALESCE(published_at_ms, $1) WHERE id = $2")
            .bind(at_ms)
            .bind(event_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a car's receipt; false when no event with that id was sent to that VIN.
    /// A receipt also proves publication, so it marks the event published.
    pub async fn record_receipt(&self, receipt: &EventReceipt) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE downlink_events SET receipt_at_ms = COALESCE(receipt_at_ms, $1), \
             published_at_ms = COALESCE(published_at_ms, $1) WHERE id = $2 AND vin = $3",
        )
        .bind(receipt.received_at_ms)
        .bind(receipt.event_id.to_string())
        .bind(&receipt.vin)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// When the car confirmed `event_id`, if it did.
    pub async fn receipt_at(&self, event_id: Uuid) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT receipt_at_ms FROM downlink_events WHERE id = $1")
            .bind(event_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("receipt_at_ms")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_reads_back_from_its_stored_name() {
        for kind in [
            EventKind::Received,
            EventKind::FirstResponse,
            EventKind::Update,
            EventKind::Resolved,
            EventKind::FollowUp,
        ] {
            assert_eq!(kind_from_str(kind.as_str()).unwrap(), kind);
        }
        assert!(matches!(
            kind_from_str("exploded"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
