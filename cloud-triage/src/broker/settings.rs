//! The embedded broker's router and listener settings, and the port helpers.

use std::{
    net::{IpAddr, SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use rumqttd::{ConnectionSettings, RouterConfig, ServerSettings};

use qloop_protocol::MAX_MESSAGE_BYTES;

use super::PACKET_OVERHEAD;

pub(super) fn router_config() -> RouterConfig {
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

pub(super) fn server_settings(name: &str, listen: SocketAddr) -> ServerSettings {
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

pub(super) fn wait_until_listening(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("embedded broker did not listen on {addr} within {limit:?}")
}
