//! Builders and service helpers shared by cloud-triage's integration tests
//! (included with `mod common_env;`).
#![allow(dead_code)]

use std::{net::SocketAddr, path::Path, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::Store,
};
use qloop_protocol::{
    encode, testing::EnvelopeBuilder, topic::feedback_topic, FeedbackEnvelope, Message,
};
use rumqttc::QoS;
use uuid::Uuid;

/// A valid envelope for `vin`, captured now, with one signal.
pub fn envelope(vin: &str, text: &str) -> FeedbackEnvelope {
    let now = cloud_triage::now_ms();
    EnvelopeBuilder::new(vin, text, now)
        .confidence(0.9)
        .speed(&[(now - 500, 42.0)])
        .consent(true, true)
        .build()
}

/// A service on free ports with the embedded broker and SQLite in `dir`.
pub async fn embedded_service(dir: &Path) -> Service {
    let mut config = ServiceConfig::local(dir.to_path_buf());
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    let service = Service::start(config).await.expect("service starts");
    service
        .wait_ready(Duration::from_secs(20))
        .await
        .expect("service subscribes");
    service
}

/// Polls `f` every 50 ms until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Publishes `env` (QoS 1) on the feedback topic of its vehicle; returns its id.
pub async fn publish_feedback(client: &rumqttc::AsyncClient, env: FeedbackEnvelope) -> Uuid {
    let id = env.feedback_id;
    client
        .publish(
            feedback_topic(&env.vehicle.vin),
            QoS::AtLeastOnce,
            false,
            encode(&Message::Feedback(Box::new(env))),
        )
        .await
        .unwrap();
    id
}

/// Waits up to 30 s until feedback `id` is stored; returns its case.
pub async fn case_of(store: &Store, id: Uuid) -> i64 {
    let found = eventually(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.get_feedback(id).await.unwrap().is_some() }
    })
    .await;
    assert!(found, "feedback {id} stored");
    let feedback = store.get_feedback(id).await.unwrap().unwrap();
    feedback.case_id.expect("stored feedback has a case")
}

/// Publishes `env` and waits for its case: [`publish_feedback`], then [`case_of`].
pub async fn publish_and_wait_for_case(
    store: &Store,
    client: &rumqttc::AsyncClient,
    env: FeedbackEnvelope,
) -> i64 {
    let id = publish_feedback(client, env).await;
    case_of(store, id).await
}

/// A plain MQTT client for publishing raw bytes, with its event loop polled.
pub async fn raw_client(url: &str, id: &str) -> rumqttc::AsyncClient {
    let broker = cloud_triage::mqtt::BrokerUrl::parse(url).unwrap();
    let mut options = rumqttc::MqttOptions::new(id, broker.host, broker.port);
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    client
}

/// A client carrying a new token of `role` for the running service.
pub async fn client_with_role(
    service: &Service,
    role: cloud_triage::store::access::Role,
) -> reqwest::Client {
    let token = service
        .store
        .create_token(
            role,
            &format!("test {}", role.as_str()),
            cloud_triage::now_ms(),
        )
        .await
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}
