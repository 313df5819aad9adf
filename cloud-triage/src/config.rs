//! The service's settings. Every value has a default that runs the whole
//! pipeline on one machine: embedded broker, SQLite file in the data
//! directory, HTTP on localhost.

use std::{net::SocketAddr, path::PathBuf};

/// Where the MQTT broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttSource {
    /// Start rumqttd in this process, listening here (port 0: any free port).
    Embedded(SocketAddr),
    /// Connect to an external broker, e.g. `mqtt://127.0.0.1:1883`.
    External(String),
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Directory for the SQLite file, audio and rejected payloads.
    pub data_dir: PathBuf,
    /// Address the HTTP API listens on (port 0: any free port).
    pub http_addr: SocketAddr,
    /// The broker.
    pub mqtt: MqttSource,
    /// Database URL; `None` means `sqlite://DATA_DIR/qloop.db`.
    pub database_url: Option<String>,
    /// MQTT client id of this worker; stable across restarts so the broker
    /// keeps its persistent session.
    pub client_id: String,
    /// CA certificate for `mqtts://` brokers; platform roots when absent.
    pub mqtt_ca_file: Option<PathBuf>,
    /// Messages processed concurrently (acknowledged in arrival order).
    pub ingest_concurrency: usize,
    /// Shared-subscription group; workers in one group split the messages.
    pub share_group: String,
    /// Linking, emerging-issue and knowledge-match policy.
    pub policy: crate::policy::Policy,
}

impl ServiceConfig {
    /// Defaults for a data directory: embedded broker on 127.0.0.1:1883,
    /// HTTP on 127.0.0.1:8080, SQLite.
    pub fn local(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt: MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 1883))),
            database_url: None,
            client_id: "qloop-triage-1".into(),
            mqtt_ca_file: None,
            ingest_concurrency: 8,
            share_group: qloop_protocol::topic::SHARE_GROUP.into(),
            policy: crate::policy::Policy::default(),
        }
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("qloop.db").display()
            ),
        }
    }

    /// Checks values that flags cannot type-check.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.ingest_concurrency == 0 || self.ingest_concurrency > 256 {
            anyhow::bail!(
                "ingest concurrency must be in 1..=256, got {}",
                self.ingest_concurrency
            );
        }
        if self.client_id.is_empty() || self.client_id.len() > 64 {
            anyhow::bail!("MQTT client id must be 1..=64 characters");
        }
        if self.share_group.is_empty() || self.share_group.contains(['/', '+', '#']) {
            anyhow::bail!(
                "share group {:?} must be a non-empty topic level without / + #",
                self.share_group
            );
        }
        self.policy.validate()?;
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                anyhow::bail!("database URL must be sqlite:… or postgres://…");
            }
        }
        Ok(())
    }
}

impl ServiceConfig {
    /// The subscription filter this worker uses.
    ///
    /// On the embedded broker this process is the only consumer, so it
    /// subscribes plainly: rumqttd 0.20 panics its router thread ("group must
    /// exists", router/routing.rs:512) when the last member of a shared group
    /// with a persistent session disconnects holding unacknowledged messages,
    /// which would take the whole embedded broker down.
    pub fn subscription_filter(&self) -> String {
        if matches!(self.mqtt, MqttSource::Embedded(_)) {
            return qloop_protocol::topic::feedback_filter();
        }
        format!(
            "$share/{}/{}",
            self.share_group,
            qloop_protocol::topic::feedback_filter()
        )
    }
}
