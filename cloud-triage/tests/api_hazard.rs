//! The hazard in the API (issue 13), over real HTTP: a case's JSON names
//! its hazard (`null` when none), the listing filters on it and refuses
//! any other text with a 400 naming the allowed values, and the OpenAPI
//! document lists the same values.

mod api_support;

use api_support::{error_message, get, serve, VIN};
use cloud_triage::{
    app::ingest::Triaged,
    policy::Policy,
    store::{AudioState, IngestMeta, Store},
    triage::Assessment,
};
use qloop_protocol::testing::EnvelopeBuilder;
use serde_json::{json, Value};

/// Ingests a feedback triaged `severity`, naming `hazard`, on its own
/// embedding axis (its own case); returns the case number.
async fn triaged(store: &Store, n: usize, severity: &str, hazard: Option<&str>) -> i64 {
    let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
    vector[n] = 1.0;
    let assessment = Assessment {
        category: "brakes".into(),
        department: Some("Chassis".into()),
        severity: severity.into(),
        severity_reasons: vec!["text: brake failure".into()],
        hazard: hazard.map(str::to_string),
        confidence: 0.9,
        model_version: "test".into(),
        vector: Some(vector),
    };
    let at = 1_717_000_000_000 + n as i64 * 60_000;
    let env = EnvelopeBuilder::new(VIN, "the brake pedal sank", at).build();
    let meta = IngestMeta {
        received_at_ms: at + 1_000,
        envelope_bytes: 500,
        asr: None,
        audio: AudioState::None,
    };
    let policy = Policy::default();
    let triage = Triaged {
        assessment: &assessment,
        matches: &[],
        policy: &policy,
    };
    store
        .ingest_triaged_feedback(&env, &meta, Some(triage))
        .await
        .unwrap()
        .case_id
}

/// The case numbers of `/api/cases?{query}`.
async fn listed(base: &str, query: &str) -> Vec<i64> {
    let (status, body) = get(format!("{base}/api/cases?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_case_names_its_hazard_and_the_listing_filters_on_it() {
    let api = serve(true).await;
    let brakes = triaged(&api.store, 0, "major", Some("loss_of_braking")).await;
    let fire = triaged(&api.store, 1, "major", Some("fire_or_smoke")).await;
    let minor = triaged(&api.store, 2, "minor", None).await;

    let (status, case) = get(format!("{}/api/cases/{brakes}", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(case["hazard"], "loss_of_braking");
    assert_eq!(case["severity"], "major");
    let (_, case) = get(format!("{}/api/cases/{minor}", api.base)).await;
    assert_eq!(case["hazard"], Value::Null, "present, and null");

    let (_, all) = get(format!("{}/api/cases", api.base)).await;
    let hazards: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["hazard"])
        .collect();
    assert_eq!(
        hazards,
        [
            &Value::Null,
            &json!("fire_or_smoke"),
            &json!("loss_of_braking")
        ]
    );
    assert_eq!(listed(&api.base, "hazard=loss_of_braking").await, [brakes]);
    assert_eq!(
        listed(&api.base, "hazard=fire_or_smoke&severity=major").await,
        [fire]
    );
    assert_eq!(listed(&api.base, "hazard=none").await, [minor]);
    assert!(listed(&api.base, "hazard=other").await.is_empty());
}

#[tokio::test]
async fn the_listing_refuses_a_hazard_that_is_none_of_the_names() {
    let api = serve(true).await;
    for junk in ["brakes", "LOSS_OF_BRAKING", "loss%20of%20braking", ""] {
        let (status, body) = get(format!("{}/api/cases?hazard={junk}", api.base)).await;
        assert_eq!(status, 400, "hazard={junk}: {body}");
        let message = error_message(&body, "bad_request");
        assert!(message.starts_with("hazard: "), "{message}");
        assert!(
            message.contains("is not one of loss_of_braking, loss_of_steering, "),
            "{message}"
        );
        assert!(message.ends_with(", other, none"), "{message}");
    }
}

#[tokio::test]
async fn the_document_lists_the_hazards_the_server_takes_and_serves() {
    let api = serve(true).await;
    let (_, doc) = get(format!("{}/api/openapi.json", api.base)).await;
    let mut names: Vec<Value> = qloop_models::Hazard::ALL
        .iter()
        .map(|h| json!(h.name()))
        .collect();
    let params = doc["paths"]["/api/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let filter = params.iter().find(|p| p["name"] == "hazard").unwrap();
    names.push(json!("none"));
    assert_eq!(filter["schema"]["enum"], json!(names));
    names.pop();
    names.push(Value::Null);
    let property = &doc["components"]["schemas"]["CaseSummary"]["properties"]["hazard"];
    assert_eq!(property["enum"], json!(names));
    assert_eq!(property["type"], json!(["string", "null"]));
}
