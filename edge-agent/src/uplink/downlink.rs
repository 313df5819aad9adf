//! Downlink: events from the cloud on `qloop/v1/vehicles/{vin}/events`.
//!
//! Each payload is decoded with `qloop_protocol::decode`; anything that is not
//! a valid `Message::Event` is logged and dropped. Valid events go to the
//! control socket's hub, which shows them to HMI clients. The car's
//! [`EventReceipt`] is committed to the outbox (and so published on the
//! feedback topic) when an HMI client has been handed the event — see
//! `control::hub` — not when MQTT delivered it, because the receipt tells the
//! cloud the driver could see it.

use qloop_protocol::{decode, encode, EventReceipt, Limits, Message, VehicleEvent};
use tokio::sync::mpsc;

/// Decodes one downlink payload into an event, or says why not.
pub fn decode_event(payload: &[u8], now_ms: i64) -> Result<VehicleEvent, String> {
    match decode(payload) {
        Ok(Message::Event(event)) => {
            Limits::default()
                .check_event(&event, now_ms)
                .map_err(|e| format!("invalid event: {e}"))?;
            Ok(event)
        }
        Ok(other) => Err(format!(
            "expected an event, got a {} message",
            other.kind().name()
        )),
        Err(e) => Err(format!("undecodable downlink message: {e}")),
    }
}

/// Decodes a payload and hands the event on; never blocks the event loop
/// (a full queue drops the event with a log line).
pub fn forward_event(payload: &[u8], events: Option<&mpsc::Sender<VehicleEvent>>) {
    let event = match decode_event(payload, crate::capture::now_ms()) {
        Ok(event) => event,
        Err(reason) => {
            tracing::warn!(%reason, bytes = payload.len(), "downlink message rejected");
            return;
        }
    };
    tracing::info!(event_id = %event.event_id, kind = event.kind.as_str(), "downlink event");
    match events {
        Some(tx) => {
            if let Err(e) = tx.try_send(event) {
                tracing::warn!(error = %e, "event queue full or closed; event dropped");
            }
        }
        None => tracing::info!("no HMI attached in this mode; event not forwarded"),
    }
}

/// The encoded receipt for `event`, received by the HMI at `received_at_ms`.
pub fn receipt_message(vin: &str, event: &VehicleEvent, received_at_ms: i64) -> Vec<u8> {
    encode(&Message::Receipt(EventReceipt {
        vin: vin.to_string(),
        event_id: event.event_id,
        received_at_ms,
    }))
}

#[cfg(test)]
mod tests {
    use qloop_protocol::EventKind;
    use uuid::Uuid;

    use super::*;

    fn event(now: i64) -> VehicleEvent {
        VehicleEvent {
            event_id: Uuid::now_v7(),
            feedback_id: None,
            case_number: Some(12),
            kind: EventKind::Received,
            message: "Thanks, case 12 is open".into(),
            sent_at_ms: now,
        }
    }

    #[test]
    fn events_decode_and_other_messages_are_rejected() {
        let now = crate::capture::now_ms();
        let e = event(now);
        let bytes = encode(&Message::Event(e.clone()));
        assert_eq!(decode_event(&bytes, now).unwrap(), e);
        let receipt = receipt_message("5YJ3E1EA7KF317000", &e, now);
        assert!(decode_event(&receipt, now).unwrap_err().contains("receipt"));
        assert!(decode_event(b"garbage", now).is_err());
    }
}
