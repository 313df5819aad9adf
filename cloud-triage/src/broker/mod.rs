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
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::{anyhow, bail, Context};
use rumqttd::{
    local::{LinkBuilder, LinkRx, LinkTx},
    protocol::v4::V4,
    LinkType, Router, Server,
};
use tokio::sync::oneshot;

mod session;
mod settings;
#[cfg(test)]
mod tests;

use session::{disconnect, register_session};
pub use settings::free_port;
use settings::{router_config, server_settings, wait_until_listening};

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
