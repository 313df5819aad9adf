//! Builders and service helpers shared by cloud-triage's integration tests
//! (included with `mod common_env;`).
#![allow(dead_code)]

use std::{net::SocketAddr, path::Path, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
};
use qloop_protocol::{
    Consent, FeedbackEnvelope, Sample, SignalSeries, TelemetrySnapshot, TriggerKind, Utterance,
    Vehicle,
};

/// A valid envelope for `vin`, captured now, with one signal.
pub fn envelope(vin: &str, text: &str) -> FeedbackEnvelope {
    let now = cloud_triage::now_ms();
    FeedbackEnvelope {
        feedback_id: uuid::Uuid::now_v7(),
        vehicle: Vehicle {
            vin: vin.into(),
            model: "Model 3".into(),
            year: 2021,
            software: vec![],
        },
        captured_at_ms: now,
        trigger: TriggerKind::Cli,
        locale: "en-US".into(),
        utterance: Some(Utterance {
            transcript: text.into(),
            confidence: Some(0.9),
        }),
        audio: None,
        telemetry: TelemetrySnapshot {
            window_start_ms: now - 1000,
            window_end_ms: now,
            signals: vec![SignalSeries {
                name: "Vehicle.Speed".into(),
                unit: Some("km/h".into()),
                samples: vec![Sample {
                    t_ms: now - 500,
                    value: 42.0,
                }],
            }],
            ..Default::default()
        },
        consent: Consent {
            audio: true,
            location: true,
        },
        cut_short: None,
    }
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
