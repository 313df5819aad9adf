//! `PATCH /api/cases/{id}` over real HTTP: changes land with history; stale,
//! unknown and malformed changes get the matching JSON error.

mod api_support;

use api_support::{error_message, ingest, serve};
use serde_json::{json, Value};

async fn patch(url: String, body: reqwest::Body) -> (u16, Value) {
    let response = api_support::client_for(&url)
        .patch(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_patch_changes_the_case_and_records_who_did_it() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let body = json!({"actor": "bob", "set": {"department": "Body", "ica_action": "disable auto-fold", "ica_suggested": false}});

    let (status, case) = patch(
        format!("{}/api/cases/{case_id}", api.base),
        body.to_string().into(),
    )
    .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["department"], "Body");
    assert_eq!(case["ica"]["action"], "disable auto-fold");
    let history = case["history"].as_array().unwrap();
    // The token's name is the actor, whatever the body says.
    assert!(history.iter().all(|h| h["actor"] != "bob"));
    let by_caller: Vec<&str> = history
        .iter()
        .filter(|h| h["actor"] == "test admin")
        .map(|h| h["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_caller,
        vec!["department", "ica_action"],
        "ica_suggested was unchanged: {history:?}"
    );
    // Routing the case stopped its routing clock; the fixture case is from
    // 2024, so that clock ran late and the breach is on record.
    assert!(history
        .iter()
        .any(|h| h["actor"] == "sla" && h["new_value"] == "breached: route met late"));
}

#[tokio::test]
async fn a_patch_from_a_stale_read_is_a_409() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let url = format!("{}/api/cases/{case_id}", api.base);
    let first = json!({"actor": "bob", "expected_updated_at_ms": 1_717_000_001_000_i64, "set": {"root_cause": "hinge"}});
    assert_eq!(patch(url.clone(), first.to_string().into()).await.0, 200);

    let (status, body) = patch(url, first.to_string().into()).await;
    assert_eq!(status, 409);
    assert!(error_message(&body, "conflict").contains("reload"));
}

#[tokio::test]
async fn unknown_fields_and_bad_values_are_422s_and_broken_json_is_a_400() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let url = format!("{}/api/cases/{case_id}", api.base);
    for (body, mentions) in [
        (json!({"actor": "bob", "set": {"id": 5}}), "id"),
        (
            json!({"actor": "bob", "set": {"status": "exploded"}}),
            "status",
        ),
        (json!({"actor": "bob", "set": {}}), "set"),
        (json!({"set": {"title": "  "}}), "title"),
    ] {
        let (status, reply) = patch(url.clone(), body.to_string().into()).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            error_message(&reply, "unprocessable").contains(mentions),
            "{reply}"
        );
    }
    let (status, reply) = patch(url, "{\"actor\": ".into()).await;
    assert_eq!(status, 400);
    error_message(&reply, "bad_request");

    let missing = json!({"actor": "bob", "set": {"root_cause": "hinge"}});
    let (status, reply) = patch(
        format!("{}/api/cases/{}", api.base, case_id + 50),
        missing.to_string().into(),
    )
    .await;
    assert_eq!(status, 404);
    error_message(&reply, "not_found");
}

#[tokio::test]
async fn an_unknown_severity_or_category_is_a_422_naming_the_allowed_values() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("mirror folds in")).await;
    let url = format!("{}/api/cases/{case_id}", api.base);
    for (body, named) in [
        (
            json!({"set": {"severity": "Major"}}),
            &["\"Major\"", "major", "minor", "unassessed"][..],
        ),
        (
            json!({"set": {"category": "no_such"}}),
            &[
                "\"no_such\"",
                "brakes",
                "hvac",
                "needs_human_triage",
                "untriaged",
            ][..],
        ),
    ] {
        let (status, reply) = patch(url.clone(), body.to_string().into()).await;
        assert_eq!(status, 422, "{body}: {reply}");
        let message = error_message(&reply, "unprocessable");
        for value in named {
            assert!(message.contains(value), "{message} names {value}");
        }
    }
    let case = api.store.get_case(case_id).await.unwrap().unwrap();
    assert_eq!(
        (case.summary.severity, case.summary.category.as_str()),
        (cloud_triage::domain::Severity::Unassessed, "untriaged"),
        "nothing was stored"
    );
    let (status, reply) = patch(
        url,
        json!({"set": {"severity": "minor", "category": "hvac"}})
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (&reply["severity"], &reply["category"]),
        (&json!("minor"), &json!("hvac"))
    );
}
