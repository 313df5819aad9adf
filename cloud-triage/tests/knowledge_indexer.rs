//! The running service keeps its knowledge index in step with the database:
//! feedback and cases arriving over MQTT become searchable without a
//! restart, and `reindex` rebuilds the same documents from the database.

mod common_env;

use std::time::Duration;

use common_env::{embedded_service, envelope, eventually, publish_feedback, raw_client};

const VIN: &str = "5YJ3E1EA7KF317111";

async fn total(http: &reqwest::Client, base: &str, query: &str) -> i64 {
    let body: serde_json::Value = http
        .get(format!("{base}/api/search?{query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["total"].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_and_cases_become_searchable_and_reindex_rebuilds_them() {
    let dir = tempfile::tempdir().unwrap();
    let service = embedded_service(dir.path()).await;
    let client = raw_client(&service.mqtt_url, "indexer-sender").await;
    let texts = [
        "the windshield wipers stop halfway across the glass",
        "the wipers squeak and leave streaks",
        "the heated seat never gets warm",
    ];
    for text in texts {
        publish_feedback(&client, envelope(VIN, text)).await;
    }
    let base = format!("http://{}", service.http_addr);
    let http =
        common_env::client_with_role(&service, cloud_triage::store::access::Role::Engineer).await;
    let indexed = eventually(Duration::from_secs(20), || {
        let (base, http) = (base.clone(), http.clone());
        async move {
            total(&http, &base, "q=&kind=feedback").await == 3
                && total(&http, &base, "q=&kind=case").await == 3
        }
    })
    .await;
    assert!(indexed, "3 feedback and 3 cases indexed while running");
    assert_eq!(
        total(&http, &base, "q=wipers&kind=feedback&mode=bm25").await,
        2,
        "BM25 finds the two wiper reports"
    );
    assert_eq!(total(&http, &base, "q=wipers&kind=case&mode=bm25").await, 2);

    // Hybrid ranking (BM25 + embeddings) puts both wiper reports first,
    // also for words that share no term with them.
    let body: serde_json::Value = http
        .get(format!(
            "{base}/api/search?q=windscreen%20blades%20stuck&kind=feedback&mode=hybrid"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let top: Vec<&str> = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|h| h["doc"]["text"].as_str().unwrap())
        .collect();
    assert!(top.iter().all(|t| t.contains("wipers")), "{top:?}");

    // A rebuild from the database yields the same documents.
    let index = qloop_knowledge::KnowledgeIndex::in_memory().unwrap();
    let report = cloud_triage::knowledge::reindex(&service.store, &index, None)
        .await
        .unwrap();
    assert_eq!((report.cases, report.feedback), (3, 3));
    let rebuilt = index
        .search(&qloop_knowledge::SearchRequest::new("wipers"))
        .unwrap();
    assert_eq!(rebuilt.total, 4, "two feedback and their two cases");
    service.shutdown().await;
}
