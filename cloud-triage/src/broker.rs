//! The embedded MQTT broker (rumqttd 0.20), so one command runs the whole
//! pipeline with zero setup. Production points `--mqtt-url` at Mosquitto, EMQX
//! or HiveMQ.
//!
//! # One router, two listeners
//!
//! rumqttd's `Broker::start` blocks its thread for the life of the process and
//! has no stop, so the service assembles the same parts itself: one router
//! (`Router::spawn`, its own thread) and two MQTT servers on it, each on its
//! own thread and runtime. Vehicles connect to [`EmbeddedBroker::addr`]; the
//! service's own connections (ingest, downlink) to [`EmbeddedBroker::internal`],
//! a free port on 127.0.0.1. Only the vehicles' listener is ever closed.
//!
//! # No blind window at start (issue 21)
//!
//! A car deletes an outbox entry on the broker's PUBACK, and rumqttd sends the
//! PUBACK once the publish is in its in-memory log, subscribed or not. Ingest
//! subscribes only after the triage model has loaded, 300–400 ms after the
//! broker began listening; a car that connected in between was acknowledged
//! and its feedback went to nobody. So before either listener opens,
//! [`EmbeddedBroker::start`] registers ingest's persistent session with the
//! router: an in-process link with ingest's exact client id and
//! `clean_session = false` subscribes ingest's exact filter at QoS 1, waits
//! for the SUBACK, and disconnects. rumqttd keeps the disconnected session's
//! subscription and read cursor ("graveyard", `handle_disconnection`); every
//! publish after that is appended to the filter's log behind the cursor, and
//! when ingest connects with the same id and a persistent session
//! (`handle_new_connection`) it reads on from there. The subscription is the
//! plain filter, never `$share/…`: rumqttd deletes a shared-subscription group
//! when its last member disconnects, and with it the group's cursor. The QoS
//! matters too: a persistent session keeps the QoS of its first subscribe, and
//! a QoS 0 subscription would forward without waiting for ingest's PUBACK.
//!
//! # Graceful stop
//!
//! On SIGTERM or Ctrl-C the service calls [`EmbeddedBroker::close_to_vehicles`]:
//! the vehicles' runtime is dropped, which closes the listener and every
//! vehicle connection, so no car gets a PUBACK from then on (a publish that
//! arrives after the cut is not acknowledged, and its car sends it again
//! later). Every publish a car *was* acknowledged is in the log by then,
//! because the router appends before it answers. Then
//! [`EmbeddedBroker::publish_end_marker`] appends a marker on the feedback
//! topic of a per-process random name; ingest takes publishes until the
//! marker, commits and acknowledges them, and only then does the process exit
//! (`ingest::mqtt_loop::Drain`).
//!
//! # Limits
//!
//! - The broker keeps its log in memory. A `kill -9`, power loss or crash of
//!   the process loses every message the broker acknowledged to a car but
//!   ingest had not committed: the car has deleted it, and nothing else holds
//!   it. No restart can bring those back; an external broker with persistent
//!   sessions (and its own persistence) is the answer where that matters.
//! - A graceful stop drains for at most `ingest::mqtt_loop::STOP_LIMIT`; a
//!   backlog that takes longer is lost as above, with an error in the log.
//! - The internal listener has no authentication, like the vehicles' one; any
//!   local process can connect to it.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use rumqttd::{
    local::{LinkBuilder, LinkRx, LinkTx},
    protocol::{
        v4::V4, Disconnect, DisconnectReasonCode, Filter, Packet, QoS, RetainForwardRule,
        Subscribe, SubscribeReasonCode,
    },
    ConnectionSettings, LinkType, Router, RouterConfig, Server, ServerSettings,
};
use tokio::sync::oneshot;

use qloop_protocol::MAX_MESSAGE_BYTES;

/// Slack over the protocol's message limit for MQTT headers and topic names.
pub const PACKET_OVERHEAD: usize = 4 * 1024;

/// Opens an in-process connection to the router: client id, clean session.
type Linker = Arc<dyn Fn(&str, bool) -> anyhow::Result<(LinkTx, LinkRx)> + Send + Sync>;

/// The session ingest will resume: its client id and subscription filter,
/// exactly as ingest connects and subscribes.
#[derive(Debug, Clone, Copy)]
pub struct IngestSession<'a> {
    /// Ingest's MQTT client id.
    pub client_id: &'a str,
    /// The filter ingest subscribes to (plain, not `$share/…`).
    pub filter: &'a str,
}

