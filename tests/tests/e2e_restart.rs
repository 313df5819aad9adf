//! Service restarts lose nothing (issue 21, item 2).
//!
//! Real `cloud-triage serve` and `edge-agent flush` processes:
//!
//! - Embedded broker, the blind window at start: five feedback wait in an
//!   outbox, the agent retries against the closed port, the service starts.
//!   The agent connects as soon as the broker listens — before ingest has
//!   subscribed — and deletes each entry on its PUBACK. All five are stored.
//! - Embedded broker, restarts (SIGTERM, same port, same data directory)
//!   while an outbox of 50 drains: the first restart comes with the first
//!   PUBACK, so the broker holds acknowledged messages that ingest has not
//!   committed. Each graceful stop leaves every message either stored or
//!   still in the outbox, and in the end all 50 are stored exactly once.
//! - Mosquitto (external broker): the service's persistent session keeps
//!   what cars publish while the service is stopped.
//!
//! Deadlines here are liveness checks (no progress for a long time), never
//! speed limits.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use edge_agent::FixtureVehicle;
use qloop_tests::{
    fleet::{capture_offline, check_arrived, decodable_names, fleet, outbox_files, Sent},
    forget_session, free_port, init_logs, repo_root, service_or_skip, workspace_bin, MOSQUITTO,
};

/// How long a process may make no progress before the test calls it stuck.
const STALL: Duration = Duration::from_secs(90);

/// A binary of the workspace, rebuilt once per test process so a stale
/// `cloud-triage` from an older checkout can neither pass nor fail these tests.
fn fresh_bin(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_string(),
            Some(p) => p.to_string(),
            None => "dev".to_string(),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--profile", &profile])
            .args(["-p", "cloud-triage", "--bin", "cloud-triage"])
            .args(["-p", "edge-agent", "--bin", "edge-agent"])
            .arg("--target-dir")
            .arg(
                profile_dir
                    .parent()
                    .and_then(|t| t.canonicalize().ok())
                    .expect("target dir"),
            )
            .current_dir(repo_root())
            .status()
            .expect("running cargo build");
        assert!(
            status.success(),
            "building cloud-triage and edge-agent failed"
        );
    });
    workspace_bin(package, name)
}

/// Where the service gets its MQTT from.
enum Broker {
    /// Its own embedded broker on this port.
    Embedded(u16),
    /// Mosquitto, with this client id and share group.
    Mosquitto { client_id: String, group: String },
}

/// A running `cloud-triage serve`; killed if the test fails.
struct Triage {
    child: Child,
    http: String,
    log: PathBuf,
}

