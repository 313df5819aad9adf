//! Fleet linking in the running service with the real model and a real
//! knowledge index: reports of one defect from several cars become one
//! case that counts them, carries the matching known issue with its score
//! and suggests its containment and remedy; an unrelated report opens its
//! own case; the third car makes the case an emerging issue.

mod common_env;

use std::{net::SocketAddr, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::Store,
};
use common_env::{case_of, envelope, publish_feedback, raw_client};

const VINS: [&str; 4] = [
    "5YJ3E1EA7KF310001",
    "5YJ3E1EA7KF310002",
    "5YJ3E1EA7KF310003",
    "5YJ3E1EA7KF310004",
];

const KNOWN_ISSUES: &str = r#"{"id": "KI-BRAKE-7", "title": "Brake booster vacuum leak", "symptom": "The brake pedal feels soft and sinks towards the floor when stopping; longer stopping distance.", "component": "SERVICE BRAKES, HYDRAULIC", "models": ["MODEL 3"], "years": [2019, 2020, 2021], "containment": "Advise drivers to have the car towed; do not drive with a sinking brake pedal.", "remedy": "Replace the brake booster check valve and hose.", "consequence": "Increased stopping distance raises the risk of a crash."}
{"id": "KI-HVAC-2", "title": "Cabin blower resistor failure", "symptom": "The fan only runs on the highest setting or not at all.", "component": "HVAC", "models": ["MODEL 3"], "containment": "Use the highest fan setting.", "remedy": "Replace the blower resistor."}
"#;

async fn send(client: &rumqttc::AsyncClient, vin: &str, text: &str) -> uuid::Uuid {
    publish_feedback(client, envelope(vin, text)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_one_defect_from_several_cars_become_one_case_with_the_known_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::local(dir.path().to_path_buf());
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.policy.emerging.min_vehicles = 3;

    // Known issues go in first, the way an operator imports them.
    {
        let store = Store::connect(&config.database_url()).await.unwrap();
        let index = cloud_triage::knowledge::open_index(dir.path()).unwrap();
        let model = qloop_models::weights::embedding_model_dir().unwrap();
        let embedder = qloop_models::Embedder::load(&model).unwrap();
        let vectors = cloud_triage::knowledge::Vectors::open(dir.path(), embedder).unwrap();
        let file = dir.path().join("known.jsonl");
        std::fs::write(&file, KNOWN_ISSUES).unwrap();
        let report = cloud_triage::knowledge::import_file(&store, &index, Some(&vectors), &file)
            .await
            .unwrap();
        assert_eq!(report.imported, 2, "{:?}", report.rejected);
        store.close().await;
    }

    let service = Service::start(config).await.expect("service starts");
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let client = raw_client(&service.mqtt_url, "linking-sender").await;
    let store = &service.store;

    let first = send(
        &client,
        VINS[0],
        "the brake pedal sinks almost to the floor when I stop",
    )
    .await;
    let first_case = case_of(store, first).await;
    let radio = send(
        &client,
        VINS[1],
        "the navigation screen freezes and the radio reboots",
    )
    .await;
    let radio_case = case_of(store, radio).await;
    let second = send(
        &client,
        VINS[1],
        "when stopping the brake pedal goes nearly to the floor",
    )
    .await;
    let second_case = case_of(store, second).await;
    let third = send(
        &client,
        VINS[2],
        "my brake pedal feels soft and sinks to the floor at lights",
    )
    .await;
    let third_case = case_of(store, third).await;

    assert_ne!(
        radio_case, first_case,
        "an unrelated report opens its own case"
    );
    assert_eq!(
        (second_case, third_case),
        (first_case, first_case),
        "reports of the sinking pedal join the first one's case"
    );
    let case = store.get_case(first_case).await.unwrap().unwrap();
    assert_eq!(case.summary.occurrence_count, 3);
    assert_eq!(case.summary.vehicle_count, 3);
    assert_eq!(case.model_families, vec!["MODEL 3"]);
    let brake_issue = case
        .matches
        .iter()
        .find(|m| m.doc_id == "KI-BRAKE-7")
        .expect("the known brake issue is attached");
    assert_eq!(brake_issue.kind, "known_issue");
    assert!(brake_issue.similarity.unwrap() > 0.5, "{brake_issue:?}");
    assert!(case.ica.suggested && case.pca.suggested);
    assert_eq!(
        case.pca.action.as_deref(),
        Some("Replace the brake booster check valve and hose.")
    );
    assert!(
        case.summary.emerging_at_ms.is_some(),
        "three cars in a day make an emerging issue"
    );
    assert_eq!(
        case.summary.severity, "major",
        "a sinking brake pedal is a safety issue"
    );
    let events = store.notification_events(false).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "emerging_issue" && e.case_id == Some(first_case))
            .count(),
        1
    );

    // The API shows the same.
    let client =
        common_env::client_with_role(&service, cloud_triage::store::access::Role::Operator).await;
    let json: serde_json::Value = client
        .get(format!(
            "http://{}/api/cases/{first_case}",
            service.http_addr
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["occurrence_count"], 3);
    assert_eq!(json["vehicle_count"], 3);
    assert!(json["matches"][0]["doc_id"].is_string());
    service.shutdown().await;
}
