//! Crashes lose nothing and duplicate nothing.
//!
//! - `kill -9` of the edge-agent binary while it publishes 200 outbox
//!   entries; the restarted agent sends the rest: 200 feedback, each in one case.
//! - `kill -9` of the cloud-triage binary while it ingests 500 messages from
//!   Mosquitto (persistent session, manual acks after commit); the restarted
//!   service gets the unacknowledged ones again: 500 feedback, each in one case.

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cloud_triage::{
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::Store,
};
use edge_agent::cmd::send::{flush_outbox, open_outbox};
use qloop_tests::{
    fleet::{capture_offline, check_arrived, decodable_names, fleet, outbox_files, Sent},
    forget_session, free_port, init_logs, repo_root, service_or_skip, workspace_bin, MOSQUITTO,
};

/// SIGKILL: no destructor, no flush, no goodbye to the broker.
fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_agent_killed_mid_publish_delivers_all_200_once_after_restart() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::local(dir.path().join("cloud"));
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    let service = Service::start(config).await.expect("service starts");
    service.wait_ready(Duration::from_secs(20)).await.unwrap();

    // The brake-fluid Model 3: its envelopes carry a full DBC snapshot.
    let vehicles = fleet(&dir.path().join("edge"), &service.mqtt_url, false);
    let car = vehicles
        .iter()
        .find(|v| v.path.ends_with("model3-brake-fluid.toml"))
        .unwrap();
    let sent = capture_offline(car, 200).expect("200 captures committed");
    let outbox_dir = car.config.outbox.dir.clone();
    assert_eq!(outbox_files(&outbox_dir), 200);

    let flush = |wait: &str| {
        Command::new(workspace_bin("edge-agent", "edge-agent"))
            .args([
                "flush",
                "--broker",
                &service.mqtt_url,
                "--vin",
                &car.config.vehicle.vin,
                "--wait-ack",
                wait,
            ])
            .arg("--outbox")
            .arg(&outbox_dir)
            .env("QLOOP_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .expect("edge-agent starts")
    };
    let mut agent = flush("60");
    let deadline = Instant::now() + Duration::from_secs(60);
    let left_at_kill = loop {
        let left = outbox_files(&outbox_dir);
        if left <= 170 {
            kill9(&mut agent);
            break outbox_files(&outbox_dir);
        }
        assert!(
            agent.try_wait().unwrap().is_none(),
            "agent exited before the kill; nothing was tested"
        );
        assert!(Instant::now() < deadline, "agent never started publishing");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(
        left_at_kill > 0,
        "the kill came after the last PUBACK; nothing was tested"
    );
    eprintln!("killed the edge agent with {left_at_kill} of 200 entries unacknowledged");

    // Restart: the agent recovers its outbox from disk and sends the rest.
    let status = flush("60").wait().unwrap();
    assert!(status.success(), "restarted agent flushed everything");
    assert_eq!(outbox_files(&outbox_dir), 0);

    wait_for(&service.store, 200).await;
    let token = qloop_tests::fleet::operator_token(&service.store).await;
    let cases = check_arrived(
        &format!("http://{}", service.http_addr),
        &token,
        &sent,
        &decodable_names(&vehicles),
    )
    .await
    .expect("every feedback arrived, each linked to one case");
    let counts = service.store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases),
        (200, cases.len() as i64),
        "none lost, none twice, no case without feedback"
    );
    service.shutdown().await;
}

/// Feedback rows and distinct cases of the given vehicles, read straight from
/// the SQLite file.
async fn rows_for_vins(db: &Path, vehicles: &[edge_agent::FixtureVehicle]) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let vins: Vec<String> = vehicles
        .iter()
        .map(|v| format!("'{}'", v.config.vehicle.vin))
        .collect();
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT cf.case_id) FROM feedback f \
         LEFT JOIN case_feedback cf ON cf.feedback_id = f.id WHERE f.vin IN ({})",
        vins.join(",")
    );
    let row: (i64, i64) = sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

