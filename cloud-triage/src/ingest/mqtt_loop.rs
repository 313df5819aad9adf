//! The ingest side of MQTT. One task owns the ingest connection's `EventLoop`
//! and polls it without pause (STYLE rule 6); it hands publishes to the
//! ingest pipeline. (The downlink publishes on its own connection, see
//! [`crate::mqtt::downlink_options`].) The pipeline runs up to N handlers
//! at once but acknowledges strictly in arrival order, each message only after
//! its handler committed — a crash before that means redelivery by a broker
//! that keeps the session (on the embedded broker, see [`crate::broker`]).
//!
//! Stopping ([`Drain`]): the event loop stops taking publishes (at once, or
//! on the embedded broker at its end marker), the pipeline commits and
//! acknowledges what it took, then sends DISCONNECT; the event loop is polled
//! until that DISCONNECT is written, so the PUBACKs before it reach the broker.
//!
//! The channel between the two is bounded ([`PIPELINE_QUEUE`]). A QoS 1
//! publish waits for room: the broker's in-flight window (20 on Mosquitto's
//! default, 500 on the embedded broker) keeps that from happening in practice,
//! and when it does, not polling is the backpressure the broker sees. A QoS 0
//! publish, which no broker redelivers and no car may send for feedback, is
//! dropped with a warning when the queue is full rather than queued without
//! bound.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::stream::{FuturesOrdered, StreamExt};
use qloop_protocol::link::Backoff;
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, Outgoing, Publish, QoS};
use tokio::{sync::mpsc, time::Instant};

use crate::ingest::IngestHandler;

/// Publishes queued between the event loop and the pipeline, at most.
pub const PIPELINE_QUEUE: usize = 1024;

/// Shared flags and counters the API and the logs report.
#[derive(Debug, Default)]
pub struct MqttStatus {
    /// Connected and subscribed.
    pub subscribed: AtomicBool,
    /// Publishes handed to the pipeline.
    pub taken: AtomicU64,
    /// Publishes the pipeline committed and acknowledged.
    pub acknowledged: AtomicU64,
}

impl MqttStatus {
    /// Taken and not yet acknowledged: what a stop has to finish.
    pub fn unfinished(&self) -> u64 {
        let taken = self.taken.load(Ordering::SeqCst);
        taken.saturating_sub(self.acknowledged.load(Ordering::SeqCst))
    }
}

/// The longest a stop may take: draining what the broker holds, committing
/// it and sending the PUBACKs. Past it the event loop gives up (see
/// [`Drain`] for what that loses).
pub const STOP_LIMIT: Duration = Duration::from_secs(120);

/// What ingest takes once the service is told to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drain {
    /// External broker: nothing new. Publishes already taken are committed
    /// and acknowledged; the broker keeps the rest for the persistent session.
    Now,
    /// Embedded broker: everything up to the publish on this topic, the end
    /// marker the broker appends once no vehicle can be acknowledged any more
    /// ([`crate::broker::EmbeddedBroker::publish_end_marker`]). Those
    /// messages exist nowhere else: their cars have deleted them.
    UntilMarker(String),
}