/// A running embedded broker. Dropping it closes both listeners.
pub struct EmbeddedBroker {
    /// Where vehicles connect.
    pub addr: SocketAddr,
    /// Where the service's own connections (ingest, downlink) go: 127.0.0.1.
    pub internal: SocketAddr,
    end_marker: String,
    link: Linker,
    vehicles: Option<Listener>,
    _internal_listener: Listener,
}

impl std::fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("addr", &self.addr)
            .field("internal", &self.internal)
            .field("accepting_vehicles", &self.vehicles.is_some())
            .finish()
    }
}

/// An MQTT server on its own thread and runtime; stops when told to or when
/// this is dropped.
struct Listener {
    stop: oneshot::Sender<()>,
    closed: oneshot::Receiver<()>,
}

impl Listener {
    /// Runs `server` until stopped. Stopping drops the server's runtime, and
    /// with it the accept loop and every connection task on it: the listener
    /// and every client's socket close.
    fn spawn(mut server: Server<V4>, name: &str) -> anyhow::Result<Self> {
        let (stop, stopped) = oneshot::channel::<()>();
        let (closed_tx, closed) = oneshot::channel::<()>();
        let thread_name = name.to_string();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        tracing::error!(error = %e, listener = thread_name, "no runtime for the MQTT listener");
                        return;
                    }
                };
                runtime.block_on(async {
                    tokio::select! {
                        result = server.start(LinkType::Remote) => {
                            if let Err(e) = result {
                                tracing::error!(error = %e, listener = thread_name, "embedded MQTT listener stopped");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                drop(runtime);
                let _ = closed_tx.send(());
            })
            .with_context(|| format!("spawning the {name} thread"))?;
        Ok(Self { stop, closed })
    }

    /// Stops the server and waits until its listener and connections are closed.
    async fn close(self) {
        let _ = self.stop.send(());
        let _ = self.closed.await;
    }
}

impl EmbeddedBroker {
    /// Starts a broker for vehicles on `addr` (port 0 picks a free port) with
    /// ingest's persistent session registered before anything listens, and
    /// waits until both listeners accept connections.
    pub fn start(addr: SocketAddr, ingest: IngestSession<'_>) -> anyhow::Result<Self> {
        if ingest.filter.starts_with("$share/") {
            bail!(
                "ingest's session on the embedded broker needs a plain filter, not {:?}: \
                 rumqttd drops a shared group when its last member disconnects",
                ingest.filter
            );
        }
        let addr = if addr.port() == 0 {
            free_port(addr.ip())?
        } else {
            addr
        };
        let internal = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?;

        let router_tx = Router::new(0, router_config()).spawn();
        let link: Linker = {
            let router_tx = router_tx.clone();
            Arc::new(move |client_id: &str, clean: bool| {
                LinkBuilder::new(client_id, router_tx.clone())
                    .clean_session(clean)
                    .dynamic_filters(true)
                    .build()
                    .map(|(tx, rx, _connack)| (tx, rx))
                    .map_err(|e| anyhow!("{e}"))
            })
        };
        register_session(&link, ingest)?;
        tracing::info!(
            client_id = ingest.client_id,
            filter = ingest.filter,
            "ingest's persistent session registered before the broker listens"
        );

        let internal_listener = Listener::spawn(
            Server::new(server_settings("internal", internal), router_tx.clone(), V4),
            "mqtt-internal",
        )?;
        wait_until_listening(internal, Duration::from_secs(10))?;
        let vehicles = Listener::spawn(
            Server::new(server_settings("vehicles", addr), router_tx, V4),
            "mqtt-vehicles",
        )?;
        wait_until_listening(addr, Duration::from_secs(10))?;
        tracing::info!(%addr, %internal, "embedded MQTT broker listening");
        let end_marker =
            qloop_protocol::topic::feedback_topic(&format!("end-{:032x}", rand::random::<u128>()));
        Ok(Self {
            addr,
            internal,
            end_marker,
            link,
            vehicles: Some(vehicles),
            _internal_listener: internal_listener,
        })
    }

    /// The URL vehicles use.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }

    /// The URL of the service's own listener.
    pub fn internal_url(&self) -> String {
        format!("mqtt://{}", self.internal)
    }

    /// The topic of the end marker: a feedback topic no vehicle uses, so
    /// ingest's subscription receives it behind everything before it.
    pub fn end_marker(&self) -> &str {
        &self.end_marker
    }

    /// Closes the vehicles' listener and every vehicle connection, and waits
    /// until they are closed. From then on no car gets a PUBACK; every
    /// publish a car was acknowledged is in the log. Idempotent.
    pub async fn close_to_vehicles(&mut self) {
        if let Some(listener) = self.vehicles.take() {
            listener.close().await;
            tracing::info!(addr = %self.addr, "vehicle connections closed");
        }
    }

    /// Appends the end marker to the log (after [`Self::close_to_vehicles`]):
    /// ingest has taken everything a car was acknowledged once it sees it.
    pub async fn publish_end_marker(&self) -> anyhow::Result<()> {
        let (link, topic) = (self.link.clone(), self.end_marker.clone());
        tokio::task::spawn_blocking(move || {
            let client_id = format!("qloop-end-marker-{:08x}", rand::random::<u32>());
            let (mut tx, _rx) = link(&client_id, true).context("connecting the end marker")?;
            tx.publish(topic, "end".as_bytes().to_vec())
                .map_err(|e| anyhow!("publishing the end marker: {e}"))?;
            futures::executor::block_on(tx.send(disconnect()))
                .map_err(|e| anyhow!("disconnecting the end marker: {e}"))?;
            anyhow::Ok(())
        })
        .await?
    }
}

/// Registers ingest's persistent session with the router: subscribe at QoS
/// 1, wait for the SUBACK, disconnect, and wait until the router has dropped
/// the connection (its session is then saved for the client id).
fn register_session(link: &Linker, session: IngestSession<'_>) -> anyhow::Result<()> {
    let (mut tx, mut rx) =
        link(session.client_id, false).context("registering ingest's session with the broker")?;
    let subscribe = Subscribe {
        pkid: 1,
        filters: vec![Filter {
            path: session.filter.to_string(),
            qos: QoS::AtLeastOnce,
            nolocal: false,
            preserve_retain: false,
            retain_forward_rule: RetainForwardRule::Never,
        }],
    };
    futures::executor::block_on(tx.send(Packet::Subscribe(subscribe, None)))
        .map_err(|e| anyhow!("subscribing ingest's session: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let notification = rx
            .recv_deadline(deadline)
            .map_err(|e| anyhow!("no SUBACK for ingest's session: {e}"))?;
        match notification.and_then(Option::<Packet>::from) {
            Some(Packet::SubAck(ack, _)) => {
                if ack.return_codes != [SubscribeReasonCode::QoS1] {
                    bail!(
                        "ingest's session subscribed with {:?}, not QoS 1",
                        ack.return_codes
                    );
                }
                break;
            }
            Some(other) => tracing::debug!(packet = ?other, "while registering ingest's session"),
            None => {}
        }
    }
    futures::executor::block_on(tx.send(disconnect()))
        .map_err(|e| anyhow!("disconnecting ingest's session: {e}"))?;
    // The router drops the connection's channel once the session is saved.
    loop {
        match rx.recv_deadline(deadline) {
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => return Ok(()),
            Err(e) => bail!("the broker did not close ingest's registering connection: {e}"),
        }
    }
}

fn disconnect() -> Packet {
    Packet::Disconnect(
        Disconnect {
            reason_code: DisconnectReasonCode::NormalDisconnection,
        },
        None,
    )
}

fn router_config() -> RouterConfig {
    RouterConfig {
        max_connections: 10_010,
        max_outgoing_packet_count: 200,
        max_segment_size: 100 * 1024 * 1024,
        max_segment_count: 10,
        custom_segment: None,
        initialized_filters: None,
        shared_subscriptions_strategy: Default::default(),
    }
}

fn server_settings(name: &str, listen: SocketAddr) -> ServerSettings {
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_MESSAGE_BYTES + PACKET_OVERHEAD,
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    ServerSettings {
        name: name.into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    }
}

/// Asks the OS for a free port on `ip`.
pub fn free_port(ip: IpAddr) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((ip, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?)
}

fn wait_until_listening(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("embedded broker did not listen on {addr} within {limit:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use qloop_protocol::topic;
    use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions};

    const INGEST: &str = "broker-test-ingest";

    fn start() -> EmbeddedBroker {
        let filter = topic::feedback_filter();
        EmbeddedBroker::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            IngestSession {
                client_id: INGEST,
                filter: &filter,
            },
        )
        .expect("broker starts")
    }

    fn client(addr: SocketAddr, id: &str, clean: bool) -> (AsyncClient, EventLoop) {
        let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_clean_session(clean).set_manual_acks(!clean);
        AsyncClient::new(options, 100)
    }

    /// Polls until `want` matches an event; panics after 10 s or on an error.
    async fn until<T>(eventloop: &mut EventLoop, mut want: impl FnMut(&Event) -> Option<T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let event = eventloop.poll().await.expect("connected");
                if let Some(found) = want(&event) {
                    return found;
                }
            }
        })
        .await
        .expect("in time")
    }

    /// A car publishes and is acknowledged; only then does ingest connect.
    async fn publish_as_car(broker: &EmbeddedBroker, vin: &str, payload: &str) {
        let (car, mut car_loop) = client(broker.addr, &format!("car-{vin}"), true);
        car.publish(
            topic::feedback_topic(vin),
            rumqttc::QoS::AtLeastOnce,
            false,
            payload.as_bytes().to_vec(),
        )
        .await
        .unwrap();
        until(&mut car_loop, |e| {
            matches!(e, Event::Incoming(Incoming::PubAck(_))).then_some(())
        })
        .await;
    }

    #[tokio::test]
    async fn what_a_car_sent_before_ingest_connected_reaches_ingest_at_qos_1() {
        let broker = start();
        publish_as_car(&broker, "WBA00000000000001", "before ingest").await;

        let (ingest, mut ingest_loop) = client(broker.internal, INGEST, false);
        let session_present = until(&mut ingest_loop, |e| match e {
            Event::Incoming(Incoming::ConnAck(ack)) => Some(ack.session_present),
            _ => None,
        })
        .await;
        assert!(session_present, "the registered session is resumed");
        ingest
            .subscribe(topic::feedback_filter(), rumqttc::QoS::AtLeastOnce)
            .await
            .unwrap();
        let publish = until(&mut ingest_loop, |e| match e {
            Event::Incoming(Incoming::Publish(p)) => Some(p.clone()),
            _ => None,
        })
        .await;
        assert_eq!(&publish.payload[..], b"before ingest");
        assert_eq!(publish.qos, rumqttc::QoS::AtLeastOnce);
    }

    #[tokio::test]
    async fn once_closed_to_vehicles_no_car_is_acknowledged_and_the_marker_comes_last() {
        let mut broker = start();
        let (ingest, mut ingest_loop) = client(broker.internal, INGEST, false);
        ingest
            .subscribe(topic::feedback_filter(), rumqttc::QoS::AtLeastOnce)
            .await
            .unwrap();
        let (car, mut car_loop) = client(broker.addr, "car-late", true);
        until(&mut car_loop, |e| {
            matches!(e, Event::Incoming(Incoming::ConnAck(_))).then_some(())
        })
        .await;
        publish_as_car(&broker, "WBA00000000000002", "acknowledged").await;

        broker.close_to_vehicles().await;
        // The connected car is cut off, and nobody can connect again.
        car.publish(
            topic::feedback_topic("WBA00000000000003"),
            rumqttc::QoS::AtLeastOnce,
            false,
            b"after the cut".to_vec(),
        )
        .await
        .unwrap();
        let cut = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match car_loop.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => return false,
                    Ok(_) => {}
                    Err(_) => return true,
                }
            }
        })
        .await
        .expect("in time");
        assert!(cut, "no PUBACK after the cut");
        assert!(TcpStream::connect_timeout(&broker.addr, Duration::from_secs(1)).is_err());

        broker.publish_end_marker().await.unwrap();
        let mut topics = Vec::new();
        while topics.last() != Some(&broker.end_marker().to_string()) {
            let publish = until(&mut ingest_loop, |e| match e {
                Event::Incoming(Incoming::Publish(p)) => Some(p.clone()),
                _ => None,
            })
            .await;
            ingest.ack(&publish).await.unwrap();
            topics.push(publish.topic.clone());
        }
        assert_eq!(
            topics,
            [
                topic::feedback_topic("WBA00000000000002"),
                broker.end_marker().to_string()
            ]
        );
    }
}
