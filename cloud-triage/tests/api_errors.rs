//! The API's error answers over real HTTP: JSON bodies with a code and a
//! message, the right status, and no internal detail.

mod api_support;

use api_support::{error_message, get, ingest, serve};
use sqlx::{Connection, Executor};

#[tokio::test]
async fn missing_cases_feedback_and_routes_are_json_404s() {
    let api = serve(true).await;
    let (status, body) = get(format!("{}/api/cases/999", api.base)).await;
    assert_eq!(status, 404);
    assert!(error_message(&body, "not_found").contains("case 999"));
    let (status, body) = get(format!(
        "{}/api/feedback/{}",
        api.base,
        uuid::Uuid::now_v7()
    ))
    .await;
    assert_eq!(status, 404);
    error_message(&body, "not_found");
    let (status, body) = get(format!("{}/api/nothing-here", api.base)).await;
    assert_eq!(status, 404);
    error_message(&body, "not_found");
}

#[tokio::test]
async fn malformed_ids_and_paging_are_json_400s() {
    let api = serve(true).await;
    for (path, mentions) in [
        ("/api/cases/seventeen", "path"),
        ("/api/cases/99999999999999999999999", "path"),
        ("/api/feedback/not-a-uuid", "UUID"),
        ("/api/cases?limit=abc", "query"),
        ("/api/cases?limit=0", "limit"),
        ("/api/cases?limit=501", "limit"),
        ("/api/cases?offset=-1", "offset"),
    ] {
        let (status, body) = get(format!("{}{path}", api.base)).await;
        assert_eq!(status, 400, "{path}");
        let message = error_message(&body, "bad_request");
        assert!(message.contains(mentions), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let api = serve(true).await;
    let response = api_support::client_for(&api.base)
        .post(format!("{}/api/cases", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    error_message(&response.json().await.unwrap(), "method_not_allowed");
}

#[tokio::test]
async fn a_corrupt_stored_record_is_a_500_that_hides_the_detail() {
    let api = serve(true).await;
    let (feedback_id, _) = ingest(&api.store, Some("ok")).await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&api.db_url).await.unwrap();
    conn.execute("UPDATE feedback SET telemetry_json = '{broken'")
        .await
        .unwrap();

    let (status, body) = get(format!("{}/api/feedback/{feedback_id}", api.base)).await;
    assert_eq!(status, 500);
    let message = error_message(&body, "internal");
    assert!(
        !message.contains("JSON") && !message.contains("telemetry"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unknown_status_severity_or_category_filter_is_a_400_naming_the_allowed_values() {
    let api = serve(true).await;
    ingest(&api.store, Some("mirror folds in")).await;
    for (query, allowed) in [
        (
            "status=bogus",
            &["new", "acknowledged", "effectiveness_verified", "cancelled"][..],
        ),
        ("severity=Major", &["major", "minor", "unassessed"][..]),
        ("category=no_such", &["brakes", "hvac", "untriaged"][..]),
    ] {
        let (status, body) = get(format!("{}/api/cases?{query}", api.base)).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = error_message(&body, "bad_request");
        for value in allowed {
            assert!(message.contains(value), "{query}: {message} names {value}");
        }
    }
    // A known value still filters.
    let (status, body) = get(format!(
        "{}/api/cases?status=new&severity=unassessed",
        api.base
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
}
