//! Agent configuration: an embedded, documented default (`default-config.toml`)
//! overlaid by an optional file and then by `QLOOP_EDGE__SECTION__KEY`
//! environment variables, validated at start with errors that name the key.
//!
//! # Layout
//! - this file: the typed sections.
//! - [`load`]: layering (default → file → environment) and parsing.
//! - [`validate`]: semantic checks after parsing.
//! - [`fixture`]: fixture vehicles (`fixtures/vehicles/*.toml`) as configs.
//! - [`secret`]: a wrapper that keeps secrets out of logs.

pub mod fixture;
pub mod load;
pub mod secret;
pub mod validate;

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Deserializer};

pub use fixture::FixtureVehicle;
pub use load::{ConfigError, DEFAULT_CONFIG_TOML, ENV_PREFIX};
pub use secret::Secret;

/// The whole agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Identity and software of this vehicle.
    pub vehicle: VehicleConfig,
    /// MQTT broker connection.
    pub broker: BrokerConfig,
    /// On-disk outbox.
    pub outbox: OutboxConfig,
    /// Telemetry source and snapshot window.
    pub telemetry: TelemetryConfig,
    /// Audio clip acceptance.
    pub audio: AudioConfig,
    /// The HMI control socket.
    pub control: ControlConfig,
}

/// `[vehicle]`: who is sending.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleConfig {
    /// ISO 3779 VIN.
    pub vin: String,
    /// Model name.
    pub model: String,
    /// Model year.
    pub year: u16,
    /// BCP-47 locale of the driver's speech.
    pub locale: String,
    /// The driver agreed to send audio.
    pub consent_audio: bool,
    /// The driver agreed to send the position.
    pub consent_location: bool,
    /// Software version per ECU name.
    pub software: BTreeMap<String, String>,
    /// Static DTCs reported with every capture.
    pub dtcs: Vec<DtcConfig>,
}

/// One static diagnostic trouble code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DtcConfig {
    /// Code, e.g. `C0045`.
    pub code: String,
    /// ECU that set it.
    pub ecu: String,
    /// `active`, `stored` or `pending`.
    pub status: String,
}

/// `[broker]`: where and how to connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: String,
    /// MQTT client id; empty means `qloop-edge-{vin}`.
    pub client_id: String,
    /// Keep-alive interval, seconds.
    pub keepalive_s: u64,
    /// Connection and CONNACK timeout, seconds.
    pub connect_timeout_s: u64,
    /// Most publishes awaiting PUBACK at once.
    pub max_inflight: u16,
    /// First reconnect wait, ms.
    pub reconnect_min_ms: u64,
    /// Longest reconnect wait, ms (before jitter).
    pub reconnect_max_ms: u64,
    /// CA certificate (PEM) for `mqtts://`.
    #[serde(deserialize_with = "empty_as_none")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS.
    #[serde(deserialize_with = "empty_as_none")]
    pub client_cert_file: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS; redacted in logs.
    #[serde(deserialize_with = "empty_as_none_secret")]
    pub client_key_file: Option<Secret<PathBuf>>,
    /// Login user name; empty means no login.
    pub username: String,
    /// Login password; redacted in logs.
    pub password: Secret<String>,
}

impl BrokerConfig {
    /// The client id to use: the configured one or `qloop-edge-{vin}`.
    pub fn effective_client_id(&self, vin: &str) -> String {
        if self.client_id.is_empty() {
            format!("qloop-edge-{vin}")
        } else {
            self.client_id.clone()
        }
    }
}

/// `[outbox]`: the durable queue of messages not yet acknowledged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Directory of message files.
    pub dir: PathBuf,
    /// Upper bound for pending bytes.
    pub quota_bytes: u64,
    /// What to do when a capture would pass the quota.
    pub quota_rule: QuotaRule,
}

/// The outbox's rule when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuotaRule {
    /// Evict the oldest audio chunks, then the oldest receipts; never a
    /// feedback envelope. Refuse if that is not enough.
    EvictAudioFirst,
    /// Refuse the new capture; keep what is stored.
    Refuse,
}

/// `[telemetry]`: CAN source and snapshot window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// DBC database; `None` means no telemetry signals.
    #[serde(deserialize_with = "empty_as_none")]
    pub dbc: Option<PathBuf>,
    /// DBC-to-VSS mapping; `None` keeps DBC names.
    #[serde(deserialize_with = "empty_as_none")]
    pub mapping: Option<PathBuf>,
    /// candump log replayed as the source; `None` means no replay.
    #[serde(deserialize_with = "empty_as_none")]
    pub candump_replay: Option<PathBuf>,
    /// Window before the trigger, ms.
    pub pre_window_ms: u64,
    /// Window after the trigger, ms.
    pub post_window_ms: u64,
    /// Most samples kept per signal.
    pub max_samples_per_signal: usize,
    /// Most signals kept.
    pub max_signals: usize,
}

/// `[audio]`: which clips are accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    /// Longest clip, seconds.
    pub max_duration_s: u32,
    /// Accepted sample rates, Hz.
    pub allowed_rates: Vec<u32>,
}

/// `[control]`: the HMI socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Unix socket path.
    pub socket: PathBuf,
    /// Longest request line, bytes.
    pub max_line_bytes: usize,
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let s = String::deserialize(d)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

fn empty_as_none_secret<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Secret<PathBuf>>, D::Error> {
    Ok(empty_as_none(d)?.map(Secret::new))
}
