//! The five fixture vehicles as real edge agents, and the checks that their
//! feedback arrived as cases with DBC-decoded telemetry.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use edge_agent::{
    capture::{NoTelemetry, ReplayTelemetry, TelemetrySource},
    send_captures,
    telemetry::{dbc::Database, vss::SignalMapping},
    CaptureRequest, FixtureVehicle,
};
use uuid::Uuid;

use crate::repo_root;

/// One feedback a test sent: which car, which id, what was said.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Vehicle.
    pub vin: String,
    /// Feedback id.
    pub feedback_id: Uuid,
}

/// The fixture vehicles pointed at `broker_url`, each with its own outbox
/// under `dir`. With `unique`, VINs and client ids are made unique so tests
/// sharing one broker (Mosquitto) never see each other's topics.
pub fn fleet(dir: &Path, broker_url: &str, unique: bool) -> Vec<FixtureVehicle> {
    let mut vehicles =
        FixtureVehicle::load_dir(&repo_root().join("fixtures/vehicles"), &repo_root())
            .expect("fixture vehicles load");
    assert_eq!(vehicles.len(), 5, "five fixture vehicles");
    for v in &mut vehicles {
        if unique {
            v.config.vehicle.vin = crate::unique_vin(&v.config.vehicle.vin);
        }
        let vin = v.config.vehicle.vin.clone();
        v.config.broker.url = broker_url.to_string();
        v.config.broker.client_id = format!("e2e-{vin}");
        v.config.outbox.dir = dir.join(&vin).join("outbox");
        v.config.control.socket = dir.join(&vin).join("edge.sock");
    }
    vehicles
}

/// Captures and sends every transcript of every vehicle, the vehicles
/// concurrently, each through its own outbox and MQTT connection.
pub async fn send_fleet(
    vehicles: &[FixtureVehicle],
    wait_ack: Duration,
) -> anyhow::Result<Vec<Sent>> {
    let mut tasks = tokio::task::JoinSet::new();
    for v in vehicles {
        let cfg = v.config.clone();
        let requests: Vec<CaptureRequest> = v
            .transcripts
            .iter()
            .map(CaptureRequest::transcript)
            .collect();
        tasks.spawn(async move {
            let report = send_captures(&cfg, requests, telemetry_of(&cfg)?, wait_ack).await?;
            anyhow::Ok(
                report
                    .feedback_ids
                    .into_iter()
                    .map(|feedback_id| Sent {
                        vin: cfg.vehicle.vin.clone(),
                        feedback_id,
                    })
                    .collect::<Vec<_>>(),
            )
        });
    }
    let mut sent = Vec::new();
    while let Some(done) = tasks.join_next().await {
        sent.extend(done??);
    }
    Ok(sent)
}

/// The vehicle's candump replay through its DBC (and VSS mapping).
pub fn telemetry_of(cfg: &edge_agent::Config) -> anyhow::Result<Arc<dyn TelemetrySource>> {
    Ok(
        match ReplayTelemetry::from_config(&cfg.telemetry).context("telemetry replay")? {
            Some(replay) => Arc::new(replay),
            None => Arc::new(NoTelemetry),
        },
    )
}

/// For each vehicle, the signal names its telemetry may carry: the VSS paths
/// of its mapping, else `Message.Signal` names from its DBC.
pub fn decodable_names(vehicles: &[FixtureVehicle]) -> HashMap<String, BTreeSet<String>> {
    vehicles
        .iter()
        .map(|v| {
            let t = &v.config.telemetry;
            let db = Database::load(t.dbc.as_ref().expect("fixture has a DBC")).expect("DBC loads");
            let mut names: BTreeSet<String> = db
                .messages()
                .iter()
                .flat_map(|m| {
                    m.signals
                        .iter()
                        .map(move |s| format!("{}.{}", m.name, s.name))
                })
                .collect();
            if let Some(mapping) = &t.mapping {
                let mapping = SignalMapping::load(mapping).expect("mapping loads");
                names.extend(mapping.entries().iter().map(|e| e.vss_path.clone()));
            }
            (v.config.vehicle.vin.clone(), names)
        })
        .collect()
}

