//! Downlink: events for cars (e.g. "received, case 17") are queued in the
//! database in the same transaction as the change that caused them, then
//! published here with QoS 1 and marked published only on the broker's PUBACK.
//! An event whose PUBACK never comes is published again after
//! [`REPUBLISH_AFTER`]; the car de-duplicates by `event_id`.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rumqttc::{AsyncClient, Event, EventLoop, Incoming, Outgoing, QoS};
use tokio::sync::Notify;
use uuid::Uuid;

use qloop_protocol::{encode, topic::events_topic, Message};

use crate::{mqtt::reconnect_backoff, now_ms, store::Store};

/// How long an event may wait for its PUBACK before it is published again.
pub const REPUBLISH_AFTER: Duration = Duration::from_secs(30);

/// How often the queue is polled when nothing wakes the publisher.
const POLL_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
struct TrackerState {
    /// Events handed to the client, waiting for their packet id, in order.
    awaiting_pkid: VecDeque<Uuid>,
    /// Packet id → event, waiting for PUBACK.
    by_pkid: HashMap<u16, Uuid>,
    /// Events in flight and when they were sent.
    sent_at: HashMap<Uuid, Instant>,
    /// Acknowledged by the broker, not yet marked in the database: not to
    /// be published again by a queue read that races the marking.
    acked_unmarked: HashSet<Uuid>,
}

/// Maps MQTT packet ids to events. The event-loop task reports packet ids
/// and PUBACKs; acknowledged events go to the publisher to be marked.
///
/// Acknowledged events wait in the tracker's own `acked_unmarked` set (bounded
/// by the events in flight), not in a channel: the publisher is woken and
/// takes them from there.
#[derive(Clone, Default)]
pub struct DownlinkTracker {
    state: Arc<Mutex<TrackerState>>,
    acked: Arc<Notify>,
}

impl DownlinkTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Events the broker acknowledged that are not yet marked published.
    fn acked_unmarked(&self) -> Vec<Uuid> {
        self.lock().acked_unmarked.iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn will_send(&self, event_id: Uuid) {
        let mut s = self.lock();
        s.awaiting_pkid.push_back(event_id);
        s.sent_at.insert(event_id, Instant::now());
    }

    fn is_in_flight(&self, event_id: &Uuid) -> bool {
        let s = self.lock();
        s.acked_unmarked.contains(event_id)
            || s.sent_at
                .get(event_id)
                .is_some_and(|t| t.elapsed() < REPUBLISH_AFTER)
    }

    fn marked(&self, event_id: &Uuid) {
        self.lock().acked_unmarked.remove(event_id);
    }

    /// The event loop sent a PUBLISH with this packet id (the only publisher
    /// on this client is the downlink, so ids come in send order).
    pub fn on_publish_sent(&self, pkid: u16) {
        let mut s = self.lock();
        if let Some(event_id) = s.awaiting_pkid.pop_front() {
            s.by_pkid.insert(pkid, event_id);
        }
    }

    /// The broker acknowledged this packet id.
    pub fn on_puback(&self, pkid: u16) {
        let event_id = {
            let mut s = self.lock();
            let id = s.by_pkid.remove(&pkid);
            if let Some(id) = id {
                s.sent_at.remove(&id);
                s.acked_unmarked.insert(id);
            }
            id
        };
        if event_id.is_some() {
            self.acked.notify_one();
        }
    }

    /// The connection dropped: nothing in flight will be acknowledged.
    pub fn on_disconnect(&self) {
        let mut s = self.lock();
        s.awaiting_pkid.clear();
        s.by_pkid.clear();
        s.sent_at.clear();
    }
}

/// Polls the downlink connection's event loop until `shutdown` resolves,
/// reporting packet ids and PUBACKs to the tracker.
pub async fn run_event_loop(
    client: AsyncClient,
    mut eventloop: EventLoop,
    tracker: DownlinkTracker,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = reconnect_backoff();
    loop {
        let event = tokio::select! {
            _ = &mut shutdown => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                backoff.reset();
                tracing::info!("downlink connected to MQTT broker");
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => tracker.on_publish_sent(pkid),
            Ok(Event::Incoming(Incoming::PubAck(ack))) => tracker.on_puback(ack.pkid),
            Ok(_) => {}
            Err(e) => {
                tracker.on_disconnect();
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "downlink MQTT connection lost");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Publishes queued events until `shutdown` resolves.
pub async fn run_publisher(
    store: Store,
    client: AsyncClient,
    tracker: DownlinkTracker,
    wake: Arc<Notify>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        for id in tracker.acked_unmarked() {
            mark_published(&store, &tracker, id).await;
        }
        match store.pending_downlink(100).await {
            Ok(events) => {
                let mut seen = HashSet::new();
                for (vin, event) in events {
                    if tracker.is_in_flight(&event.event_id) || !seen.insert(event.event_id) {
                        continue;
                    }
                    let payload = encode(&Message::Event(event.clone()));
                    tracker.will_send(event.event_id);
                    if let Err(e) = client
                        .publish(events_topic(&vin), QoS::AtLeastOnce, false, payload)
                        .await
                    {
                        tracing::warn!(error = %e, "downlink publish request failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the downlink queue failed"),
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = wake.notified() => {}
            _ = tracker.acked.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
}

/// Records the broker's PUBACK for an event; on failure the event is
/// published again later (the car de-duplicates by `event_id`).
async fn mark_published(store: &Store, tracker: &DownlinkTracker, id: Uuid) {
    if let Err(e) = store.mark_downlink_published(id, now_ms()).await {
        tracing::warn!(event_id = %id, error = %e, "could not mark event published");
    }
    tracker.marked(&id);
}
