//! Triage in the running service, with the real model: feedback arrives
//! classified with a department, severity, confidence and model version; a
//! safety report is major and escalated; and an engineer's category
//! correction changes how the same complaint is triaged next, without a
//! restart.

mod common_env;

use common_env::{embedded_service, envelope, publish_and_wait_for_case, raw_client};

const VIN: &str = "5YJ3E1EA7KF317222";

async fn send_and_wait(
    service: &cloud_triage::service::Service,
    client: &rumqttc::AsyncClient,
    text: &str,
) -> i64 {
    send_env_and_wait(service, client, envelope(VIN, text)).await
}

async fn send_env_and_wait(
    service: &cloud_triage::service::Service,
    client: &rumqttc::AsyncClient,
    env: qloop_protocol::FeedbackEnvelope,
) -> i64 {
    publish_and_wait_for_case(&service.store, client, env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_arrive_triaged_and_a_correction_is_learned_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let service = embedded_service(dir.path()).await;
    let client = raw_client(&service.mqtt_url, "triage-sender").await;

    let crash = send_and_wait(
        &service,
        &client,
        "the airbag did not deploy when I crashed into a pole and I was injured",
    )
    .await;
    let case = service.store.get_case(crash).await.unwrap().unwrap();
    assert_eq!(case.summary.severity, "major");
    assert_eq!(case.summary.category, "airbags_restraints");
    assert_eq!(case.summary.department.as_deref(), Some("Safety Systems"));
    assert!(case.confidence.unwrap() > 0.45);
    assert!(case.model_version.starts_with("all-MiniLM-L6-v2"));
    assert!(
        case.history.iter().any(|h| h.field == "escalation"),
        "major cases are escalated at once"
    );

    let text = "the cupholder lid sticks and squeaks when I open it";
    let first = send_and_wait(&service, &client, text).await;
    let before = service
        .store
        .get_case(first)
        .await
        .unwrap()
        .unwrap()
        .summary
        .category;
    let corrected = if before == "hvac" {
        "noise_vibration"
    } else {
        "hvac"
    };
    let response =
        common_env::client_with_role(&service, cloud_triage::store::access::Role::Engineer)
            .await
            .patch(format!("http://{}/api/cases/{first}", service.http_addr))
            .json(&serde_json::json!({"actor": "engineer", "set": {"category": corrected}}))
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 200);

    // From another model, so it cannot simply join the corrected case.
    let mut other_model = envelope(VIN, text);
    other_model.vehicle.model = "Model Y".into();
    let second = send_env_and_wait(&service, &client, other_model).await;
    assert_ne!(second, first, "a new case, triaged afresh");
    let after = service
        .store
        .get_case(second)
        .await
        .unwrap()
        .unwrap()
        .summary
        .category;
    assert_eq!(
        after, corrected,
        "was {before}; the correction decides the same complaint now"
    );
    assert_eq!(
        service.store.labelled_examples().await.unwrap().len(),
        1,
        "stored for the next start"
    );
    service.shutdown().await;
}