/// Waits until the store holds `n` feedback, then a moment longer to catch
/// late duplicates.
async fn wait_for(store: &Store, n: i64) {
    // Fails when delivery stops making progress for a minute, not when a
    // loaded machine is merely slow.
    let (mut seen, mut progressed) = (-1, Instant::now());
    loop {
        let c = store.counts().await.unwrap();
        if c.feedback >= n {
            break;
        }
        if c.feedback > seen {
            (seen, progressed) = (c.feedback, Instant::now());
        }
        assert!(
            progressed.elapsed() < Duration::from_secs(60),
            "delivery stalled at {} feedback of {n}",
            c.feedback
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

struct Triage {
    child: Child,
    http: String,
}

/// A failing test must not leave a `cloud-triage serve` behind, consuming
/// from the shared Mosquitto for the rest of the machine's life.
impl Drop for Triage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_triage(data_dir: &Path, client_id: &str, group: &str) -> Triage {
    let http = format!("127.0.0.1:{}", free_port());
    // Its log, kept for a failure's diagnosis (appended across restarts).
    std::fs::create_dir_all(data_dir).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("triage.log"))
        .unwrap();
    let child = Command::new(workspace_bin("cloud-triage", "cloud-triage"))
        .args([
            "serve",
            "--http",
            &http,
            "--mqtt-url",
            &format!("mqtt://{MOSQUITTO}"),
        ])
        .args(["--client-id", client_id, "--share-group", group])
        .arg("--data-dir")
        .arg(data_dir)
        .env("QLOOP_LOG", "warn")
        .current_dir(repo_root())
        .stderr(log)
        .spawn()
        .expect("cloud-triage starts");
    Triage {
        child,
        http: format!("http://{http}"),
    }
}

/// `GET /healthz` until 200 (subscribed and ready).
async fn ready(http: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{http}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "cloud-triage never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Feedback the running service has stored (`feedback` of `GET /healthz`).
async fn feedback_total(http: &str) -> Option<i64> {
    let r = reqwest::get(format!("{http}/healthz")).await.ok()?;
    r.json::<serde_json::Value>().await.ok()?["feedback"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_triage_killed_mid_ingest_ends_with_500_feedback_each_in_one_case() {
    init_logs();
    if !service_or_skip("Mosquitto", MOSQUITTO) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("cloud");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (client_id, group) = (
        format!("e2e-kill-{}", &run[..12]),
        format!("kill{}", &run[..12]),
    );

    let mut triage = spawn_triage(&data_dir, &client_id, &group);
    ready(&triage.http).await;

    // 500 feedback from five cars (unique VINs), published to Mosquitto.
    let vehicles = fleet(
        &dir.path().join("edge"),
        &format!("mqtt://{MOSQUITTO}"),
        true,
    );
    let mut sent: Vec<Sent> = Vec::new();
    for v in &vehicles {
        sent.extend(capture_offline(v, 100).expect("captures commit"));
    }
    let publishers: Vec<_> = vehicles
        .iter()
        .map(|v| {
            let cfg = v.config.clone();
            tokio::spawn(async move {
                flush_outbox(&cfg, open_outbox(&cfg).unwrap(), Duration::from_secs(120)).await
            })
        })
        .collect();

    // Kill cloud-triage once it has stored some feedback but not all.
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        if let Some(n) = feedback_total(&triage.http).await {
            if n >= 60 {
                kill9(&mut triage.child);
                break n;
            }
        }
        assert!(
            Instant::now() < deadline,
            "ingest never got going; its log:\n{}",
            std::fs::read_to_string(data_dir.join("triage.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        at_kill < 500,
        "killed after all 500 were in; nothing was tested"
    );
    eprintln!("killed cloud-triage with {at_kill} of 500 feedback stored");
    for p in publishers {
        p.await
            .unwrap()
            .expect("Mosquitto acknowledged every publish");
    }

    // Restart with the same client id: Mosquitto redelivers the
    // unacknowledged messages and the queue kept while it was down.
    let mut triage = spawn_triage(&data_dir, &client_id, &group);
    ready(&triage.http).await;
    // Mosquitto is shared with other tests, so count this run's VINs only.
    let db = data_dir.join("qloop.db");
    // A liveness check, not a speed limit: it fails only when delivery
    // stops making progress for a minute (a loaded CI machine is slow, not
    // stuck).
    let (mut seen, mut progressed) = (0, Instant::now());
    loop {
        let now_stored = rows_for_vins(&db, &vehicles).await.0;
        if now_stored >= 500 {
            break;
        }
        if now_stored > seen {
            (seen, progressed) = (now_stored, Instant::now());
        }
        assert!(
            progressed.elapsed() < Duration::from_secs(60),
            "delivery stalled at {seen} of 500 after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // late duplicates would show now
    let store = cloud_triage::store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let token = qloop_tests::fleet::operator_token(&store).await;
    store.close().await;
    let cases = check_arrived(&triage.http, &token, &sent, &decodable_names(&vehicles))
        .await
        .expect("each feedback stored once, linked to one case");
    let (feedback, cases_of_ours) = rows_for_vins(&db, &vehicles).await;
    assert_eq!(
        (feedback, cases_of_ours),
        (500, cases.len() as i64),
        "none lost, none twice"
    );

    kill9(&mut triage.child);
    forget_session("127.0.0.1", 1883, &client_id).await;
}