impl Drop for Triage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Triage {
    fn start(data_dir: &Path, broker: &Broker) -> Self {
        let http = format!("127.0.0.1:{}", free_port());
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join("triage.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(fresh_bin("cloud-triage", "cloud-triage"));
        cmd.args(["serve", "--http", &http])
            .arg("--data-dir")
            .arg(data_dir);
        match broker {
            Broker::Embedded(port) => {
                cmd.args(["--mqtt-embedded", &format!("127.0.0.1:{port}")]);
            }
            Broker::Mosquitto { client_id, group } => {
                cmd.args(["--mqtt-url", &format!("mqtt://{MOSQUITTO}")])
                    .args(["--client-id", client_id, "--share-group", group]);
            }
        }
        let child = cmd
            .env("QLOOP_LOG", "info")
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cloud-triage starts");
        Self {
            child,
            http: format!("http://{http}"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lines of this run's log that tell how it stopped.
    fn stop_lines(&self, from: usize) -> String {
        self.log()
            .get(from..)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                [
                    "shutting down",
                    "vehicle connections closed",
                    "stopping",
                    "end of the",
                    "ingest stopped",
                    "did not finish",
                ]
                .iter()
                .any(|k| l.contains(k))
            })
            .map(|l| format!("    | {l}\n"))
            .collect()
    }

    /// `GET /healthz` answers 200: subscribed and ready.
    async fn is_ready(&self) -> bool {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        matches!(
            client.get(format!("{}/healthz", self.http)).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        while !self.is_ready().await {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("cloud-triage exited ({status}); its log:\n{}", self.log());
            }
            assert!(
                start.elapsed() < STALL,
                "cloud-triage not ready after {STALL:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, as systemd or Ctrl-C would stop it, and its exit status.
    fn stop(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < STALL,
                "cloud-triage still running {STALL:?} after SIGTERM; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `edge-agent flush` of `car`'s outbox to `url`, retrying quickly while the
/// broker is away (reconnect backoff 20–200 ms), waiting up to `wait_ack` s.
fn spawn_agent(car: &FixtureVehicle, url: &str, log: &Path, wait_ack: u64) -> Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(fresh_bin("edge-agent", "edge-agent"))
        .args(["flush", "--broker", url, "--vin", &car.config.vehicle.vin])
        .args(["--wait-ack", &wait_ack.to_string()])
        .arg("--outbox")
        .arg(&car.config.outbox.dir)
        .env("QLOOP_LOG", "info")
        .env("QLOOP_EDGE__BROKER__RECONNECT_MIN_MS", "20")
        .env("QLOOP_EDGE__BROKER__RECONNECT_MAX_MS", "200")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("edge-agent starts")
}

/// Feedback rows of `vin` in the service's SQLite file (0 before it exists).
async fn stored(data_dir: &Path, vin: &str) -> i64 {
    let db = data_dir.join("qloop.db");
    if !db.exists() {
        return 0;
    }
    let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await else {
        return 0;
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feedback WHERE vin = ?")
        .bind(vin)
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    pool.close().await;
    n
}

/// Waits until `n` feedback of `vin` are stored; fails only when the count
/// stops moving for [`STALL`]. Then waits a moment for late duplicates.
async fn wait_stored(data_dir: &Path, vin: &str, n: i64, triage: &Triage) {
    let (mut seen, mut progressed) = (-1, Instant::now());
    loop {
        let now = stored(data_dir, vin).await;
        if now >= n {
            break;
        }
        if now > seen {
            (seen, progressed) = (now, Instant::now());
        }
        assert!(
            progressed.elapsed() < STALL,
            "stored {now} of {n} and no progress for {STALL:?}; the service's log:\n{}",
            triage.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Every sent feedback is stored once, in one case (over the HTTP API), and
/// the store holds exactly `sent.len()` rows of this VIN.
async fn check_once(triage: &Triage, data_dir: &Path, car: &FixtureVehicle, sent: &[Sent]) {
    let db = data_dir.join("qloop.db");
    let store = cloud_triage::store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let token = qloop_tests::fleet::operator_token(&store).await;
    store.close().await;
    check_arrived(
        &triage.http,
        &token,
        sent,
        &decodable_names(std::slice::from_ref(car)),
    )
    .await
    .expect("each feedback stored, each in one case");
    assert_eq!(
        stored(data_dir, &car.config.vehicle.vin).await,
        sent.len() as i64,
        "none lost, none twice"
    );
}

/// The agent's exit, failing the test if it is stuck.
fn wait_agent(agent: &mut Child, log: &Path) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = agent.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(600) {
            let _ = agent.kill();
            panic!(
                "edge-agent still running after 600 s; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One car of the fixture fleet with a unique VIN, its outbox under `dir`.
fn one_car(dir: &Path, url: &str) -> FixtureVehicle {
    fleet(&dir.join("edge"), url, true)
        .into_iter()
        .find(|v| v.path.ends_with("model3-brake-fluid.toml"))
        .expect("the Model 3 fixture")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_waiting_in_an_outbox_are_all_stored_when_the_service_starts() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let (data_dir, agent_log) = (dir.path().join("cloud"), dir.path().join("agent.log"));
    let port = free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    let car = one_car(dir.path(), &url);
    let vin = car.config.vehicle.vin.clone();
    let sent = capture_offline(&car, 5).expect("5 captures committed");
    let outbox = car.config.outbox.dir.clone();
    assert_eq!(outbox_files(&outbox), 5);

    // The car waits for the broker, retrying; then the service starts.
    let mut agent = spawn_agent(&car, &url, &agent_log, 120);
    std::thread::sleep(Duration::from_millis(300));
    assert!(agent.try_wait().unwrap().is_none(), "agent gave up early");
    let mut triage = Triage::start(&data_dir, &Broker::Embedded(port));
    let started = Instant::now();

    // Watch which comes first: the car's last PUBACK or ingest's readiness.
    let (mut emptied_at, mut ready_at) = (None, None);
    while emptied_at.is_none() || ready_at.is_none() {
        if emptied_at.is_none() && outbox_files(&outbox) == 0 {
            emptied_at = Some(started.elapsed());
        }
        if ready_at.is_none() && triage.is_ready().await {
            ready_at = Some(started.elapsed());
        }
        if let Some(status) = triage.child.try_wait().unwrap() {
            panic!("cloud-triage exited ({status}); its log:\n{}", triage.log());
        }
        assert!(
            started.elapsed() < STALL,
            "outbox {} after {STALL:?}, ready: {ready_at:?}",
            outbox_files(&outbox)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = wait_agent(&mut agent, &agent_log);
    assert!(status.success(), "the broker acknowledged all 5");
    let (emptied_at, ready_at) = (emptied_at.unwrap(), ready_at.unwrap());
    eprintln!(
        "outbox 5 -> 0 at {emptied_at:?}; ingest ready (healthz 200) at {ready_at:?} after the service started{}",
        if emptied_at < ready_at {
            ": the car was acknowledged before ingest had subscribed"
        } else {
            ""
        }
    );

    wait_stored(&data_dir, &vin, 5, &triage).await;
    eprintln!("stored {} of 5", stored(&data_dir, &vin).await);
    check_once(&triage, &data_dir, &car, &sent).await;
    assert!(triage.stop().success(), "clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_drain_across_restarts_of_the_embedded_broker_each_stored_once() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let (data_dir, agent_log) = (dir.path().join("cloud"), dir.path().join("agent.log"));
    let port = free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    let car = one_car(dir.path(), &url);
    let vin = car.config.vehicle.vin.clone();
    let sent = capture_offline(&car, 50).expect("50 captures committed");
    let outbox = car.config.outbox.dir.clone();
    assert_eq!(outbox_files(&outbox), 50);

    let broker = Broker::Embedded(port);
    let mut triage = Triage::start(&data_dir, &broker);
    triage.wait_ready().await;
    let mut agent = spawn_agent(&car, &url, &agent_log, 600);

    // Restart 1 comes with the first PUBACK; later ones (at most two more)
    // once the new instance has stored something and work is left.
    let mut restarts: Vec<(usize, i64)> = Vec::new();
    let mut stored_after_last = 0;
    let mut watching = Instant::now();
    while restarts.len() < 3 {
        let left = outbox_files(&outbox);
        let now = stored(&data_dir, &vin).await;
        let due = if restarts.is_empty() {
            left < 50
        } else {
            now > stored_after_last && now < 50
        };
        if !restarts.is_empty() && now >= 50 && left == 0 {
            break; // nothing left in flight to restart under
        }
        if due {
            let stored_at_term = stored(&data_dir, &vin).await;
            let left_at_term = outbox_files(&outbox);
            let log_from = triage.log().len();
            let asked = Instant::now();
            assert!(triage.stop().success(), "clean exit on SIGTERM");
            let took = asked.elapsed();
            // Let the agent read whatever PUBACKs reached it before the cut.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (left_after, stored_after) = (outbox_files(&outbox), stored(&data_dir, &vin).await);
            eprintln!(
                "restart {}: SIGTERM with outbox {left_at_term}, stored {stored_at_term}; \
                 exit after {took:?} with outbox {left_after}, stored {stored_after}\n{}",
                restarts.len() + 1,
                triage.stop_lines(log_from)
            );
            assert!(
                stored_after + left_after as i64 >= 50,
                "after a graceful stop every message is stored or still in the outbox: \
                 stored {stored_after} + outbox {left_after} < 50"
            );
            restarts.push((left_at_term, stored_at_term));
            stored_after_last = stored_after;
            triage = Triage::start(&data_dir, &broker);
            triage.wait_ready().await;
            watching = Instant::now();
            continue;
        }
        if let Some(status) = agent.try_wait().unwrap() {
            assert!(status.success(), "the agent's flush failed");
        }
        assert!(
            watching.elapsed() < STALL,
            "no restart condition within {STALL:?}: outbox {left}, stored {now}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (_, stored_at_first) = restarts[0];
    assert!(
        stored_at_first < 50,
        "the first restart came after everything was stored; nothing was tested"
    );

    let status = wait_agent(&mut agent, &agent_log);
    assert!(status.success(), "the agent's outbox emptied");
    assert_eq!(outbox_files(&outbox), 0);
    wait_stored(&data_dir, &vin, 50, &triage).await;
    check_once(&triage, &data_dir, &car, &sent).await;
    eprintln!("{} restart(s); all 50 stored exactly once", restarts.len());
    assert!(triage.stop().success(), "clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_keeps_what_cars_send_while_the_service_is_stopped() {
    init_logs();
    if !service_or_skip("Mosquitto", MOSQUITTO) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data_dir, agent_log) = (dir.path().join("cloud"), dir.path().join("agent.log"));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let client_id = format!("e2e-restart-{}", &run[..12]);
    let broker = Broker::Mosquitto {
        client_id: client_id.clone(),
        group: format!("restart{}", &run[..12]),
    };

    // First start registers the persistent session; then a graceful stop.
    let mut triage = Triage::start(&data_dir, &broker);
    triage.wait_ready().await;
    assert!(triage.stop().success(), "clean exit on SIGTERM");

    // While it is down, a car publishes N; Mosquitto acknowledges them all.
    const N: usize = 20;
    let url = format!("mqtt://{MOSQUITTO}");
    let car = one_car(dir.path(), &url);
    let vin = car.config.vehicle.vin.clone();
    let sent = capture_offline(&car, N).expect("captures committed");
    let mut agent = spawn_agent(&car, &url, &agent_log, 120);
    let status = wait_agent(&mut agent, &agent_log);
    assert!(status.success(), "Mosquitto acknowledged every publish");
    assert_eq!(outbox_files(&car.config.outbox.dir), 0);
    assert_eq!(stored(&data_dir, &vin).await, 0, "the service was down");

    // Started again under the same client id: the session delivers them.
    let mut triage = Triage::start(&data_dir, &broker);
    triage.wait_ready().await;
    wait_stored(&data_dir, &vin, N as i64, &triage).await;
    check_once(&triage, &data_dir, &car, &sent).await;
    eprintln!("{N} published while the service was down; {N} stored after its start");
    assert!(triage.stop().success(), "clean exit on SIGTERM");
    forget_session("127.0.0.1", 1883, &client_id).await;
}
