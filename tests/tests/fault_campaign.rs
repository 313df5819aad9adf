//! The fault campaign: every feedback a car answered `accepted` to is stored
//! exactly once, whatever is killed when.
//!
//! Real binaries only: `cloud-triage serve` and three `edge-agent run`
//! daemons (Model 3 telemetry decoded from a candump log by its DBC), and a
//! stand-in for the HMI that sends triggers over each agent's control socket.
//! Each round every car is triggered (half the triggers with a clip long
//! enough to travel in chunks), and then:
//! - **an agent is killed (`kill -9`) inside its post-trigger window**, after
//!   `accepted`, and started again;
//! - every second round **the service is restarted while the cars publish**
//!   (killed with `kill -9` on Mosquitto, where the broker keeps its session;
//!   stopped with SIGTERM on the embedded broker, whose queue lives in the
//!   service's memory) and stays down a moment, so outboxes fill and drain at
//!   the restart: the blind window of a starting service;
//! - every third round **an outbox record is torn**: a car offline takes a
//!   capture, is stopped, and one of its records is cut in half (a power cut
//!   on storage that lied about its fsync); back online, a torn envelope
//!   must be reported to the service as lost, and a torn audio chunk made
//!   again from its source (alternately).
//!
//! At the end every accepted id is looked up: stored once (or, when its
//! envelope was torn, shown as lost on its vehicle), and a machine-readable
//! summary line is printed. `scripts/fault-campaign.sh` runs it longer:
//! `QLOOP_CAMPAIGN_ROUNDS` (default 3) and `QLOOP_CAMPAIGN_SEED`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use edge_agent::{
    control::{client::ControlClient, ControlReply, ControlRequest},
    outbox::record::describe,
};
use qloop_protocol::MessageKind;
use qloop_tests::{
    free_port, init_logs, repo_root, service_or_skip, shared_data, unique_vin, workspace_bin,
    MOSQUITTO,
};
use sqlx::Connection;
use uuid::Uuid;

const POST_WINDOW_MS: u64 = 2_000;
const CARS: usize = 3;

/// A small deterministic generator, so a failing campaign can be replayed
/// with its seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Where the service takes its messages and keeps its rows.
#[derive(Clone)]
enum Backend {
    /// rumqttd inside the service on this port, SQLite in the data dir.
    Embedded { port: u16 },
    /// Mosquitto at 127.0.0.1:1883, PostgreSQL at this URL.
    Mosquitto {
        database_url: String,
        client_id: String,
        group: String,
    },
}

struct Service {
    child: Option<Child>,
    http: String,
    data_dir: PathBuf,
    backend: Backend,
}

impl Service {
    fn mqtt_url(&self) -> String {
        match &self.backend {
            Backend::Embedded { port } => format!("mqtt://127.0.0.1:{port}"),
            Backend::Mosquitto { .. } => format!("mqtt://{MOSQUITTO}"),
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("service.log"))
            .unwrap();
        let mut command = Command::new(workspace_bin("cloud-triage", "cloud-triage"));
        command
            .args(["serve", "--http", self.http.trim_start_matches("http://")])
            .arg("--data-dir")
            .arg(&self.data_dir);
        match &self.backend {
            Backend::Embedded { port } => {
                command.args(["--mqtt-embedded", &format!("127.0.0.1:{port}")]);
            }
            Backend::Mosquitto {
                database_url,
                client_id,
                group,
            } => {
                command
                    .args(["--mqtt-url", &format!("mqtt://{MOSQUITTO}")])
                    .args(["--database-url", database_url])
                    .args(["--client-id", client_id, "--share-group", group]);
            }
        }
        let child = command
            .env("QLOOP_LOG", "warn")
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cloud-triage starts");
        self.child = Some(child);
    }

    /// Stops the service: `kill -9`, or SIGTERM and a wait for its exit.
    fn stop(&mut self, hard: bool) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if hard {
            let _ = child.kill();
        } else {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let _ = child.wait();
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.http)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "cloud-triage never became ready; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("service.log")).unwrap_or_default()
    }

    fn token(&self) -> String {
        let mut command = Command::new(workspace_bin("cloud-triage", "cloud-triage"));
        command
            .args([
                "token", "create", "--role", "operator", "--name", "campaign",
            ])
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let Backend::Mosquitto { database_url, .. } = &self.backend {
            command.args(["--database-url", database_url]);
        }
        let out = command.output().expect("token create runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop(true);
    }
}

