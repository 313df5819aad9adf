//! The MQTT client options the service uses. Broker URLs are parsed by
//! [`BrokerUrl`], shared with the car (`qloop_protocol::link`).
//!
//! The triage client keeps a persistent session (`clean_session = false`) under
//! a stable client id, so an external broker holds QoS 1 messages while the
//! service is down, and acknowledges messages by hand only after they are
//! committed (`manual_acks`).

use std::time::Duration;

use anyhow::Context;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use crate::broker::PACKET_OVERHEAD;
use qloop_protocol::link::Backoff;
pub use qloop_protocol::link::BrokerUrl;
use qloop_protocol::MAX_MESSAGE_BYTES;

/// The reconnect backoff of the service's MQTT connections (ingest and
/// downlink): 200 ms doubling to 10 s, plus up to 25 % jitter so that many
/// workers that lost the broker together do not come back in step.
pub fn reconnect_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).with_jitter_percent(25)
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
    fn the_downlink_connection_has_its_own_clean_session_under_a_suffixed_id() {
        let url = BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap();
        let ingest = triage_options(&url, "triage-1", None).unwrap();
        assert!(!ingest.clean_session() && ingest.manual_acks());
        let downlink = downlink_options(&url, "triage-1", None).unwrap();
        assert_eq!(downlink.client_id(), "triage-1-downlink");
        assert!(downlink.clean_session() && !downlink.manual_acks());
    }

    #[test]
    fn mqtts_with_an_unreadable_ca_file_names_the_file() {
        let url = BrokerUrl::parse("mqtts://broker.local").unwrap();
        let err =
            triage_options(&url, "triage-1", Some("/nonexistent/ca.pem".as_ref())).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/ca.pem"),
            "{err:#}"
        );
    }
}
