//! The OpenAPI document tells the truth, over real HTTP: it asks for the
//! bearer token, names the enums as the server spells them and the
//! categories of its taxonomy, and the server refuses what the document
//! forbids (each case here was accepted before) and accepts what it allows
//! (each case here was refused before). `scripts/schemathesis.sh` checks the
//! same at large; these pin the fixes.

mod api_support;

use api_support::{error_message, get, ingest, serve};
use serde_json::{json, Value};

async fn post(url: String, body: Value) -> (u16, Value) {
    let response = api_support::client_for(&url)
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_document_asks_for_the_token_and_spells_enums_as_the_server_does() {
    let api = serve(true).await;
    let (status, doc) = get(format!("{}/api/openapi.json", api.base)).await;
    assert_eq!(status, 200);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (method, path) in cloud_triage::api::ROUTES {
        let op = &doc["paths"][path][method];
        let public = matches!(path, "/healthz" | "/api/openapi.json");
        assert_eq!(op["security"].is_null(), public, "{method} {path}");
        assert_eq!(op["responses"]["401"].is_null(), public, "{method} {path}");
    }
    assert!(!doc["paths"]["/api/tokens"]["post"]["responses"]["403"].is_null());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Severity"]["enum"],
        json!(["major", "minor", "unassessed"])
    );
    assert_eq!(schemas["CaseStatus"]["enum"][0], "new");
    let categories = schemas["CasePatch"]["properties"]["set"]["properties"]["category"]["enum"]
        .as_array()
        .unwrap();
    for category in api.store.taxonomy().categories.keys() {
        assert!(categories.contains(&json!(category)), "{category}");
    }
    let search = doc["paths"]["/api/search"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let q = search.iter().find(|p| p["name"] == "q").unwrap();
    assert_eq!(q["required"], true);
    assert_eq!(q["schema"]["maxLength"], 1000);
    let message = &schemas["UpdateRequest"]["properties"]["message"];
    assert_eq!(
        message["maxLength"],
        cloud_triage::domain::lifecycle::MAX_MESSAGE_CHARS
    );
    assert_eq!(message["pattern"], cloud_triage::api::contract::NOT_BLANK);
}

#[tokio::test]
async fn texts_over_their_limit_or_blank_are_refused_before_any_trim() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("wipers stuck")).await;
    // 1001 characters; 1000 once trimmed, which the store alone accepted.
    let long = format!(" {}", "x".repeat(1000));
    let (status, body) = post(
        format!("{}/api/cases/{case_id}/message", api.base),
        json!({"message": long}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(error_message(&body, "unprocessable").contains("message"));
    for name in ["\u{3000}", &format!("{} ", "n".repeat(100))] {
        let (status, body) = post(
            format!("{}/api/tokens", api.base),
            json!({"role": "operator", "name": name}),
        )
        .await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert!(error_message(&body, "unprocessable").contains("name"));
    }
}

#[tokio::test]
async fn search_needs_q_and_takes_only_real_dates_and_reachable_offsets() {
    let api = serve(true).await;
    for (query, mentions) in [
        ("kind=case", "q"),
        ("q=x&offset=9901", "offset"),
        ("q=x&date_from=2020-02-30", "date_from"),
        ("q=x&date_to=2020-01-01T00:00", "date_to"),
        ("q=x&mode=fast", "mode"),
    ] {
        let (status, body) = get(format!("{}/api/search?{query}", api.base)).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = error_message(&body, "bad_request");
        assert!(message.contains(mentions), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_time_before_1970_is_a_400_for_the_metrics() {
    let api = serve(true).await;
    let (status, body) = get(format!("{}/api/metrics/response-times?to_ms=-1", api.base)).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_message(&body, "bad_request").contains("to_ms"));
}

#[tokio::test]
async fn a_whole_number_written_as_a_float_is_an_integer() {
    let api = serve(true).await;
    let (_, case_id) = ingest(&api.store, Some("door rattles")).await;
    let (_, other) = ingest(&api.store, Some("heater cold")).await;
    let (status, body) = post(
        format!("{}/api/cases/{other}/merge", api.base),
        json!({"into": case_id as f64}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        format!("{}/api/cases/{case_id}/merge", api.base),
        json!({"into": 1.5}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn merging_an_unknown_case_into_itself_is_a_404_and_a_real_one_a_422() {
    let api = serve(true).await;
    let (status, body) = post(
        format!("{}/api/cases/424242/merge", api.base),
        json!({"into": 424242}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (_, case_id) = ingest(&api.store, Some("seat squeaks")).await;
    let (status, body) = post(
        format!("{}/api/cases/{case_id}/merge", api.base),
        json!({"into": case_id}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(error_message(&body, "unprocessable").contains("itself"));
}
