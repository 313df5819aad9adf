//! Broker URLs and the MQTT client options the service uses.
//!
//! The triage client keeps a persistent session (`clean_session = false`) under
//! a stable client id, so an external broker holds QoS 1 messages while the
//! service is down, and acknowledges messages by hand only after they are
//! committed (`manual_acks`).

use std::time::Duration;

use anyhow::{bail, Context};
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use crate::broker::PACKET_OVERHEAD;
use qloop_protocol::MAX_MESSAGE_BYTES;

/// Where a broker is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://`: TLS with the platform's roots or a given CA.
    pub tls: bool,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]` (default 1883) or `mqtts://host[:port]` (8883).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else {
            bail!("broker URL {url:?} must start with mqtt:// or mqtts://");
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            bail!("broker URL {url:?} must be scheme://host[:port] with no path or credentials");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .with_context(|| format!("port {p:?} in broker URL {url:?}"))?;
                (
                    h.trim_start_matches('[').trim_end_matches(']').to_string(),
                    port,
                )
            }
            _ => (rest.to_string(), if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            bail!("broker URL {url:?} has no host");
        }
        Ok(Self { host, port, tls })
    }
}

/// Options for the downlink publisher's own connection: `client_id` with a
/// `-downlink` suffix, clean session (pending events live in the database,
/// not in the broker), automatic acknowledgements (it subscribes to nothing).
///
/// Ingest and downlink use separate connections on purpose. rumqttc sends
/// manual PUBACKs through the same request queue as publishes; when an
/// outgoing publish waits on a packet-id collision the queue stops, ingest
/// PUBACKs stop with it, and a broker that holds its own PUBACKs behind its
/// unacknowledged deliveries never answers again (seen once with rumqttd
/// under a full test run: "Last pingreq isn't acked", then "Timeout while
/// waiting to resolve collision").
pub fn downlink_options(
    url: &BrokerUrl,
    client_id: &str,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<MqttOptions> {
    let id: String = client_id.chars().take(55).collect();
    let mut options = triage_options(url, &format!("{id}-downlink"), ca_file)?;
    options.set_clean_session(true).set_manual_acks(false);
    Ok(options)
}

/// Options for one triage worker's ingest connection.
pub fn triage_options(
    url: &BrokerUrl,
    client_id: &str,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<MqttOptions> {
    let mut options = MqttOptions::new(client_id, url.host.clone(), url.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_inflight(100)
        .set_max_packet_size(
            MAX_MESSAGE_BYTES + PACKET_OVERHEAD,
            MAX_MESSAGE_BYTES + PACKET_OVERHEAD,
        );
    if url.tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = match ca_file {
            Some(path) => {
                let ca = std::fs::read(path)
                    .with_context(|| format!("reading CA file {}", path.display()))?;
                Transport::tls_with_config(TlsConfiguration::Simple {
                    ca,
                    alpn: None,
                    client_auth: None,
                })
            }
            None => Transport::tls_with_default_config(),
        };
        options.set_transport(transport);
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_ports_parse() {
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap(),
            BrokerUrl {
                host: "127.0.0.1".into(),
                port: 1883,
                tls: false
            }
        );
        assert_eq!(BrokerUrl::parse("mqtts://broker.local").unwrap().port, 8883);
        assert_eq!(BrokerUrl::parse("mqtt://[::1]:1884").unwrap().host, "::1");
    }

    #[test]
    fn urls_with_other_schemes_paths_or_bad_ports_are_refused() {
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://h:99999",
            "mqtt://u:p@h",
            "mqtt://h/path",
            "h:1883",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
