//! Ingest throughput: envelopes per second through the whole path (MQTT
//! publish → decode → validate → commit → PUBACK from ingest), on SQLite and,
//! when reachable, PostgreSQL. The named baseline, measured in the same run on
//! the same store, is the handler alone (decode + validate + commit, no MQTT),
//! so `ratio` is the share of the handler's rate the full path keeps.
//!
//! `cargo run --release -p cloud-triage --example bench_ingest [-- N]`
//! prints one JSON line per measurement.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use cloud_triage::{
    audio::AudioFiles,
    config::{MqttSource, ServiceConfig},
    ingest::IngestHandler,
    service::Service,
    store::Store,
};
use qloop_protocol::{
    encode, topic::feedback_topic, Consent, FeedbackEnvelope, Message, Sample, SignalSeries,
    TelemetrySnapshot, TriggerKind, Utterance, Vehicle,
};

const VIN: &str = "5YJ3E1EA7KF317000";

fn envelope(i: usize) -> FeedbackEnvelope {
    let now = cloud_triage::now_ms();
    let signals = (0..40)
        .map(|s| SignalSeries {
            name: format!("Vehicle.Signal{s}"),
            unit: Some("km/h".into()),
            samples: (0..50)
                .map(|k| Sample {
                    t_ms: now - 5000 + k * 100,
                    value: (s * k) as f64,
                })
                .collect(),
        })
        .collect();
    FeedbackEnvelope {
        feedback_id: uuid::Uuid::now_v7(),
        vehicle: Vehicle {
            vin: VIN.into(),
            model: "Model 3".into(),
            year: 2021,
            software: vec![],
        },
        captured_at_ms: now,
        trigger: TriggerKind::Voice,
        locale: "en-US".into(),
        utterance: Some(Utterance {
            transcript: format!("benchmark feedback {i}: the brakes squeal"),
            confidence: None,
        }),
        audio: None,
        telemetry: TelemetrySnapshot {
            window_start_ms: now - 5000,
            window_end_ms: now,
            signals,
            ..Default::default()
        },
        consent: Consent {
            audio: true,
            location: true,
        },
        cut_short: None,
    }
}

async fn handler_rate(url: &str, dir: &std::path::Path, n: usize) -> anyhow::Result<f64> {
    let store = Store::connect(url).await?;
    let handler = IngestHandler::new(store, AudioFiles::new(dir)?, Arc::default());
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| encode(&Message::Feedback(Box::new(envelope(i)))))
        .collect();
    let topic = feedback_topic(VIN);
    let start = Instant::now();
    for p in &payloads {
        handler.handle(&topic, p).await?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn pipeline_rate(
    database_url: Option<String>,
    dir: &std::path::Path,
    n: usize,
) -> anyhow::Result<f64> {
    let mut config = ServiceConfig::local(dir.to_path_buf());
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.database_url = database_url;
    let service = Service::start(config).await?;
    service
        .wait_ready(std::time::Duration::from_secs(20))
        .await?;
    let before = service.store.counts().await?.feedback;
    let broker = cloud_triage::mqtt::BrokerUrl::parse(&service.mqtt_url)?;
    let mut options = rumqttc::MqttOptions::new("bench-sender", broker.host, broker.port);
    options
        .set_max_packet_size(256 * 1024, 256 * 1024)
        .set_inflight(200);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| encode(&Message::Feedback(Box::new(envelope(i)))))
        .collect();
    let topic = feedback_topic(VIN);
    let start = Instant::now();
    for p in payloads {
        client
            .publish(&topic, rumqttc::QoS::AtLeastOnce, false, p)
            .await?;
    }
    loop {
        if service.store.counts().await?.feedback - before >= n as i64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    service.shutdown().await;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut backends = vec![("sqlite", None)];
    let pg = std::env::var("QLOOP_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() {
        backends.push(("postgres", Some(pg)));
    } else {
        eprintln!("SKIP: postgres not reachable; measuring SQLite only");
    }
    for (name, url) in backends {
        let dir = tempfile::tempdir()?;
        let store_url = url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("qloop.db").display()
            )
        });
        let baseline = handler_rate(&store_url, dir.path(), n).await?;
        let full = pipeline_rate(url.clone(), dir.path(), n).await?;
        println!(
            "{}",
            serde_json::json!({
                "bench": "ingest", "store": name, "n": n, "path": "mqtt+decode+commit+ack",
                "per_sec": full, "baseline": "handler_only", "baseline_per_sec": baseline, "ratio": full / baseline,
            })
        );
    }
    Ok(())
}