/// Polls the event loop and hands publishes to the pipeline. Once `shutdown`
/// resolves it takes what `drain` says, closes the pipeline's channel, and
/// keeps polling until the pipeline has sent its last PUBACK and the
/// DISCONNECT behind it (or [`STOP_LIMIT`] passed).
///
/// Over 80 lines on purpose: it is the one `select!` loop that owns the
/// event loop (STYLE rule 6), and its arms share the stop state
/// (`stop_by`, `publishes`, `backoff`); split into functions, each arm
/// would take all of it by `&mut`, which reads worse than the loop.
pub async fn run_event_loop(
    client: AsyncClient,
    mut eventloop: EventLoop,
    publishes: mpsc::Sender<Publish>,
    status: Arc<MqttStatus>,
    filter: String,
    drain: Drain,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = crate::mqtt::reconnect_backoff();
    // `None` once the pipeline's channel is closed: nothing more is taken.
    let mut publishes = Some(publishes);
    // Set when the stop began; the loop ends by then at the latest.
    let mut stop_by: Option<Instant> = None;
    loop {
        let deadline = stop_by.unwrap_or_else(|| Instant::now() + STOP_LIMIT);
        let event = tokio::select! {
            _ = &mut shutdown, if stop_by.is_none() => {
                stop_by = Some(Instant::now() + STOP_LIMIT);
                begin_stop(&drain, &mut publishes, &status);
                continue;
            }
            _ = tokio::time::sleep_until(deadline), if stop_by.is_some() => {
                tracing::error!(
                    limit = ?STOP_LIMIT,
                    unfinished = status.unfinished(),
                    channel_closed = publishes.is_none(),
                    "ingest did not finish stopping in time; what it had not committed is \
                     redelivered by an external broker, lost with the embedded one"
                );
                break;
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                backoff.reset();
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to MQTT broker"
                );
                let (client, filter) = (client.clone(), filter.clone());
                tokio::spawn(async move {
                    if let Err(e) = client.subscribe(filter, QoS::AtLeastOnce).await {
                        tracing::error!(error = %e, "subscribe request failed");
                    }
                });
            }
            Ok(Event::Incoming(Incoming::SubAck(_))) => {
                status.subscribed.store(true, Ordering::SeqCst);
                tracing::info!("subscribed to vehicle feedback");
            }
            Ok(Event::Incoming(Incoming::Publish(publish))) => {
                if matches!(&drain, Drain::UntilMarker(marker) if *marker == publish.topic) {
                    // Everything before it is taken. It is not acknowledged:
                    // the session ends with the process.
                    tracing::info!(
                        unfinished = status.unfinished(),
                        "end of the embedded broker's log reached; finishing what was taken"
                    );
                    publishes = None;
                    stop_by.get_or_insert_with(|| Instant::now() + STOP_LIMIT);
                    continue;
                }
                // Not taken once the channel is closed: never acknowledged,
                // so the broker keeps it.
                if let Some(tx) = &publishes {
                    match hand_over(tx, publish).await {
                        Ok(true) => {
                            status.taken.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(false) => {}
                        Err(()) => publishes = None,
                    }
                }
            }
            // The pipeline sends DISCONNECT after its last PUBACK.
            Ok(Event::Outgoing(Outgoing::Disconnect)) if publishes.is_none() => {
                tracing::info!(
                    acknowledged = status.acknowledged.load(Ordering::SeqCst),
                    "ingest stopped; every message it took is committed and acknowledged"
                );
                return;
            }
            Ok(_) => {}
            Err(e) => {
                status.subscribed.store(false, Ordering::SeqCst);
                if stop_by.is_some() && publishes.is_none() {
                    tracing::warn!(error = %e, "MQTT connection lost while stopping; unacknowledged messages are redelivered");
                    break;
                }
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "MQTT connection lost");
                tokio::select! {
                    _ = &mut shutdown, if stop_by.is_none() => {
                        stop_by = Some(Instant::now() + STOP_LIMIT);
                        begin_stop(&drain, &mut publishes, &status);
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Queues a publish for the pipeline: `Ok(true)` taken, `Ok(false)` a QoS 0
/// publish dropped because the queue is full, `Err` the pipeline is gone.
async fn hand_over(tx: &mpsc::Sender<Publish>, publish: Publish) -> Result<bool, ()> {
    if publish.qos != QoS::AtMostOnce {
        return tx.send(publish).await.map(|()| true).map_err(|_| ());
    }
    match tx.try_send(publish) {
        Ok(()) => Ok(true),
        Err(mpsc::error::TrySendError::Full(dropped)) => {
            tracing::warn!(topic = %dropped.topic, "ingest queue full: a QoS 0 publish is dropped");
            Ok(false)
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
    }
}

/// The stop began: with [`Drain::Now`] nothing more is taken.
fn begin_stop(drain: &Drain, publishes: &mut Option<mpsc::Sender<Publish>>, status: &MqttStatus) {
    let unfinished = status.unfinished();
    match drain {
        Drain::Now => {
            *publishes = None;
            tracing::info!(
                unfinished,
                "stopping: finishing the messages taken; the broker keeps the rest"
            );
        }
        Drain::UntilMarker(_) if publishes.is_none() => tracing::info!(
            unfinished,
            "stopping: finishing what was taken up to the embedded broker's end marker"
        ),
        Drain::UntilMarker(_) => tracing::info!(
            unfinished,
            "stopping: taking what the embedded broker acknowledged, up to its end marker"
        ),
    }
}

/// Processes publishes with up to `concurrency` handlers in flight and
/// acknowledges each, in arrival order, after its commit. When the channel
/// closes it finishes what it took, acknowledges it, and asks for a
/// DISCONNECT behind the last PUBACK.
pub async fn run_pipeline(
    client: AsyncClient,
    mut publishes: mpsc::Receiver<Publish>,
    handler: IngestHandler,
    concurrency: usize,
    status: Arc<MqttStatus>,
) {
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(publish) = in_flight.next(), if !in_flight.is_empty() => ack(&client, publish, &status).await,
            received = publishes.recv(), if in_flight.len() < concurrency => match received {
                Some(publish) => in_flight.push_back(handle_until_committed(handler.clone(), publish)),
                None => break,
            },
            else => break,
        }
    }
    while let Some(publish) = in_flight.next().await {
        ack(&client, publish, &status).await;
    }
    if let Err(e) = client.disconnect().await {
        tracing::debug!(error = %e, "no DISCONNECT: the event loop has ended");
    }
}

async fn ack(client: &AsyncClient, publish: Publish, status: &MqttStatus) {
    match client.ack(&publish).await {
        Ok(()) => {
            status.acknowledged.fetch_add(1, Ordering::SeqCst);
        }
        // The broker will redeliver after reconnecting; the store is idempotent.
        Err(e) => tracing::warn!(error = %e, pkid = publish.pkid, "could not send PUBACK"),
    }
}

/// Runs the handler until it commits; transient failures are retried with
/// backoff and the message stays unacknowledged meanwhile.
async fn handle_until_committed(handler: IngestHandler, publish: Publish) -> Publish {
    // 100 ms doubling to 5 s, up to 25 % jitter so workers do not retry in step.
    let mut backoff =
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).with_jitter_percent(25);
    loop {
        match handler.handle(&publish.topic, &publish.payload).await {
            Ok(_) => return publish,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::error!(error = %e, retry_in = ?delay, "ingest failed; message not acknowledged");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(qos: QoS) -> Publish {
        Publish::new(
            "qloop/v1/vehicles/5YJ3E1EA7KF317000/feedback",
            qos,
            vec![1u8],
        )
    }

    #[tokio::test]
    async fn a_full_queue_drops_qos_0_and_makes_qos_1_wait_for_room() {
        let (tx, mut rx) = mpsc::channel(1);
        assert_eq!(hand_over(&tx, publish(QoS::AtLeastOnce)).await, Ok(true));
        assert_eq!(hand_over(&tx, publish(QoS::AtMostOnce)).await, Ok(false));
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { hand_over(&tx, publish(QoS::AtLeastOnce)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a QoS 1 publish waits for room");
        assert_eq!(rx.recv().await.unwrap().qos, QoS::AtLeastOnce);
        assert_eq!(waiting.await.unwrap(), Ok(true));
        drop(rx);
        assert_eq!(hand_over(&tx, publish(QoS::AtLeastOnce)).await, Err(()));
    }
}
