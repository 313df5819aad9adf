//! The API's read routes and its OpenAPI document, over real HTTP.

mod api_support;

use std::sync::atomic::Ordering;

use api_support::{get, ingest, serve, VIN};
use cloud_triage::api::ROUTES;
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_503_while_starting_then_200_with_counts() {
    let api = serve(false).await;
    let (status, body) = get(format!("{}/healthz", api.base)).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("starting")));

    ingest(&api.store, Some("horn too quiet")).await;
    api.ready.store(true, Ordering::Release);
    let (status, body) = get(format!("{}/healthz", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["backend"], "sqlite");
    assert_eq!(
        (body["feedback"].as_i64(), body["cases"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (body["downlink_pending"].as_i64(), body["rejected"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn the_case_listing_pages_and_filters() {
    let api = serve(true).await;
    for i in 0..3 {
        ingest(&api.store, Some(&format!("report {i}"))).await;
    }
    let (status, body) = get(format!("{}/api/cases?limit=2&offset=0", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["total"].as_i64(),
            body["limit"].as_i64(),
            body["offset"].as_i64()
        ),
        (Some(3), Some(2), Some(0))
    );
    let ids: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2]);
    assert_eq!(body["items"][0]["title"], "report 2");

    let (_, filtered) = get(format!("{}/api/cases?status=closed", api.base)).await;
    assert_eq!(
        (
            filtered["total"].as_i64(),
            filtered["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let (_, untriaged) = get(format!(
        "{}/api/cases?category=untriaged&severity=unassessed",
        api.base
    ))
    .await;
    assert_eq!(untriaged["total"], 3);
}

#[tokio::test]
async fn a_case_and_its_feedback_read_back_with_every_field() {
    let api = serve(true).await;
    let (feedback_id, case_id) = ingest(&api.store, None).await;

    let (status, case) = get(format!("{}/api/cases/{case_id}", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(case["id"], case_id);
    assert_eq!(
        (case["status"].as_str(), case["category"].as_str()),
        (Some("new"), Some("untriaged"))
    );
    assert_eq!(case["severity"], "unassessed");
    assert_eq!(case["title"], "Feedback without transcript");
    assert_eq!(case["feedback_ids"], serde_json::json!([feedback_id]));
    assert_eq!(case["ica"]["suggested"], false);
    assert!(case["pca"].as_object().unwrap().contains_key("due_ms"));

    let (status, feedback) = get(format!("{}/api/feedback/{feedback_id}", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(feedback["id"], feedback_id.to_string());
    assert_eq!(feedback["vin"], VIN);
    assert!(feedback["transcript"].is_null());
    assert_eq!(feedback["telemetry"]["signals"][0]["name"], "Vehicle.Speed");
    assert_eq!(
        feedback["telemetry"]["signals"][0]["samples"][0]["value"],
        88.0
    );
    assert_eq!(feedback["case_id"], case_id);
}

#[tokio::test]
async fn a_vehicle_shows_its_feedback_and_the_records_its_car_reported_lost() {
    let api = serve(true).await;
    let (feedback_id, case_id) = ingest(&api.store, Some("the boot will not open")).await;
    let never = uuid::Uuid::now_v7();
    let report = qloop_protocol::LossReport {
        report_id: uuid::Uuid::now_v7(),
        vin: VIN.into(),
        feedback_id: Some(never),
        lost: qloop_protocol::LostMessage::Feedback,
        reason: "outbox record 00000000000000000003.qlm unreadable: checksum mismatch".into(),
        resent: false,
        detected_at_ms: 1_717_000_002_000,
    };
    assert!(api
        .store
        .record_loss(&report, 1_717_000_003_000)
        .await
        .unwrap());

    let (status, vehicle) = get(format!("{}/api/vehicles/{VIN}", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(vehicle["feedback"][0]["id"], feedback_id.to_string());
    assert_eq!(vehicle["feedback"][0]["case_id"], case_id);
    assert_eq!(vehicle["losses"][0]["feedback_id"], never.to_string());
    assert_eq!(vehicle["losses"][0]["lost"], "feedback");
    assert_eq!(vehicle["losses"][0]["feedback_arrived"], false);
    assert_eq!(vehicle["lost_feedback"], 1);

    let (status, body) = get(format!("{}/api/vehicles/not-a-vin", api.base)).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get(format!("{}/api/vehicles/1FTFW1ET5DFC10312", api.base)).await;
    assert_eq!(status, 404);
    let metrics = api_support::client_for(&api.base)
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("qloop_lost_feedback 1"),
        "the lost feedback is counted: {metrics}"
    );
    assert!(metrics.contains(r#"qloop_car_reported_losses{lost="feedback",resent="false"} 1"#));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_schemas() {
    let api = serve(true).await;
    let (feedback_id, case_id) = ingest(&api.store, Some("x")).await;
    let (status, doc) = get(format!("{}/api/openapi.json", api.base)).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        operations,
        ROUTES.len(),
        "no undocumented or extra operations"
    );
    // A second case to merge into the first, whose two feedback then let one split out.
    let (_, other_case) = ingest(&api.store, Some("y")).await;
    for (method, path) in ROUTES {
        let operation = &paths[path][method];
        let success = operation["responses"]
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.starts_with('2'))
            .unwrap_or_else(|| panic!("{method} {path} documents no success"))
            .parse::<u16>()
            .unwrap();
        let id = if path.contains("feedback") {
            feedback_id.to_string()
        } else if path.ends_with("/merge") {
            other_case.to_string()
        } else {
            case_id.to_string()
        };
        let url = format!(
            "{}{}",
            api.base,
            path.replace("{id}", &id).replace("{vin}", api_support::VIN)
        );
        let client = api_support::client_for(&url);
        let status = match (method, path) {
            ("get", "/metrics") => {
                let response = client.get(url).send().await.unwrap();
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                assert!(text.contains("# TYPE qloop_cases gauge"), "{text}");
                status
            }
            // `q` is required: a search without it is a 400.
            ("get", "/api/search") => get(format!("{url}?q=brakes")).await.0,
            ("get", _) => get(url).await.0,
            ("patch", _) => client
                .patch(url)
                .json(&serde_json::json!({"actor": "openapi check", "set": {"department": "body"}}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            ("post", p) if p.ends_with("/merge") => client
                .post(url)
                .json(&serde_json::json!({"actor": "openapi check", "into": case_id}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            ("post", p) if p.ends_with("/split") => client
                .post(url)
                .json(&serde_json::json!({"actor": "openapi check", "feedback_ids": [feedback_id]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            ("post", p) if p.ends_with("/transition") => client
                .post(url)
                .json(&serde_json::json!({"to": "acknowledged", "actor": "openapi check", "message": "We are on it."}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            ("post", p) if p.ends_with("/satisfaction") => {
                // Only a resolved case asks for the driver's satisfaction.
                let policy = cloud_triage::policy::Policy::default();
                for (to, fields) in [
                    ("contained", serde_json::json!({"ica_action": "a", "ica_owner": "b", "ica_implemented_at_ms": 1, "ica_verification": "c"})),
                    ("root_cause_found", serde_json::json!({"root_cause": "a", "root_cause_occurrence": "b", "root_cause_escape_point": "c", "root_cause_evidence": "d"})),
                    ("corrective_action_implemented", serde_json::json!({"pca_action": "a", "pca_owner": "b", "pca_implemented_at_ms": 1, "pca_validation": "c"})),
                    ("effectiveness_verified", serde_json::json!({"verification": "a", "verification_owner": "b"})),
                ] {
                    let t = cloud_triage::app::transition::Transition {
                        to: to.into(),
                        actor: "openapi check".into(),
                        message: Some("update".into()),
                        reason: None,
                        fields: fields.as_object().unwrap().clone(),
                    };
                    api.store.transition(case_id, &t, &policy, cloud_triage::now_ms()).await.unwrap();
                }
                client
                    .post(url)
                    .json(&serde_json::json!({"actor": "driver", "score": 5}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
            ("post", p) if p.ends_with("/message") => client
                .post(url)
                .json(&serde_json::json!({"message": "Parts are ordered."}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            ("post", "/api/tokens") => client
                .post(url)
                .json(&serde_json::json!({"role": "operator", "name": "night shift"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            other => panic!("no check written for {other:?}"),
        };
        assert_eq!(status, success, "the documented {method} {path} is served");
    }

    let case_json =
        serde_json::to_value(api.store.get_case(case_id).await.unwrap().unwrap()).unwrap();
    for field in [
        "id",
        "status",
        "category",
        "severity",
        "feedback_ids",
        "ica",
        "pca",
    ] {
        assert!(case_json.get(field).is_some(), "case JSON has {field}");
    }
    let feedback_json =
        serde_json::to_value(api.store.get_feedback(feedback_id).await.unwrap().unwrap()).unwrap();
    for (schema, served) in [("CaseDetail", case_json), ("FeedbackDetail", feedback_json)] {
        let mut served: Vec<String> = served.as_object().unwrap().keys().cloned().collect();
        served.sort();
        let mut documented = property_names(&doc, &doc["components"]["schemas"][schema]);
        documented.sort();
        assert_eq!(
            served, documented,
            "the {schema} schema names exactly the served fields"
        );
    }
}

/// The property names of `schema`, following `$ref` and `allOf` (serde flatten).
fn property_names(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return property_names(doc, &doc["components"]["schemas"][name]);
    }
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(property_names(doc, part));
    }
    names
}
