//! The closed loop through the running service: an engineer's first
//! response and resolution reach the car that reported the case (over MQTT),
//! and the driver's satisfaction from the car closes the case. An answer
//! from a car that did not report the case is rejected, visibly.

mod common_env;

use std::time::Duration;

use cloud_triage::store::access::Role;
use common_env::{
    client_with_role, embedded_service, envelope, eventually, publish_and_wait_for_case, raw_client,
};
use qloop_protocol::{decode, encode, topic, EventKind, Message, SatisfactionReply};
use rumqttc::{Event, Incoming, MqttOptions, QoS};

const VIN: &str = "5YJ3E1EA7KF317888";

/// The next event of `kind` the car received.
async fn next_event(
    seen: &mut tokio::sync::mpsc::UnboundedReceiver<qloop_protocol::VehicleEvent>,
    kind: EventKind,
) -> qloop_protocol::VehicleEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), seen.recv())
            .await
            .expect("an event in time")
            .unwrap();
        if ev.kind == kind {
            return ev;
        }
    }
}
const STRANGER: &str = "5YJ3E1EA7KF317889";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_hears_back_and_their_answer_closes_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let service = embedded_service(dir.path()).await;
    // The car's side: everything sent to it.
    let broker = cloud_triage::mqtt::BrokerUrl::parse(&service.mqtt_url).unwrap();
    let (car, mut car_loop) = rumqttc::AsyncClient::new(
        MqttOptions::new("closed-loop-car", broker.host, broker.port),
        32,
    );
    car.subscribe(topic::events_topic(VIN), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(e) = car_loop.poll().await {
            if let Event::Incoming(Incoming::Publish(p)) = e {
                if let Ok(Message::Event(ev)) = decode(&p.payload) {
                    let _ = seen_tx.send(ev);
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sender = raw_client(&service.mqtt_url, "closed-loop-sender").await;
    let store = service.store.clone();
    let case = publish_and_wait_for_case(
        &store,
        &sender,
        envelope(VIN, "the boot lid will not stay open"),
    )
    .await;
    assert_eq!(
        next_event(&mut seen, EventKind::Received).await.case_number,
        Some(case)
    );

    let engineer = client_with_role(&service, Role::Engineer).await;
    let base = format!("http://{}/api/cases/{case}/transition", service.http_addr);
    let mut steps = vec![
        serde_json::json!({"to": "acknowledged", "message": "We have your report and are on it."}),
        serde_json::json!({"to": "contained", "ica_action": "gas strut check at service", "ica_owner": "erin", "ica_implemented_at_ms": 1_790_000_000_000_i64, "ica_verification": "no repeat"}),
        serde_json::json!({"to": "root_cause_found", "root_cause": "weak strut", "root_cause_occurrence": "supplier lot", "root_cause_escape_point": "no cold test", "root_cause_evidence": "bench data"}),
        serde_json::json!({"to": "corrective_action_implemented", "pca_action": "new strut", "pca_owner": "erin", "pca_implemented_at_ms": 1_790_000_000_000_i64, "pca_validation": "cold chamber"}),
        serde_json::json!({"to": "effectiveness_verified", "verification": "no reports in 30 days", "verification_owner": "erin", "message": "Your boot lid strut is replaced."}),
    ];
    let missing = engineer
        .post(&base)
        .json(&serde_json::json!({"to": "contained"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 422, "contained before acknowledged");
    for body in steps.drain(..) {
        let r = engineer.post(&base).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{body}: {}", r.text().await.unwrap());
    }
    assert_eq!(
        next_event(&mut seen, EventKind::FirstResponse)
            .await
            .message,
        "We have your report and are on it."
    );
    assert_eq!(
        next_event(&mut seen, EventKind::Resolved).await.message,
        "Your boot lid strut is replaced."
    );

    let answer = |vin: &str, score: u8| {
        encode(&Message::Satisfaction(SatisfactionReply {
            vin: vin.into(),
            case_number: case,
            score,
            comment: Some("works now".into()),
            answered_at_ms: cloud_triage::now_ms(),
        }))
    };
    sender
        .publish(
            topic::feedback_topic(STRANGER),
            QoS::AtLeastOnce,
            false,
            answer(STRANGER, 1),
        )
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(20), || {
            let store = store.clone();
            async move { store.counts().await.unwrap().rejected == 1 }
        })
        .await,
        "a car that did not report the case cannot answer for it"
    );
    sender
        .publish(
            topic::feedback_topic(VIN),
            QoS::AtLeastOnce,
            false,
            answer(VIN, 5),
        )
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(20), || {
            let store = store.clone();
            async move { store.get_case(case).await.unwrap().unwrap().summary.status == "closed" }
        })
        .await
    );
    let closed = service.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(
        (closed.satisfaction, closed.satisfaction_comment.as_deref()),
        (Some(5), Some("works now"))
    );
    assert!(closed
        .history
        .iter()
        .any(|h| h.actor == format!("driver ({VIN})")));
    service.shutdown().await;
}