/// Reads every sent feedback and its case over the HTTP API (with `token`,
/// an operator's or better) and checks:
/// one feedback row each with its VIN and transcript, a telemetry snapshot
/// whose signals all come from the vehicle's DBC (or its VSS mapping), and
/// and a `new` case triaged by the model that lists it. Reports of one issue
/// may share a case (fleet linking), but every feedback is in exactly one
/// case and every case's occurrences are exactly its feedback. Returns the
/// case ids.
pub async fn check_arrived(
    http: &str,
    token: &str,
    sent: &[Sent],
    names: &HashMap<String, BTreeSet<String>>,
) -> anyhow::Result<BTreeSet<i64>> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let mut cases = BTreeSet::new();
    let mut held: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for s in sent {
        let feedback: serde_json::Value = client
            .get(format!("{http}/api/feedback/{}", s.feedback_id))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("feedback {}", s.feedback_id))?
            .json()
            .await?;
        check_feedback(&feedback, s, &names[&s.vin])?;
        let case_id = feedback["case_id"]
            .as_i64()
            .context("feedback has a case")?;
        cases.insert(case_id);
        let case: serde_json::Value = client
            .get(format!("{http}/api/cases/{case_id}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let ids = check_case(&case, case_id, s)?;
        held.insert(case_id, ids);
    }
    // Every feedback sent is in exactly one case, and the cases hold nothing else of ours.
    let ours: BTreeSet<String> = sent.iter().map(|s| s.feedback_id.to_string()).collect();
    let linked: usize = held
        .values()
        .map(|ids| ids.intersection(&ours).count())
        .sum();
    anyhow::ensure!(
        linked == ours.len(),
        "{linked} links for {} distinct feedback",
        ours.len()
    );
    Ok(cases)
}

/// One feedback as the API shows it: its VIN, a transcript, and decoded
/// signals that all come from the vehicle's DBC or VSS mapping (`allowed`).
fn check_feedback(
    feedback: &serde_json::Value,
    s: &Sent,
    allowed: &BTreeSet<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        feedback["vin"] == s.vin.as_str(),
        "feedback {} has VIN {}",
        s.feedback_id,
        feedback["vin"]
    );
    anyhow::ensure!(
        feedback["transcript"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "no transcript"
    );
    let signals = feedback["telemetry"]["signals"]
        .as_array()
        .context("telemetry.signals is a list")?;
    anyhow::ensure!(
        !signals.is_empty(),
        "feedback {} has no decoded signals",
        s.feedback_id
    );
    for signal in signals {
        let name = signal["name"].as_str().unwrap_or_default();
        anyhow::ensure!(
            allowed.contains(name),
            "signal {name:?} is not from {}'s DBC or mapping",
            s.vin
        );
        anyhow::ensure!(
            signal["samples"].as_array().is_some_and(|x| !x.is_empty()),
            "signal {name} has no samples"
        );
    }
    Ok(())
}

