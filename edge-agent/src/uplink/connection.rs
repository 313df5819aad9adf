//! The one task that owns the MQTT `EventLoop`.
//!
//! Delivery is tracked per packet: publishes are handed to rumqttc in outbox
//! order, and rumqttc reports `Outgoing::Publish(pkid)` in that same order,
//! so the n-th report names the n-th entry sent. `Incoming::PubAck(pkid)`
//! then deletes exactly that entry. On any error the session is gone (clean
//! session), so tracking is reset and, after the next CONNACK, everything
//! still in the outbox is published again; the cloud deduplicates by
//! `feedback_id`. Publishing uses `try_publish` on a channel sized above the
//! in-flight limit, so this task never waits on itself.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    sync::Arc,
    time::Duration,
};

use qloop_protocol::{link::Backoff, topic, VehicleEvent};
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS};
use tokio::sync::{mpsc, watch, Notify};

use super::{downlink, UplinkSettings, UplinkStatus};
use crate::{
    lock::lock_or_recover,
    outbox::{EntryId, OutboxError, SharedOutbox},
};

/// The event-loop owner and its delivery bookkeeping.
pub struct Connection {
    client: AsyncClient,
    event_loop: EventLoop,
    outbox: SharedOutbox,
    events: Option<mpsc::Sender<VehicleEvent>>,
    status: watch::Sender<UplinkStatus>,
    wake: Arc<Notify>,
    backoff: Backoff,
    feedback_topic: String,
    events_topic: String,
    vin: String,
    max_inflight: usize,
    /// Entries handed to rumqttc whose packet id is not yet known, in order.
    awaiting_pkid: VecDeque<EntryId>,
    /// Entries published and waiting for PUBACK, by packet id.
    by_pkid: HashMap<u16, EntryId>,
    /// Every entry published in this session and not yet acknowledged.
    in_flight: HashSet<EntryId>,
}

impl Connection {
    /// Builds the client and event loop; nothing connects until `run`.
    pub fn new(
        settings: UplinkSettings,
        options: MqttOptions,
        outbox: SharedOutbox,
        events: Option<mpsc::Sender<VehicleEvent>>,
        status: watch::Sender<UplinkStatus>,
        wake: Arc<Notify>,
    ) -> Self {
        let max_inflight = settings.broker.max_inflight as usize;
        let (client, mut event_loop) = AsyncClient::new(options, max_inflight + 8);
        event_loop
            .network_options
            .set_connection_timeout(settings.broker.connect_timeout_s);
        Self {
            client,
            event_loop,
            outbox,
            events,
            status,
            wake,
            backoff: Backoff::new(
                Duration::from_millis(settings.broker.reconnect_min_ms),
                Duration::from_millis(settings.broker.reconnect_max_ms),
            ),
            feedback_topic: topic::feedback_topic(&settings.vin),
            events_topic: topic::events_topic(&settings.vin),
            vin: settings.vin.clone(),
            max_inflight,
            awaiting_pkid: VecDeque::new(),
            by_pkid: HashMap::new(),
            in_flight: HashSet::new(),
        }
    }

