//! The event hub: downlink events to subscribed HMI clients, and the car's
//! receipts back to the cloud.
//!
//! An event is handed to every subscribed client. When none is connected it
//! is held (at most [`MAX_HELD_EVENTS`], oldest dropped first with a log line)
//! and handed to the next client that subscribes. The receipt
//! (`Message::Receipt`) is committed to the outbox at the moment an event is
//! handed to at least one client, and the uplink is woken to publish it.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use qloop_protocol::VehicleEvent;
use tokio::sync::{broadcast, mpsc, Notify};

use super::messages::EventView;
use crate::{
    capture::now_ms, lock::lock_or_recover, outbox::SharedOutbox, uplink::downlink::receipt_message,
};

/// Events held while no HMI client is subscribed.
pub const MAX_HELD_EVENTS: usize = 64;

/// Fans events out to HMI clients and records receipts.
#[derive(Clone)]
pub struct EventHub {
    vin: String,
    outbox: SharedOutbox,
    wake: Arc<Notify>,
    sender: broadcast::Sender<EventView>,
    held: Arc<Mutex<VecDeque<VehicleEvent>>>,
}

impl EventHub {
    /// A hub for `vin`, committing receipts to `outbox` and waking the uplink.
    pub fn new(vin: String, outbox: SharedOutbox, wake: Arc<Notify>) -> Self {
        let (sender, _) = broadcast::channel(MAX_HELD_EVENTS);
        Self {
            vin,
            outbox,
            wake,
            sender,
            held: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// The car's VIN.
    pub fn vin(&self) -> &str {
        &self.vin
    }

    /// Delivers one event to subscribers, or holds it.
    pub fn deliver(&self, event: VehicleEvent) {
        let mut held = lock_or_recover(&self.held, "hub");
        if self.sender.send(EventView::from(&event)).is_ok() {
            drop(held);
            self.commit_receipt(&event);
            return;
        }
        if held.len() == MAX_HELD_EVENTS {
            if let Some(dropped) = held.pop_front() {
                tracing::warn!(event_id = %dropped.event_id, "no HMI client; oldest held event dropped");
            }
        }
        held.push_back(event);
    }

    /// Subscribes a client: returns the events held for it and a receiver
    /// for the ones to come. Receipts for the held events are committed.
    pub fn subscribe(&self) -> (Vec<EventView>, broadcast::Receiver<EventView>) {
        let mut held = lock_or_recover(&self.held, "hub");
        let receiver = self.sender.subscribe();
        let backlog: Vec<VehicleEvent> = held.drain(..).collect();
        drop(held);
        for event in &backlog {
            self.commit_receipt(event);
        }
        (backlog.iter().map(EventView::from).collect(), receiver)
    }

    /// Feeds the hub from the uplink's event channel until it closes. Each
    /// event is delivered on a blocking thread (its receipt is fsynced), one
    /// at a time and in order.
    pub async fn run(self, mut events: mpsc::Receiver<VehicleEvent>) {
        while let Some(event) = events.recv().await {
            let hub = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || hub.deliver(event)).await {
                tracing::error!(error = %e, "event delivery failed");
            }
        }
    }

    fn commit_receipt(&self, event: &VehicleEvent) {
        let receipt = receipt_message(&self.vin, event, now_ms());
        match lock_or_recover(&self.outbox, "outbox").commit(&receipt) {
            Ok(id) => tracing::info!(event_id = %event.event_id, ?id, "receipt queued"),
            Err(e) => {
                tracing::error!(event_id = %event.event_id, error = %e, "cannot queue receipt")
            }
        }
        self.wake.notify_one();
    }
}
