//! Wires the service together: store, broker, ingest, downlink and HTTP, with
//! a shutdown the caller injects (STYLE rule 5). `serve` and `demo` both run
//! this; tests run it in-process on port 0.

mod parts;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use tokio::{
    sync::{mpsc, watch, Notify},
    task::JoinHandle,
};

use anyhow::Context;
use parts::{
    load_triage, mirror_readiness, mqtt_clients, open_broker, open_knowledge, open_store,
    serve_http, spawn_background, spawn_downlink, stopped, with_speech,
};

use crate::{
    api::{self, ApiState},
    audio::AudioFiles,
    broker::EmbeddedBroker,
    config::ServiceConfig,
    ingest::{
        mqtt_loop::{run_event_loop, run_pipeline, MqttStatus, STOP_LIMIT},
        IngestHandler,
    },
    store::Store,
};

/// A running service.
pub struct Service {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// The broker URL in use (the embedded one's, or the external one).
    pub mqtt_url: String,
    /// The store, for callers that read results directly (demo, tests).
    pub store: Store,
    /// MQTT connection state.
    pub mqtt: Arc<MqttStatus>,
    stop: watch::Sender<bool>,
    /// The embedded broker, closed to vehicles first when stopping.
    broker: Option<EmbeddedBroker>,
    /// Ingest's event loop and pipeline: they may take up to [`STOP_LIMIT`].
    ingest: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Service {
    /// Starts everything and returns once the HTTP listener is bound. Ready
    /// (healthz 200) once the MQTT subscription is acknowledged.
    pub async fn start(config: ServiceConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let store = open_store(&config).await?;
        let audio = AudioFiles::new(&config.data_dir)?;
        let link = open_broker(&config).await?;
        let [(client, eventloop), (downlink_client, downlink_eventloop)] =
            mqtt_clients(&config, &link.own_url)?;

        let (stop, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let (publish_tx, publish_rx) = mpsc::channel(crate::ingest::mqtt_loop::PIPELINE_QUEUE);
        let status = Arc::new(MqttStatus::default());
        let triage = load_triage(&store).await?;

        let mut ingest = vec![tokio::spawn(run_event_loop(
            client.clone(),
            eventloop,
            publish_tx,
            status.clone(),
            config.subscription_filter(),
            link.drain,
            stopped(stop_rx.clone()),
        ))];
        let mut tasks = spawn_downlink(
            &store,
            downlink_client,
            downlink_eventloop,
            wake.clone(),
            &stop_rx,
        );

        let listener = tokio::net::TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding the HTTP API to {}", config.http_addr))?;
        let http_addr = listener.local_addr()?;
        let (knowledge, vectors) = open_knowledge(&config, &triage)?;
        tasks.extend(spawn_background(
            &store, &knowledge, &vectors, &config, &stop_rx,
        ));
        let handler = IngestHandler::new(store.clone(), audio, wake)
            .with_triage(triage.clone())
            .with_knowledge(knowledge.clone(), vectors.clone())
            .with_policy(config.policy.clone());
        ingest.push(tokio::spawn(run_pipeline(
            client.clone(),
            publish_rx,
            with_speech(handler, &config)?,
            config.ingest_concurrency,
            status.clone(),
        )));

        let ready = Arc::new(AtomicBool::new(false));
        let state = ApiState {
            store: store.clone(),
            ready: ready.clone(),
        };
        let app = api::router(state.clone())
            .merge(crate::ui::router(state))
            .layer((
                axum::Extension(knowledge),
                axum::Extension(vectors),
                axum::Extension(triage),
                axum::Extension(Arc::new(config.policy)),
            ));
        tasks.push(serve_http(listener, app, stopped(stop_rx.clone())));
        tasks.push(tokio::spawn(mirror_readiness(
            ready,
            status.clone(),
            stop_rx,
        )));
        tracing::info!(%http_addr, mqtt = %link.mqtt_url, "cloud-triage started");
        Ok(Self {
            http_addr,
            mqtt_url: link.mqtt_url,
            store,
            mqtt: status,
            stop,
            broker: link.embedded,
            ingest,
            tasks,
        })
    }

    /// Waits until the MQTT subscription is in place.
    pub async fn wait_ready(&self, limit: std::time::Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        while !self.mqtt.subscribed.load(Ordering::SeqCst) {
            if start.elapsed() > limit {
                anyhow::bail!("not subscribed to the broker after {limit:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Stops every task. Ingest commits and acknowledges what it took; on
    /// the embedded broker, vehicles are cut off first and ingest takes
    /// everything the broker acknowledged to them (up to [`STOP_LIMIT`]), as
    /// they have deleted it. Nothing else new is taken.
    pub async fn shutdown(mut self) {
        if let Some(broker) = self.broker.as_mut() {
            broker.close_to_vehicles().await;
            if let Err(e) = broker.publish_end_marker().await {
                tracing::error!(error = %e, "no end marker; ingest drains until its stop limit");
            }
        }
        let _ = self.stop.send(true);
        let limit = STOP_LIMIT + std::time::Duration::from_secs(10);
        for task in self.ingest {
            let _ = tokio::time::timeout(limit, task).await;
        }
        for task in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
        }
        drop(self.broker);
    }
}

/// A database URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
