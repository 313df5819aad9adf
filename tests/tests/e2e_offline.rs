//! A car with no broker keeps its feedback: 50 triggers from five vehicles
//! wait in their outboxes (across an agent restart), the broker and
//! cloud-triage start, and all 50 arrive exactly once.

use std::{net::SocketAddr, time::Duration};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
};
use edge_agent::cmd::send::{flush_outbox, open_outbox};
use qloop_tests::{
    fleet::{capture_offline, check_arrived, decodable_names, fleet, outbox_files},
    free_port, init_logs,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_triggers_made_offline_all_arrive_once_the_broker_starts() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    let vehicles = fleet(&dir.path().join("edge"), &url, false);

    // Offline: every capture is committed to disk, and a flush attempt
    // against the absent broker fails without losing any of it.
    let mut sent = Vec::new();
    for v in &vehicles {
        sent.extend(capture_offline(v, 10).expect("captures commit offline"));
        let outbox = open_outbox(&v.config).unwrap();
        let err = flush_outbox(&v.config, outbox, Duration::from_secs(2))
            .await
            .expect_err("no broker, so nothing can be acknowledged");
        assert!(
            err.to_string()
                .contains("10 outbox entries still unacknowledged"),
            "{err:#}"
        );
        assert_eq!(outbox_files(&v.config.outbox.dir), 10, "all kept on disk");
    }
    assert_eq!(sent.len(), 50);

    // The broker (embedded in cloud-triage) comes up on the port the cars use.
    let mut config = ServiceConfig::local(dir.path().join("cloud"));
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], port)));
    let service = Service::start(config).await.expect("service starts");
    service.wait_ready(Duration::from_secs(20)).await.unwrap();

    // Each agent restarts (reopens its outbox from disk) and flushes.
    for v in &vehicles {
        let outbox = open_outbox(&v.config).unwrap();
        assert_eq!(outbox.lock().unwrap().len(), 10, "recovered from disk");
        let report = flush_outbox(&v.config, outbox, Duration::from_secs(60))
            .await
            .expect("flush succeeds");
        assert_eq!(report.acknowledged, 10);
        assert_eq!(outbox_files(&v.config.outbox.dir), 0);
    }

    let store = service.store.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while store.counts().await.unwrap().feedback < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "not all feedback arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = qloop_tests::fleet::operator_token(&service.store).await;
    let cases = check_arrived(
        &format!("http://{}", service.http_addr),
        &token,
        &sent,
        &decodable_names(&vehicles),
    )
    .await
    .expect("every offline feedback arrived intact");
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases),
        (50, cases.len() as i64),
        "exactly once, each in one case"
    );
    service.shutdown().await;
}
