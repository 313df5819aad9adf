//! From `[broker]` config to rumqttc `MqttOptions`: TLS files, packet size
//! and in-flight limits. The URL is parsed by [`BrokerUrl`], shared with
//! the cloud.

use std::sync::Once;

pub use qloop_protocol::link::BrokerUrl;
use qloop_protocol::MAX_MESSAGE_BYTES;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use super::UplinkError;
use crate::config::BrokerConfig;

/// Room for MQTT fixed header, topic and packet id on top of a full message.
pub const PACKET_OVERHEAD_BYTES: usize = 1024;

/// The largest MQTT packet sent or accepted, both ways.
pub const MAX_PACKET_BYTES: usize = MAX_MESSAGE_BYTES + PACKET_OVERHEAD_BYTES;

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
    fn mqtts_with_an_unreadable_ca_file_names_the_file() {
        let mut config = crate::Config::embedded_default().unwrap().broker;
        config.url = "mqtts://127.0.0.1:8883".into();
        config.ca_file = Some("/nonexistent/ca.pem".into());
        let err = mqtt_options(&config, "5YJ3E1EA7KF317000").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn a_bad_url_in_the_config_is_an_uplink_error_naming_it() {
        let mut config = crate::Config::embedded_default().unwrap().broker;
        config.url = "mqtt://u:p@h:1883".into();
        let err = mqtt_options(&config, "5YJ3E1EA7KF317000").unwrap_err();
        assert!(matches!(err, UplinkError::BrokerUrl(_)), "{err}");
        assert!(err.to_string().contains("credentials"), "{err}");
    }
}
