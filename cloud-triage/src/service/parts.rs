//! The steps `Service::start` takes, each in its own function: the store,
//! triage, the broker and the MQTT clients, knowledge, the downlink, the
//! background tasks, speech, HTTP and readiness.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use anyhow::Context;
use tokio::{
    sync::{watch, Notify},
    task::JoinHandle,
};

use super::redact;
use crate::{
    broker::{EmbeddedBroker, IngestSession},
    config::{MqttSource, ServiceConfig},
    downlink::{self, DownlinkTracker},
    ingest::{
        mqtt_loop::{Drain, MqttStatus},
        IngestHandler,
    },
    mqtt::{downlink_options, triage_options, BrokerUrl},
    store::Store,
};

/// Opens (and migrates) the database in a data directory that exists, with
/// the policy the store's rules read.
pub(super) async fn open_store(config: &ServiceConfig) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = Store::connect(&config.database_url())
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url())))?;
    store.set_policy(config.policy.clone());
    Ok(store)
}

/// The triage model with its stored labelled examples.
pub(super) async fn load_triage(store: &Store) -> anyhow::Result<crate::triage::Triage> {
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
pub(super) fn mqtt_clients(
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
pub(super) fn open_knowledge(
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
pub(super) struct BrokerLink {
    pub(super) embedded: Option<EmbeddedBroker>,
    pub(super) mqtt_url: String,
    pub(super) own_url: String,
    pub(super) drain: Drain,
}

/// Starts the embedded broker when configured. On it, ingest's session exists
/// before anything listens (see `broker`), and the service's own connections
/// use its internal listener.
pub(super) async fn open_broker(config: &ServiceConfig) -> anyhow::Result<BrokerLink> {
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
pub(super) fn spawn_downlink(
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
pub(super) fn spawn_background(
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
pub(super) fn with_speech(
    handler: IngestHandler,
    config: &ServiceConfig,
) -> anyhow::Result<IngestHandler> {
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

pub(super) fn serve_http(
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
pub(super) async fn mirror_readiness(
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

pub(super) async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}
