//! The MQTT link: one task owns rumqttc's `EventLoop` and polls it without
//! pause; it publishes outbox entries (QoS 1) on the vehicle's feedback topic,
//! deletes each entry only after its PUBACK, and hands downlink events on.
//!
//! # Layout
//! - [`options`]: broker URL, TLS and MQTT options.
//! - [`connection`]: the event-loop task and per-packet delivery tracking;
//!   it waits between attempts by [`qloop_protocol::link::Backoff`], the
//!   reconnect backoff the cloud uses too.
//! - [`downlink`]: decoding events from the cloud and building receipts.

pub mod connection;
pub mod downlink;
pub mod options;

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use qloop_protocol::VehicleEvent;
use thiserror::Error;
use tokio::{
    sync::{mpsc, watch, Notify},
    task::JoinHandle,
};

pub use options::{BrokerUrl, MAX_PACKET_BYTES};

use crate::{config::BrokerConfig, lock::lock_or_recover, outbox::SharedOutbox};

/// Errors of the uplink layer.
#[derive(Debug, Error)]
pub enum UplinkError {
    /// The broker URL is not one we speak.
    #[error(transparent)]
    BrokerUrl(#[from] qloop_protocol::link::BrokerUrlError),
    /// `mqtts://` without `broker.ca_file`.
    #[error("mqtts:// needs broker.ca_file")]
    TlsMissingCa,
    /// A TLS file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    TlsFile {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What the uplink reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UplinkStatus {
    /// A CONNACK was received and no error since.
    pub connected: bool,
    /// The last connection error, if any.
    pub last_error: Option<String>,
    /// Publishes sent since start.
    pub published: u64,
    /// PUBACKs that removed an outbox entry since start.
    pub acknowledged: u64,
    /// Connections established since start.
    pub connections: u64,
}

/// Settings for one uplink.
#[derive(Debug, Clone)]
pub struct UplinkSettings {
    /// Broker connection config.
    pub broker: BrokerConfig,
    /// The vehicle's VIN (topic and client id).
    pub vin: String,
}

/// Handle to a running uplink task.
#[derive(Debug)]
pub struct UplinkHandle {
    status: watch::Receiver<UplinkStatus>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl UplinkHandle {
    /// A notifier to call after committing to the outbox.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Tells the task new entries are waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The current status.
    pub fn status(&self) -> UplinkStatus {
        self.status.borrow().clone()
    }

    /// A receiver that changes on every status update.
    pub fn watch(&self) -> watch::Receiver<UplinkStatus> {
        self.status.clone()
    }

    /// Waits until `outbox` is empty (every entry acknowledged), or `timeout`.
    /// Returns whether it emptied.
    pub async fn wait_until_empty(&self, outbox: &SharedOutbox, timeout: Duration) -> bool {
        let mut status = self.status.clone();
        let is_empty = || lock_or_recover(outbox, "outbox").is_empty();
        tokio::time::timeout(timeout, async {
            while !is_empty() {
                if status.changed().await.is_err() {
                    return is_empty();
                }
            }
            true
        })
        .await
        .unwrap_or_else(|_| is_empty())
    }

    /// Waits for the task to finish (after its shutdown future resolved).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "uplink task failed");
        }
    }
}

/// Starts the uplink task. Downlink events go to `events` when given. The
/// task ends when `shutdown` resolves.
pub fn spawn(
    settings: UplinkSettings,
    outbox: SharedOutbox,
    events: Option<mpsc::Sender<VehicleEvent>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<UplinkHandle, UplinkError> {
    let options = options::mqtt_options(&settings.broker, &settings.vin)?;
    let (status_tx, status_rx) = watch::channel(UplinkStatus::default());
    let wake = Arc::new(Notify::new());
    let task =
        connection::Connection::new(settings, options, outbox, events, status_tx, wake.clone());
    let task = tokio::spawn(task.run(shutdown));
    Ok(UplinkHandle {
        status: status_rx,
        wake,
        task,
    })
}
