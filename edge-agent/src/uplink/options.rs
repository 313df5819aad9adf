//! From `[broker]` config to rumqttc `MqttOptions`: URL parsing, TLS files,
//! packet size and in-flight limits.

use std::sync::Once;

use qloop_protocol::MAX_MESSAGE_BYTES;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use super::UplinkError;
use crate::config::BrokerConfig;

/// Room for MQTT fixed header, topic and packet id on top of a full message.
pub const PACKET_OVERHEAD_BYTES: usize = 1024;

/// The largest MQTT packet sent or accepted, both ways.
pub const MAX_PACKET_BYTES: usize = MAX_MESSAGE_BYTES + PACKET_OVERHEAD_BYTES;

/// A parsed broker URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://`: TLS.
    pub tls: bool,
}

impl BrokerUrl {
    /// Parses `mqtt://host:port` or `mqtts://host:port` (port defaults to
    /// 1883 / 8883); anything else is an error that says what is accepted.
    pub fn parse(url: &str) -> Result<Self, UplinkError> {
        let bad = |reason: &str| UplinkError::BrokerUrl {
            url: url.chars().take(200).collect(),
            reason: reason.to_string(),
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(bad("expected mqtt://host:port or mqtts://host:port"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("paths, queries and credentials are not accepted"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| bad("port is not a number"))?;
                (host, port)
            }
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("host is empty"));
        }
        if port == 0 {
            return Err(bad("port 0 is not a broker port"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// Installs rustls' ring crypto provider once per process.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the MQTT options for `vin` from the broker config.
pub fn mqtt_options(config: &BrokerConfig, vin: &str) -> Result<MqttOptions, UplinkError> {
    let url = BrokerUrl::parse(&config.url)?;
    let mut options = MqttOptions::new(config.effective_client_id(vin), url.host, url.port);
    options
        .set_keep_alive(std::time::Duration::from_secs(config.keepalive_s))
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
        // rumqttc cycles packet ids through 1..inflight; four times our own
        // limit means an id is never reused while its PUBACK is outstanding.
        .set_inflight(config.max_inflight.saturating_mul(4).max(8))
        .set_clean_session(true);
    if !config.username.is_empty() {
        options.set_credentials(config.username.clone(), config.password.expose().clone());
    }
    if url.tls {
        options.set_transport(Transport::Tls(tls_configuration(config)?));
    }
    Ok(options)
}

fn tls_configuration(config: &BrokerConfig) -> Result<TlsConfiguration, UplinkError> {
    install_crypto_provider();
    let read = |path: &std::path::Path, what: &'static str| {
        std::fs::read(path).map_err(|source| UplinkError::TlsFile {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let ca_path = config.ca_file.as_ref().ok_or(UplinkError::TlsMissingCa)?;
    let ca = read(ca_path, "CA certificate")?;
    let client_auth = match (&config.client_cert_file, &config.client_key_file) {
        (Some(cert), Some(key)) => Some((
            read(cert, "client certificate")?,
            read(key.expose(), "client key")?,
        )),
        _ => None,
    };
    Ok(TlsConfiguration::Simple {
        ca,
        alpn: None,
        client_auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_and_mqtts_urls_parse_with_default_ports() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 1884, false));
        let u = BrokerUrl::parse("mqtts://broker.example").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("broker.example", 8883, true)
        );
        let u = BrokerUrl::parse("mqtt://[::1]:1883").unwrap();
        assert_eq!(u.host, "::1");
    }

    #[test]
    fn mqtts_with_an_unreadable_ca_file_names_the_file() {
        let mut config = crate::Config::embedded_default().unwrap().broker;
        config.url = "mqtts://127.0.0.1:8883".into();
        config.ca_file = Some("/nonexistent/ca.pem".into());
        let err = mqtt_options(&config, "5YJ3E1EA7KF317000").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn other_schemes_paths_and_bad_ports_are_refused() {
        for bad in [
            "http://h:1",
            "tcp://h:1883",
            "mqtt://",
            "mqtt://h:99999",
            "mqtt://h:0",
            "mqtt://h:1883/x",
            "mqtt://u:p@h:1883",
            "h:1883",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