struct Car {
    vin: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Car {
    fn socket(&self) -> PathBuf {
        self.dir.join("edge.sock")
    }

    fn outbox(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    fn start(&mut self, mqtt_url: &str) {
        let _ = std::fs::remove_file(self.socket());
        let model3 = shared_data().join("can/tesla-model3");
        let child = Command::new(workspace_bin("edge-agent", "edge-agent"))
            .arg("run")
            .env("QLOOP_EDGE__VEHICLE__VIN", &self.vin)
            .env("QLOOP_EDGE__OUTBOX__DIR", self.outbox())
            .env("QLOOP_EDGE__CONTROL__SOCKET", self.socket())
            .env("QLOOP_EDGE__BROKER__URL", mqtt_url)
            .env(
                "QLOOP_EDGE__BROKER__CLIENT_ID",
                format!("campaign-{}", self.vin),
            )
            .env("QLOOP_EDGE__BROKER__RECONNECT_MIN_MS", "100")
            .env("QLOOP_EDGE__BROKER__RECONNECT_MAX_MS", "1000")
            .env(
                "QLOOP_EDGE__TELEMETRY__POST_WINDOW_MS",
                POST_WINDOW_MS.to_string(),
            )
            .env("QLOOP_EDGE__TELEMETRY__DBC", model3.join("Model3CAN.dbc"))
            .env(
                "QLOOP_EDGE__TELEMETRY__CANDUMP_REPLAY",
                model3.join("drive-brake-fluid-low.log"),
            )
            .env(
                "QLOOP_EDGE__TELEMETRY__MAPPING",
                repo_root().join("fixtures/vss/model3-vss4.0.toml"),
            )
            .env("QLOOP_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("edge-agent starts");
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn client(&self) -> ControlClient {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match ControlClient::connect(&self.socket()).await {
                Ok(client) => return client,
                Err(e) => assert!(Instant::now() < deadline, "{}: {e}", self.vin),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The HMI stand-in: one trigger, answered `accepted` with its id.
    async fn trigger(&self, words: &str, audio: Option<&Path>) -> Uuid {
        let mut client = self.client().await;
        client
            .send(&ControlRequest::Trigger {
                transcript: Some(words.into()),
                confidence: Some(0.9),
                audio: audio.map(Path::to_path_buf),
                trigger: Some("voice".into()),
            })
            .await
            .unwrap();
        loop {
            let reply = tokio::time::timeout(Duration::from_secs(20), client.next())
                .await
                .expect("a reply in time")
                .unwrap();
            match reply {
                ControlReply::Accepted { feedback_id } => return feedback_id,
                ControlReply::Error { message } => {
                    panic!("{}: trigger refused: {message}", self.vin)
                }
                _ => {}
            }
        }
    }

    async fn outbox_entries(&self) -> usize {
        let mut client = self.client().await;
        client.send(&ControlRequest::Status).await.unwrap();
        loop {
            let reply = tokio::time::timeout(Duration::from_secs(10), client.next())
                .await
                .expect("a status in time")
                .unwrap();
            if let ControlReply::Status { outbox_entries, .. } = reply {
                return outbox_entries;
            }
        }
    }

    /// Cuts a record of feedback `id` of kind `prefer` of this stopped
    /// agent's outbox in half; returns the kind it tore.
    fn tear_a_record(&self, id: Uuid, prefer: MessageKind) -> Option<MessageKind> {
        let records: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "qlm"))
            .collect();
        let mut mine: Vec<(PathBuf, MessageKind, usize)> = records
            .into_iter()
            .filter_map(|path| {
                let bytes = std::fs::read(&path).ok()?;
                let subject = describe(&bytes);
                (subject.feedback_id == Some(id)).then_some((path, subject.kind?, bytes.len()))
            })
            .collect();
        mine.sort_by_key(|(_, kind, _)| *kind != prefer);
        let (path, kind, len) = mine.into_iter().next()?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len((len / 2) as u64)
            .unwrap();
        Some(kind)
    }
}

impl Drop for Car {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A 16 kHz mono 16-bit WAV of 5 s: two audio chunks on the wire.
fn clip(dir: &Path) -> PathBuf {
    let path = dir.join("clip-5s.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for n in 0..80_000 {
        writer
            .write_sample(((n as f32 * 0.05).sin() * 6_000.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
    path
}

const WORDS: [&str; 6] = [
    "the brakes grab on their own at low speed",
    "the steering wheel went heavy on the motorway",
    "the car lost power when I pulled out",
    "the driver door would not open from inside",
    "the headlights flicker at night",
    "the screen froze and the camera went black",
];

async fn run_campaign(backend: Backend, label: &str) {
    let rounds: u64 = std::env::var("QLOOP_CAMPAIGN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("QLOOP_CAMPAIGN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Uuid::new_v4().as_u128() as u64);
    // Mosquitto keeps the service's session, so the service is killed; the
    // embedded broker's queue lives in the service's memory, so it is stopped
    // with SIGTERM (and drains) unless QLOOP_CAMPAIGN_EMBEDDED_KILL=1 asks
    // to measure what a kill -9 of the whole process loses there.
    let hard_stop = matches!(backend, Backend::Mosquitto { .. })
        || std::env::var("QLOOP_CAMPAIGN_EMBEDDED_KILL").as_deref() == Ok("1");
    eprintln!("fault campaign on {label}: {rounds} rounds, seed {seed}");
    let mut dice = Dice(seed);
    let dir = tempfile::tempdir().unwrap();
    let audio = clip(dir.path());
    let mut service = Service {
        child: None,
        http: format!("http://127.0.0.1:{}", free_port()),
        data_dir: dir.path().join("cloud"),
        backend: backend.clone(),
    };
    std::fs::create_dir_all(&service.data_dir).unwrap();
    service.start();
    service.wait_ready().await;
    let mqtt_url = service.mqtt_url();
    let mut cars: Vec<Car> = (0..CARS)
        .map(|i| Car {
            vin: unique_vin("5YJ3E1EA7KF317000"),
            dir: dir.path().join(format!("car{i}")),
            child: None,
        })
        .collect();
    for car in &mut cars {
        car.start(&mqtt_url);
    }

    // Accepted ids by car, and what the campaign tore.
    let mut accepted: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    let mut torn: Vec<(String, MessageKind, Uuid)> = Vec::new();
    let (mut window_kills, mut restarts) = (0, 0);
    for round in 0..rounds {
        for (i, car) in cars.iter().enumerate() {
            let words = WORDS[dice.below(WORDS.len() as u64) as usize];
            let with_audio = dice.below(2) == 0;
            let id = car
                .trigger(words, with_audio.then_some(audio.as_path()))
                .await;
            accepted.entry(car.vin.clone()).or_default().push(id);
            eprintln!("round {round}: car {i} accepted {id} (audio: {with_audio})");
        }
        // A kill inside the post-trigger window of the car triggered last.
        let victim = dice.below(CARS as u64) as usize;
        let id = cars[victim]
            .trigger("the car braked hard by itself", None)
            .await;
        accepted
            .entry(cars[victim].vin.clone())
            .or_default()
            .push(id);
        tokio::time::sleep(Duration::from_millis(dice.below(POST_WINDOW_MS * 3 / 4))).await;
        cars[victim].kill9();
        window_kills += 1;
        cars[victim].start(&mqtt_url);

        if round % 2 == 1 {
            // The service goes away while the cars publish and comes back.
            service.stop(hard_stop);
            restarts += 1;
            for car in &cars {
                let id = car.trigger("the wipers run on their own", None).await;
                accepted.entry(car.vin.clone()).or_default().push(id);
            }
            tokio::time::sleep(Duration::from_millis(dice.below(1_500))).await;
            service.start();
            service.wait_ready().await;
        }
        if round % 3 == 2 {
            let prefer = if (round / 3) % 2 == 0 {
                MessageKind::Feedback
            } else {
                MessageKind::AudioChunk
            };
            let car = &mut cars[dice.below(CARS as u64) as usize];
            let (id, kind) = tear(car, &mqtt_url, &audio, prefer).await;
            accepted.entry(car.vin.clone()).or_default().push(id);
            torn.push((car.vin.clone(), kind, id));
        }
    }

    // Let every outbox drain, then look every accepted id up.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut left = 0;
        for car in &cars {
            left += car.outbox_entries().await;
        }
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} outbox entries never drained; service log:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let token = service.token();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", service.http))
            .bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let torn_envelopes: Vec<Uuid> = torn
        .iter()
        .filter(|(_, kind, _)| *kind == MessageKind::Feedback)
        .map(|(_, _, id)| *id)
        .collect();
    let total: usize = accepted.values().map(Vec::len).sum();
    let mut stored = 0;
    let mut missing: Vec<Uuid> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for ids in accepted.values() {
        for id in ids.iter().filter(|id| !torn_envelopes.contains(id)) {
            loop {
                let (status, body) = get(format!("/api/feedback/{id}")).await;
                if status == 200 {
                    if torn
                        .iter()
                        .any(|(_, k, t)| *k == MessageKind::AudioChunk && t == id)
                    {
                        assert_eq!(
                            body["audio"]["status"], "complete",
                            "a torn chunk of {id} was resent from its source"
                        );
                    }
                    stored += 1;
                    break;
                }
                if Instant::now() > deadline {
                    missing.push(*id);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // Stored exactly once: one row per accepted id, and no row the cars did not accept.
    let mut rows = 0;
    let mut reported = 0;
    for (vin, ids) in &accepted {
        let (status, view) = get(format!("/api/vehicles/{vin}")).await;
        assert_eq!(status, 200);
        let feedback = view["feedback"].as_array().unwrap();
        rows += feedback.len();
        for row in feedback {
            let id: Uuid = row["id"].as_str().unwrap().parse().unwrap();
            assert!(
                ids.contains(&id),
                "{vin} has feedback {id} it never accepted"
            );
        }
        for (car_vin, kind, id) in torn.iter().filter(|(v, ..)| v == vin) {
            let losses = view["losses"].as_array().unwrap();
            let found = losses.iter().find(|l| l["feedback_id"] == id.to_string());
            let loss =
                found.unwrap_or_else(|| panic!("{car_vin}: torn {kind:?} of {id} not reported"));
            reported += 1;
            if *kind == MessageKind::AudioChunk {
                assert_eq!(loss["resent"], true);
            }
        }
    }
    assert_eq!(
        rows, stored,
        "each accepted feedback stored once, nothing else"
    );
    assert_eq!(stored + torn_envelopes.len(), total);
    println!(
        "{}",
        serde_json::json!({
            "campaign": label,
            "seed": seed,
            "rounds": rounds,
            "accepted": total,
            "stored": stored,
            "kills_in_post_trigger_window": window_kills,
            "service_restarts": restarts,
            "torn_records": torn.len(),
            "torn_reported": reported,
            "torn_envelopes_lost": torn_envelopes.len(),
            "lost_unreported": missing.len(),
            "service_stop": if hard_stop { "kill -9" } else { "SIGTERM" },
        })
    );
    assert!(
        missing.is_empty(),
        "accepted feedback never stored: {missing:?}; service log:\n{}",
        service.log()
    );
    assert_eq!(
        rows, stored,
        "each accepted feedback stored once, nothing else"
    );
    assert_eq!(stored + torn_envelopes.len(), total);
}

/// Tears a record: the car goes offline (its broker unreachable), takes a
/// capture with a chunked clip, is stopped once it is committed, and its
/// newest record of kind `prefer` is cut in half; then it comes back online.
async fn tear(
    car: &mut Car,
    mqtt_url: &str,
    audio: &Path,
    prefer: MessageKind,
) -> (Uuid, MessageKind) {
    car.kill9();
    let dead = format!("mqtt://127.0.0.1:{}", free_port());
    car.start(&dead);
    let id = car
        .trigger("the seat belt warning chimes for nothing", Some(audio))
        .await;
    tokio::time::sleep(Duration::from_millis(POST_WINDOW_MS + 1_000)).await;
    car.kill9();
    let kind = car
        .tear_a_record(id, prefer)
        .expect("the capture is in the outbox");
    eprintln!("tore a {kind:?} record of {id} in {}", car.vin);
    car.start(mqtt_url);
    (id, kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_on_the_embedded_broker_with_sqlite_loses_no_accepted_feedback() {
    init_logs();
    run_campaign(
        Backend::Embedded { port: free_port() },
        "embedded broker + SQLite",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_on_mosquitto_with_postgres_loses_no_accepted_feedback() {
    init_logs();
    if !service_or_skip("Mosquitto", MOSQUITTO) || !service_or_skip("PostgreSQL", "127.0.0.1:5432")
    {
        return;
    }
    let admin_url = std::env::var("QLOOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("qloop_campaign_{}", Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let database_url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("postgres URL without a database: {admin_url}"),
    };
    let run = Uuid::new_v4().simple().to_string();
    run_campaign(
        Backend::Mosquitto {
            database_url,
            client_id: format!("campaign-{}", &run[..12]),
            group: format!("campaign{}", &run[..12]),
        },
        "Mosquitto + PostgreSQL",
    )
    .await;
    qloop_tests::forget_session("127.0.0.1", 1883, &format!("campaign-{}", &run[..12])).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
}