    /// Polls until `shutdown` resolves, then disconnects politely.
    pub async fn run(mut self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake.notified() => {
                    if self.status.borrow().connected {
                        self.publish_pending().await;
                    }
                }
                polled = self.event_loop.poll() => match polled {
                    Ok(event) => self.on_event(event).await,
                    Err(error) => {
                        self.on_error(error.to_string());
                        let delay = self.backoff.next_delay();
                        tracing::warn!(%error, ?delay, "MQTT connection failed; retrying");
                        tokio::select! {
                            _ = &mut shutdown => break,
                            _ = tokio::time::sleep(delay) => {}
                        }
                    }
                },
            }
        }
        self.disconnect().await;
    }

    async fn on_event(&mut self, event: Event) {
        match event {
            Event::Incoming(Incoming::ConnAck(ack)) => {
                tracing::info!(code = ?ack.code, "MQTT connected");
                self.backoff.reset();
                self.reset_tracking();
                self.status.send_modify(|s| {
                    s.connected = true;
                    s.connections += 1;
                });
                if let Err(e) = self
                    .client
                    .try_subscribe(self.events_topic.clone(), QoS::AtLeastOnce)
                {
                    tracing::error!(error = %e, "cannot subscribe to the events topic");
                }
                self.publish_pending().await;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => match self.awaiting_pkid.pop_front() {
                Some(id) => {
                    self.by_pkid.insert(pkid, id);
                }
                None => tracing::warn!(pkid, "publish reported that this task did not send"),
            },
            Event::Outgoing(Outgoing::AwaitAck(pkid)) => {
                tracing::warn!(pkid, "packet id collision; entry stays pending");
                if let Some(id) = self.awaiting_pkid.pop_front() {
                    self.in_flight.remove(&id);
                }
            }
            Event::Incoming(Incoming::PubAck(ack)) => self.on_puback(ack.pkid).await,
            Event::Incoming(Incoming::Publish(publish)) => {
                if publish.topic == self.events_topic {
                    downlink::forward_event(&publish.payload, self.events.as_ref());
                } else {
                    tracing::warn!(topic = %publish.topic, "message on an unexpected topic");
                }
            }
            _ => {}
        }
    }

    /// Deletes the acknowledged entry (on a blocking thread: the delete is
    /// made durable by a directory fsync), then publishes what is next.
    async fn on_puback(&mut self, pkid: u16) {
        let Some(id) = self.by_pkid.remove(&pkid) else {
            tracing::debug!(pkid, "PUBACK for an unknown packet id");
            return;
        };
        self.in_flight.remove(&id);
        let outbox = self.outbox.clone();
        let removed =
            tokio::task::spawn_blocking(move || lock_or_recover(&outbox, "outbox").remove(id))
                .await;
        match removed {
            Ok(Ok(_)) => self.status.send_modify(|s| s.acknowledged += 1),
            Ok(Err(e)) => tracing::error!(?id, error = %e, "cannot delete acknowledged entry"),
            Err(e) => tracing::error!(?id, error = %e, "outbox delete task failed"),
        }
        self.publish_pending().await;
    }

    fn on_error(&mut self, error: String) {
        self.reset_tracking();
        self.status.send_modify(|s| {
            s.connected = false;
            s.last_error = Some(error);
        });
    }

    fn reset_tracking(&mut self) {
        self.awaiting_pkid.clear();
        self.by_pkid.clear();
        self.in_flight.clear();
    }

    /// Hands the oldest unsent entries to rumqttc, up to the in-flight limit.
    /// The outbox is read (and losses reported) on a blocking thread.
    async fn publish_pending(&mut self) {
        let room = self.max_inflight.saturating_sub(self.in_flight.len());
        if room == 0 {
            return;
        }
        let outbox = self.outbox.clone();
        let in_flight = self.in_flight.clone();
        let vin = self.vin.clone();
        let next =
            tokio::task::spawn_blocking(move || next_to_publish(&outbox, &in_flight, room, &vin))
                .await;
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "outbox read task failed");
                return;
            }
        };
        for (id, bytes) in next.entries {
            let topic = self.feedback_topic.clone();
            match self
                .client
                .try_publish(topic, QoS::AtLeastOnce, false, bytes)
            {
                Ok(()) => {
                    self.awaiting_pkid.push_back(id);
                    self.in_flight.insert(id);
                    self.status.send_modify(|s| s.published += 1);
                }
                Err(e) => {
                    tracing::warn!(?id, error = %e, "request queue full; will retry");
                    break;
                }
            }
        }
        if next.losses_reported {
            // The reports (and any resent chunk) go out on the next pass.
            self.wake.notify_one();
        }
    }

    async fn disconnect(mut self) {
        if !self.status.borrow().connected {
            return;
        }
        if self.client.try_disconnect().is_err() {
            return;
        }
        // Let the event loop write the DISCONNECT, bounded in time.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                match self.event_loop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        self.status.send_modify(|s| s.connected = false);
    }
}

/// What [`next_to_publish`] read from the outbox.
struct NextEntries {
    /// The oldest entries not in flight, with their message bytes.
    entries: Vec<(EntryId, Vec<u8>)>,
    /// Loss reports were committed: another pass should publish them.
    losses_reported: bool,
}

/// Reads up to `room` of the oldest entries not in `in_flight` and commits
/// reports of any records lost. Blocking file I/O: run on a blocking thread.
fn next_to_publish(
    outbox: &SharedOutbox,
    in_flight: &HashSet<EntryId>,
    room: usize,
    vin: &str,
) -> NextEntries {
    let mut outbox = lock_or_recover(outbox, "outbox");
    let ids: Vec<EntryId> = outbox
        .pending()
        .filter(|id| !in_flight.contains(id))
        .take(room)
        .collect();
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        match outbox.read(id) {
            Ok(bytes) => entries.push((id, bytes)),
            // Quarantined and logged; reported to the cloud below.
            Err(OutboxError::Corrupt { .. }) => {}
            Err(e) => tracing::error!(?id, error = %e, "cannot read outbox entry"),
        }
    }
    let mut losses_reported = false;
    if !outbox.unreported_losses().is_empty() {
        match outbox.report_losses(vin, crate::capture::now_ms()) {
            Ok(_) => losses_reported = true,
            Err(e) => tracing::error!(error = %e, "outbox losses not yet reported"),
        }
    }
    NextEntries {
        entries,
        losses_reported,
    }
}
