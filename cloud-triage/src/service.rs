//! Wires the service together: store, broker, ingest, downlink and HTTP, with
//! a shutdown the caller injects (STYLE rule 5). `serve` and `demo` both run
//! this; tests run it in-process on port 0.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use anyhow::Context;
use tokio::{
    sync::{mpsc, watch, Notify},
    task::JoinHandle,
};

use crate::{
    api::{self, ApiState},
    audio::AudioFiles,
    broker::{EmbeddedBroker, IngestSession},
    config::{MqttSource, ServiceConfig},
    downlink::{self, DownlinkTracker},
    ingest::{
        mqtt_loop::{run_event_loop, run_pipeline, Drain, MqttStatus, STOP_LIMIT},
        IngestHandler,
    },
    mqtt::{downlink_options, triage_options, BrokerUrl},
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
        let app = api::router(ApiState {
            store: store.clone(),
            ready: ready.clone(),
        })
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

/// Opens (and migrates) the database in a data directory that exists, with
/// the policy the store's rules read.
async fn open_store(config: &ServiceConfig) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = Store::connect(&config.database_url())
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url())))?;
    store.set_policy(config.policy.clone());
    Ok(store)
}

/// The triage model with its stored labelled examples.
async fn load_triage(store: &Store) -> anyhow::Result<crate::triage::Triage> {
    let triage = crate::triage::Triage::load(store)
        .await
        .context("loading the triage model (models/fetch.sh fetches it)")?;
    tracing::info!(
        examples = triage.examples(),
        model = triage.embedder().model_version(),
        "triage ready"
    );
    Ok(triage)
}

/// The service's two MQTT connections to `url`: ingest's and the downlink's.
fn mqtt_clients(
    config: &ServiceConfig,
    url: &str,
) -> anyhow::Result<[(rumqttc::AsyncClient, rumqttc::EventLoop); 2]> {
    let broker = BrokerUrl::parse(url)?;
    let ca = config.mqtt_ca_file.as_deref();
    Ok([
        rumqttc::AsyncClient::new(triage_options(&broker, &config.client_id, ca)?, 1024),
        rumqttc::AsyncClient::new(downlink_options(&broker, &config.client_id, ca)?, 1024),
    ])
}

/// The knowledge index and the embeddings beside it.
fn open_knowledge(
    config: &ServiceConfig,
    triage: &crate::triage::Triage,
) -> anyhow::Result<(
    Arc<qloop_knowledge::KnowledgeIndex>,
    Arc<crate::knowledge::Vectors>,
)> {
    let knowledge = crate::knowledge::open_index(&config.data_dir)?;
    let vectors = crate::knowledge::Vectors::open(&config.data_dir, triage.embedder().clone())?;
    Ok((knowledge, Arc::new(vectors)))
}

/// The broker side of a starting service: vehicles' URL, the URL the service
/// itself connects to, and how ingest drains when stopping.
struct BrokerLink {
    embedded: Option<EmbeddedBroker>,
    mqtt_url: String,
    own_url: String,
    drain: Drain,
}

/// Starts the embedded broker when configured. On it, ingest's session exists
/// before anything listens (see `broker`), and the service's own connections
/// use its internal listener.
async fn open_broker(config: &ServiceConfig) -> anyhow::Result<BrokerLink> {
    match &config.mqtt {
        MqttSource::Embedded(addr) => {
            let (addr, client_id, filter) = (
                *addr,
                config.client_id.clone(),
                config.subscription_filter(),
            );
            let embedded = tokio::task::spawn_blocking(move || {
                let session = IngestSession {
                    client_id: &client_id,
                    filter: &filter,
                };
                EmbeddedBroker::start(addr, session)
            })
            .await??;
            Ok(BrokerLink {
                mqtt_url: embedded.url(),
                own_url: embedded.internal_url(),
                drain: Drain::UntilMarker(embedded.end_marker().to_string()),
                embedded: Some(embedded),
            })
        }
        MqttSource::External(url) => Ok(BrokerLink {
            embedded: None,
            mqtt_url: url.clone(),
            own_url: url.clone(),
            drain: Drain::Now,
        }),
    }
}

/// The downlink's two tasks: its connection's event loop (PUBACKs into the
/// tracker) and the publisher of queued events.
fn spawn_downlink(
    store: &Store,
    client: rumqttc::AsyncClient,
    eventloop: rumqttc::EventLoop,
    wake: Arc<Notify>,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let tracker = DownlinkTracker::new();
    vec![
        tokio::spawn(downlink::run_event_loop(
            client.clone(),
            eventloop,
            tracker.clone(),
            stopped(stop.clone()),
        )),
        tokio::spawn(downlink::run_publisher(
            store.clone(),
            client,
            tracker,
            wake,
            stopped(stop.clone()),
        )),
    ]
}

/// The tasks that run beside ingest: the knowledge refill (when the index
/// is empty), the webhook notifier, the SLA scheduler and the indexer.
fn spawn_background(
    store: &Store,
    knowledge: &Arc<qloop_knowledge::KnowledgeIndex>,
    vectors: &Arc<crate::knowledge::Vectors>,
    config: &ServiceConfig,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if knowledge.is_empty() {
        let (store, index, vectors) = (store.clone(), knowledge.clone(), vectors.clone());
        tasks.push(tokio::spawn(async move {
            match crate::knowledge::restore_known_issues(&store, &index, &vectors).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(known_issues = n, "empty knowledge index refilled from the database"),
                Err(e) => tracing::error!(error = %e, "could not refill the knowledge index; run `cloud-triage reindex`"),
            }
        }));
    }
    let (notify_store, webhooks, notify_stop) = (
        store.clone(),
        config.policy.webhooks.clone(),
        stopped(stop.clone()),
    );
    tasks.push(tokio::spawn(async move {
        if let Err(e) = crate::notify::run_notifier(notify_store, webhooks, notify_stop).await {
            tracing::error!(error = %e, "webhook notifier stopped");
        }
    }));
    tasks.push(tokio::spawn(crate::sla::scheduler::run_sla_scheduler(
        store.clone(),
        config.policy.sla.clone(),
        crate::sla::scheduler::system_clock(),
        stopped(stop.clone()),
    )));
    tasks.push(tokio::spawn(crate::knowledge::run_indexer(
        store.clone(),
        knowledge.clone(),
        Some(vectors.clone()),
        stopped(stop.clone()),
    )));
    tasks
}

/// Gives the handler a recogniser when the policy turns speech on.
fn with_speech(handler: IngestHandler, config: &ServiceConfig) -> anyhow::Result<IngestHandler> {
    match crate::asr::Asr::from_policy(&config.policy.speech, &qloop_protocol::Limits::default())? {
        Some(asr) => {
            tracing::info!(model = %asr.kind(), "clips without a transcript are transcribed (model loads on the first)");
            Ok(handler.with_asr(Arc::new(asr)))
        }
        None => {
            tracing::info!("speech recognition off: clips are stored untranscribed");
            Ok(handler)
        }
    }
}

fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    })
}

/// Ready once subscribed: the API answers 200 only when feedback can flow.
async fn mirror_readiness(
    ready: Arc<AtomicBool>,
    mqtt: Arc<MqttStatus>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        ready.store(mqtt.subscribed.load(Ordering::SeqCst), Ordering::SeqCst);
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
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
