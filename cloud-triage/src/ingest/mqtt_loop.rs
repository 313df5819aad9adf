//! The ingest side of MQTT. One task owns the ingest connection's `EventLoop`
//! and polls it without pause (STYLE rule 6); it hands publishes to the
//! ingest pipeline. (The downlink publishes on its own connection, see
//! [`crate::mqtt::downlink_options`].) The pipeline runs up to N handlers
//! at once but acknowledges strictly in arrival order, each message only after
//! its handler committed — a crash before that means redelivery, never loss.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::stream::{FuturesOrdered, StreamExt};
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, Publish, QoS};
use tokio::sync::mpsc;

use crate::ingest::IngestHandler;

/// Shared flags the API reports.
#[derive(Debug, Default)]
pub struct MqttStatus {
    /// Connected and subscribed.
    pub subscribed: AtomicBool,
}

/// Polls the event loop until `shutdown` resolves.
pub async fn run_event_loop(
    client: AsyncClient,
    mut eventloop: EventLoop,
    publishes: mpsc::UnboundedSender<Publish>,
    status: Arc<MqttStatus>,
    filter: String,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            _ = &mut shutdown => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                backoff = Duration::from_millis(200);
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
                if publishes.send(publish).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                status.subscribed.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, retry_in = ?backoff, "MQTT connection lost");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(jittered(backoff)) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Processes publishes with up to `concurrency` handlers in flight and
/// acknowledges each, in arrival order, after its commit.
pub async fn run_pipeline(
    client: AsyncClient,
    mut publishes: mpsc::UnboundedReceiver<Publish>,
    handler: IngestHandler,
    concurrency: usize,
) {
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(publish) = in_flight.next(), if !in_flight.is_empty() => ack(&client, publish).await,
            received = publishes.recv(), if in_flight.len() < concurrency => match received {
                Some(publish) => in_flight.push_back(handle_until_committed(handler.clone(), publish)),
                None => break,
            },
            else => break,
        }
    }
    while let Some(publish) = in_flight.next().await {
        ack(&client, publish).await;
    }
}

async fn ack(client: &AsyncClient, publish: Publish) {
    if let Err(e) = client.ack(&publish).await {
        // The broker will redeliver after reconnecting; the store is idempotent.
        tracing::warn!(error = %e, pkid = publish.pkid, "could not send PUBACK");
    }
}

/// Runs the handler until it commits; transient failures are retried with
/// backoff and the message stays unacknowledged meanwhile.
async fn handle_until_committed(handler: IngestHandler, publish: Publish) -> Publish {
    let mut backoff = Duration::from_millis(100);
    loop {
        match handler.handle(&publish.topic, &publish.payload).await {
            Ok(_) => return publish,
            Err(e) => {
                tracing::error!(error = %e, retry_in = ?backoff, "ingest failed; message not acknowledged");
                tokio::time::sleep(jittered(backoff)).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// `d` plus up to 25 % random jitter, so many workers do not retry in step.
pub fn jittered(d: Duration) -> Duration {
    let extra = rand::random::<f64>() * 0.25;
    d + d.mul_f64(extra)
}
