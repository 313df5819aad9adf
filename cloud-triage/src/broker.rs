//! The embedded MQTT broker (rumqttd), so one command runs the whole pipeline
//! with zero setup. Production points `--mqtt-url` at Mosquitto, EMQX or HiveMQ.
//!
//! rumqttd's `Broker::start` blocks its thread for the life of the process and
//! has no stop call, so the broker runs on a dedicated OS thread and lives until
//! the process exits. Its state is in memory: messages it has acknowledged to a
//! car but not yet delivered to ingest die with the process. That is why a car
//! keeps its outbox entry until the broker's PUBACK *and* why production uses
//! an external broker with persistent sessions (see ARCHITECTURE.md).

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use qloop_protocol::MAX_MESSAGE_BYTES;

/// Slack over the protocol's message limit for MQTT headers and topic names.
pub const PACKET_OVERHEAD: usize = 4 * 1024;

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    /// The address it listens on.
    pub addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Starts a broker on `addr` (port 0 picks a free port) and waits until it
    /// accepts connections.
    pub fn start(addr: SocketAddr) -> anyhow::Result<Self> {
        let addr = if addr.port() == 0 {
            free_port(addr.ip())?
        } else {
            addr
        };
        let config = broker_config(addr);
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                let mut broker = Broker::new(config);
                if let Err(e) = broker.start() {
                    tracing::error!(error = %e, "embedded MQTT broker stopped");
                }
            })
            .context("spawning the broker thread")?;
        wait_until_listening(addr, Duration::from_secs(10))?;
        tracing::info!(%addr, "embedded MQTT broker listening");
        Ok(Self { addr })
    }

    /// The URL clients use to reach it.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }
}

fn broker_config(addr: SocketAddr) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_MESSAGE_BYTES + PACKET_OVERHEAD,
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "v4-1".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}

/// Asks the OS for a free port on `ip`.
pub fn free_port(ip: std::net::IpAddr) -> anyhow::Result<SocketAddr> {
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
