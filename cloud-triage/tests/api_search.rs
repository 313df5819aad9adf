//! `GET /api/search` over the real NHTSA recalls: hits carry the campaign
//! number, filters and facets come back, and every kind of bad request
//! (unknown parameter, query syntax error, 10,000-character query, bad
//! filter values) is a 400 with a message, never a 500.

mod api_support;

use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
};

use api_support::{error_message, get};
use cloud_triage::{
    api::{router, ApiState},
    store::Store,
};
use qloop_knowledge::{import::parse_known_issues, KnowledgeIndex};

async fn serve_with_recalls() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("s.db").display()
    ))
    .await
    .unwrap();
    let index = KnowledgeIndex::in_memory().unwrap();
    let text = std::fs::read_to_string(
        qloop_protocol::shared_data().join("nhtsa/recalls-ford-toyota-tesla-2015-2025.jsonl"),
    )
    .unwrap();
    index.upsert(&parse_known_issues(&text).docs).unwrap();
    index.commit().unwrap();
    let token = store
        .create_token(
            cloud_triage::store::access::Role::Operator,
            "search test",
            1,
        )
        .await
        .unwrap();
    let app = router(ApiState {
        store,
        ready: Arc::new(AtomicBool::new(true)),
    })
    .layer(axum::Extension(Arc::new(index)));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    api_support::register_token(&format!("http://{addr}"), &token);
    (format!("http://{addr}"), dir)
}

#[tokio::test]
async fn a_drivers_words_find_recalls_with_campaign_numbers_filters_and_facets() {
    let (base, _dir) = serve_with_recalls().await;
    let (status, body) = get(format!(
        "{base}/api/search?q=brake%20fluid%20leak%20pedal&make=ford&year_from=2015&year_to=2020&limit=5"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for hit in hits {
        let id = hit["id"].as_str().unwrap();
        assert!(id.len() >= 9 && id.contains('V'), "a campaign number: {id}");
        assert_eq!(hit["doc"]["make"], "FORD");
        assert!(hit["highlight"].as_str().unwrap().contains("<b>"));
    }
    assert_eq!(body["facets"]["make"][0]["value"], "FORD");
    assert_eq!(body["facets"]["make"][0]["count"], body["total"]);
}

#[tokio::test]
async fn bad_searches_are_400s_with_a_message() {
    let (base, _dir) = serve_with_recalls().await;
    let long = "a".repeat(10_000);
    for (query, mentions) in [
        ("q=brakes&colour=red".to_string(), "colour"),
        ("q=title:(unclosed".to_string(), "parse"),
        ("q=nosuchfield:x".to_string(), "parse"),
        (format!("q={long}"), "10000 characters"),
        ("q=x&kind=recall".to_string(), "kind"),
        ("q=x&year_from=twenty".to_string(), "year_from"),
        ("q=x&year_from=2020&year_to=2010".to_string(), "year_from"),
        ("q=x&date_from=2020-13-40".to_string(), "date_from"),
        ("q=x&limit=1000".to_string(), "limit"),
        ("q=x&offset=99999".to_string(), "offset"),
    ] {
        let (status, body) = get(format!("{base}/api/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = error_message(&body, "bad_request");
        assert!(message.contains(mentions), "{query}: {message}");
    }
}
