//! `cloud-triage serve`: the long-running service.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;

use crate::{
    config::{MqttSource, ServiceConfig},
    service::Service,
};

/// Flags of `serve`; each can also come from the environment.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory for the SQLite database, audio and rejected payloads.
    #[arg(long, env = "QLOOP_DATA_DIR", default_value = "./qloop-data")]
    pub data_dir: PathBuf,
    /// Address of the HTTP API.
    #[arg(long, env = "QLOOP_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Run the embedded MQTT broker on this address (the default).
    #[arg(
        long,
        env = "QLOOP_MQTT_EMBEDDED",
        default_value = "127.0.0.1:1883",
        conflicts_with = "mqtt_url"
    )]
    pub mqtt_embedded: SocketAddr,
    /// Use an external broker instead, e.g. mqtt://127.0.0.1:1883 or mqtts://host:8883.
    #[arg(long, env = "QLOOP_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// CA certificate for an mqtts:// broker (platform roots when absent).
    #[arg(long, env = "QLOOP_MQTT_CA")]
    pub mqtt_ca: Option<PathBuf>,
    /// Database URL: postgres://user@host/db for PostgreSQL; default is a SQLite file in the data directory.
    #[arg(long, env = "QLOOP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// MQTT client id of this worker; keep it stable so the broker keeps its session.
    #[arg(long, env = "QLOOP_CLIENT_ID", default_value = "qloop-triage-1")]
    pub client_id: String,
    /// Messages processed at once (acknowledged in arrival order).
    #[arg(long, env = "QLOOP_INGEST_CONCURRENCY", default_value_t = 8)]
    pub ingest_concurrency: usize,
    /// Shared-subscription group; workers in one group split the feedback between them.
    #[arg(long, env = "QLOOP_SHARE_GROUP", default_value = qloop_protocol::topic::SHARE_GROUP)]
    pub share_group: String,
    /// Policy file (TOML): linking, emerging-issue and knowledge-match
    /// thresholds; `cloud-triage print-default-policy` prints the defaults.
    #[arg(long, env = "QLOOP_POLICY")]
    pub policy: Option<PathBuf>,
}

impl ServeArgs {
    /// The service configuration these flags describe.
    pub fn config(&self) -> anyhow::Result<ServiceConfig> {
        Ok(ServiceConfig {
            data_dir: self.data_dir.clone(),
            http_addr: self.http,
            mqtt: match &self.mqtt_url {
                Some(url) => MqttSource::External(url.clone()),
                None => MqttSource::Embedded(self.mqtt_embedded),
            },
            database_url: self.database_url.clone(),
            client_id: self.client_id.clone(),
            mqtt_ca_file: self.mqtt_ca.clone(),
            ingest_concurrency: self.ingest_concurrency,
            share_group: self.share_group.clone(),
            policy: match &self.policy {
                Some(path) => crate::policy::Policy::load(path)?,
                None => crate::policy::Policy::default(),
            },
        })
    }
}

/// Runs until Ctrl-C or SIGTERM, then stops gracefully: ingest commits and
/// acknowledges what it holds (on the embedded broker, everything the broker
/// acknowledged to cars) before the process exits. A second signal exits at
/// once, losing what the embedded broker still holds.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let service = Service::start(args.config()?).await?;
    eprintln!(
        "cloud-triage: API on http://{} , MQTT at {}",
        service.http_addr, service.mqtt_url
    );
    shutdown_signal().await;
    tracing::info!("shutting down: finishing ingest (a second Ctrl-C or SIGTERM exits at once)");
    tokio::select! {
        _ = service.shutdown() => tracing::info!("stopped"),
        _ = shutdown_signal() => tracing::warn!("second signal: exiting without finishing ingest"),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
