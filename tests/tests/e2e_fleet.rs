//! End to end on real parts: the five fixture vehicles (real DBCs and candump
//! logs) trigger ten feedbacks each through real edge agents (outbox, MQTT
//! QoS 1), cloud-triage ingests them over a shared subscription into SQLite,
//! links each feedback to a case (reports of one issue on one model share a
//! case) and tells each car "received, case N".
//! Once on the embedded rumqttd broker, once on Mosquitto.

use std::{net::SocketAddr, path::Path, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
};
use qloop_protocol::EventKind;
use qloop_tests::{
    fleet::{check_arrived, decodable_names, fleet, listen_events, send_fleet, Sent},
    forget_session, init_logs, service_or_skip, MOSQUITTO,
};

async fn start(dir: &Path, mqtt: MqttSource, client_id: &str, group: &str) -> Service {
    let mut config = ServiceConfig::local(dir.to_path_buf());
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = mqtt;
    config.client_id = client_id.into();
    config.share_group = group.into();
    let service = Service::start(config).await.expect("service starts");
    service
        .wait_ready(Duration::from_secs(20))
        .await
        .expect("service subscribes");
    service
}

/// Waits until every sent feedback is stored.
async fn wait_stored(service: &Service, sent: &[Sent]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for s in sent {
        while service
            .store
            .get_feedback(s.feedback_id)
            .await
            .unwrap()
            .is_none()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "feedback {} never stored",
                s.feedback_id
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs the fleet against `service`; returns the case count it saw.
async fn fleet_run(service: &Service, dir: &Path, unique: bool) -> usize {
    let vehicles = fleet(&dir.join("edge"), &service.mqtt_url, unique);
    let vins: Vec<String> = vehicles
        .iter()
        .map(|v| v.config.vehicle.vin.clone())
        .collect();
    let listener_id = format!("e2e-car-listener-{}", uuid::Uuid::new_v4().simple());
    let events = listen_events(&service.mqtt_url, &listener_id, &vins)
        .await
        .expect("car side subscribes");

    let sent = send_fleet(&vehicles, Duration::from_secs(60))
        .await
        .expect("every capture acknowledged");
    assert_eq!(sent.len(), 50, "5 vehicles × 10 transcripts");
    wait_stored(service, &sent).await;

    let http = format!("http://{}", service.http_addr);
    let token = qloop_tests::fleet::operator_token(&service.store).await;
    let cases = check_arrived(&http, &token, &sent, &decodable_names(&vehicles))
        .await
        .expect("feedback and cases check out");
    assert!(
        (1..=50).contains(&cases.len()),
        "{} cases for 50 feedback",
        cases.len()
    );

    // Each car hears "received, case N" for each of its feedbacks.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = events.lock().unwrap().clone();
        let answered = sent
            .iter()
            .filter(|s| {
                seen.iter().any(|e| {
                    e.kind == EventKind::Received
                        && e.feedback_id == Some(s.feedback_id)
                        && e.case_number.is_some_and(|n| cases.contains(&n))
                })
            })
            .count();
        if answered == sent.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {answered} of 50 cars heard back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("50 feedback from 5 vehicles became {} cases", cases.len());
    cases.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_triggers_from_five_vehicles_become_linked_cases_on_the_embedded_broker() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &dir.path().join("cloud"),
        MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0))),
        "qloop-triage-1",
        "triage",
    )
    .await;
    let cases = fleet_run(&service, dir.path(), false).await;

    // Nothing else was on this broker: the totals are exact.
    let counts = service.store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases, counts.rejected),
        (50, cases as i64, 0)
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_triggers_from_five_vehicles_become_linked_cases_on_mosquitto() {
    init_logs();
    if !service_or_skip("Mosquitto", MOSQUITTO) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Unique client id, share group and VINs: other tests may use the same broker.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let client_id = format!("e2e-triage-{}", &run[..12]);
    let service = start(
        &dir.path().join("cloud"),
        MqttSource::External(format!("mqtt://{MOSQUITTO}")),
        &client_id,
        &format!("e2e{}", &run[..12]),
    )
    .await;
    let cases = fleet_run(&service, dir.path(), true).await;
    let counts = service.store.counts().await.unwrap();
    assert_eq!((counts.feedback, counts.cases), (50, cases as i64));
    service.shutdown().await;
    forget_session("127.0.0.1", 1883, &client_id).await;
}