/// One case as the API shows it: `new`, triaged by the model, listing the
/// feedback `s` among exactly as many as it counts, with its 8D fields.
/// Returns the feedback ids it lists.
fn check_case(
    case: &serde_json::Value,
    case_id: i64,
    s: &Sent,
) -> anyhow::Result<BTreeSet<String>> {
    anyhow::ensure!(case["status"] == "new", "case {case_id}: {case}");
    // Triaged on arrival by the local model: a taxonomy category (or
    // needs_human_triage when unsure), a severity, and the model's name.
    let taxonomy = qloop_models::Taxonomy::default_taxonomy();
    let category = case["category"].as_str().unwrap_or_default();
    anyhow::ensure!(
        taxonomy.categories.contains_key(category) || category == qloop_models::NEEDS_HUMAN_TRIAGE,
        "case {case_id} has category {category:?}"
    );
    anyhow::ensure!(
        matches!(case["severity"].as_str(), Some("major" | "minor")),
        "case {case_id} severity {}",
        case["severity"]
    );
    anyhow::ensure!(
        case["model_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("all-MiniLM-L6-v2")),
        "case {case_id} model {}",
        case["model_version"]
    );
    let ids: BTreeSet<String> = case["feedback_ids"]
        .as_array()
        .context("feedback_ids is a list")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    anyhow::ensure!(
        ids.contains(&s.feedback_id.to_string()),
        "case {case_id} does not list its feedback {}",
        s.feedback_id
    );
    anyhow::ensure!(
        case["occurrence_count"].as_u64() == Some(ids.len() as u64),
        "case {case_id} counts {} occurrences for {} feedback",
        case["occurrence_count"],
        ids.len()
    );
    for field in ["ica", "root_cause", "pca", "verification"] {
        anyhow::ensure!(
            case[field].is_object(),
            "case {case_id} lacks 8D field {field}"
        );
    }
    Ok(ids)
}

/// Events the cloud sent to cars, as a car-side subscriber saw them.
pub type SeenEvents = Arc<std::sync::Mutex<Vec<qloop_protocol::VehicleEvent>>>;

/// Subscribes (QoS 1) to the events topic of every VIN and collects what
/// arrives; returns once the subscriptions are acknowledged.
pub async fn listen_events(
    broker_url: &str,
    client_id: &str,
    vins: &[String],
) -> anyhow::Result<SeenEvents> {
    let broker = cloud_triage::mqtt::BrokerUrl::parse(broker_url)?;
    let mut options = rumqttc::MqttOptions::new(client_id, broker.host, broker.port);
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
    for vin in vins {
        client
            .subscribe(
                qloop_protocol::topic::events_topic(vin),
                rumqttc::QoS::AtLeastOnce,
            )
            .await?;
    }
    let seen: SeenEvents = Arc::default();
    let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
    let (sink, want) = (seen.clone(), vins.len());
    tokio::spawn(async move {
        let (mut subacks, mut subscribed_tx) = (0, Some(subscribed_tx));
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    subacks += 1;
                    if subacks == want {
                        if let Some(tx) = subscribed_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    if let Ok(qloop_protocol::Message::Event(e)) =
                        qloop_protocol::decode(&p.payload)
                    {
                        sink.lock().unwrap().push(e);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed_rx)
        .await
        .context("events subscription not acknowledged")??;
    Ok(seen)
}

/// Captures `n` feedbacks of `vehicle` (its transcripts in turn, its
/// telemetry replay) straight into its outbox, as a car does while offline.
pub fn capture_offline(vehicle: &FixtureVehicle, n: usize) -> anyhow::Result<Vec<Sent>> {
    let cfg = &vehicle.config;
    let outbox = edge_agent::cmd::send::open_outbox(cfg)?;
    let capturer =
        edge_agent::capture::Capturer::new(Arc::new(cfg.clone()), outbox, telemetry_of(cfg)?);
    (0..n)
        .map(|i| {
            let text = &vehicle.transcripts[i % vehicle.transcripts.len()];
            let committed =
                capturer.capture(CaptureRequest::transcript(format!("{text} (report {i})")))?;
            Ok(Sent {
                vin: cfg.vehicle.vin.clone(),
                feedback_id: committed.feedback_id,
            })
        })
        .collect()
}

/// Record files (`*.qlm`) in an outbox directory: what is still unacknowledged.
pub fn outbox_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.path()
                        .extension()
                        .is_some_and(|x| x == edge_agent::outbox::RECORD_EXT)
                })
                .count()
        })
        .unwrap_or(0)
}

/// An operator token made directly in the service's database.
pub async fn operator_token(store: &cloud_triage::store::Store) -> String {
    store
        .create_token(
            cloud_triage::store::access::Role::Operator,
            "e2e checker",
            cloud_triage::now_ms(),
        )
        .await
        .expect("token made")
}
