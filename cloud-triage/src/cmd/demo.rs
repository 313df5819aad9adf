//! `cloud-triage demo`: the whole pipeline on one machine. Starts the service
//! embedded (rumqttd, SQLite, HTTP), replays every fixture vehicle through a
//! real edge agent (capture → outbox → MQTT QoS 1 → PUBACK), waits until each
//! feedback has its case, and prints the cases.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use edge_agent::{
    capture::{NoTelemetry, ReplayTelemetry, TelemetrySource},
    send_captures, CaptureRequest, FixtureVehicle,
};

use crate::{
    cmd::serve::shutdown_signal,
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::CaseQuery,
};

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the database, broker state and the agents' outboxes; a
    /// fresh temporary directory when absent.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address of the HTTP API; a free port is taken when this one is busy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Fixture vehicles to replay (one TOML file per vehicle).
    #[arg(long, default_value = "fixtures/vehicles")]
    pub fixtures: PathBuf,
    /// Repository root that fixture paths are relative to; the directory
    /// above the fixtures folder's parent when absent.
    #[arg(long)]
    pub repo_root: Option<PathBuf>,
    /// Exit after printing instead of serving the API until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// How long to wait for all feedback to become cases.
    #[arg(long, default_value_t = 120)]
    pub timeout_s: u64,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let repo_root = match &args.repo_root {
        Some(root) => root.clone(),
        None => guess_repo_root(&args.fixtures)?,
    };
    let vehicles = FixtureVehicle::load_dir(&args.fixtures, &repo_root)
        .with_context(|| format!("loading fixture vehicles from {}", args.fixtures.display()))?;
    anyhow::ensure!(
        !vehicles.is_empty(),
        "no fixture vehicles (*.toml) in {}",
        args.fixtures.display()
    );

    // A temporary directory lives as long as this guard.
    let (data_dir, _temp) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new().prefix("qloop-demo-").tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::create_dir_all(&data_dir)?;
    let data_dir = data_dir.canonicalize()?;

    let mut config = ServiceConfig::local(data_dir.join("cloud"));
    config.mqtt = MqttSource::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.http_addr = free_or_any(args.http);
    let service = Service::start(config).await?;
    service.wait_ready(Duration::from_secs(30)).await?;
    let before = service.store.counts().await?;

    let total: usize = vehicles.iter().map(|v| v.transcripts.len()).sum();
    println!(
        "qloop demo: {} vehicles, {total} feedback, broker {}, data in {}",
        vehicles.len(),
        service.mqtt_url,
        data_dir.display()
    );

    let started = Instant::now();
    let mut agents = tokio::task::JoinSet::new();
    let speaker = vehicles[0].config.clone();
    for vehicle in vehicles {
        let mut cfg = vehicle.config.clone();
        cfg.broker.url = service.mqtt_url.clone();
        cfg.outbox.dir = data_dir.join("edge").join(&cfg.vehicle.vin).join("outbox");
        cfg.control.socket = data_dir
            .join("edge")
            .join(&cfg.vehicle.vin)
            .join("edge.sock");
        let requests: Vec<CaptureRequest> = vehicle
            .transcripts
            .iter()
            .map(CaptureRequest::transcript)
            .collect();
        agents.spawn(async move {
            let telemetry: Arc<dyn TelemetrySource> =
                match ReplayTelemetry::from_config(&cfg.telemetry)? {
                    Some(replay) => Arc::new(replay),
                    None => Arc::new(NoTelemetry),
                };
            let report = send_captures(&cfg, requests, telemetry, Duration::from_secs(60)).await?;
            anyhow::Ok((cfg.vehicle.vin.clone(), cfg.vehicle.model.clone(), report))
        });
    }
    while let Some(joined) = agents.join_next().await {
        let (vin, model, report) = joined??;
        println!(
            "  edge agent {vin} ({model}): {} captures, {} published, {} acknowledged",
            report.feedback_ids.len(),
            report.published,
            report.acknowledged
        );
    }

    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let expected = before.feedback + total as i64;
    loop {
        let counts = service.store.counts().await?;
        if counts.feedback >= expected && counts.downlink_pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "after {}s only {} of {expected} feedback stored ({} events to cars pending)",
                args.timeout_s,
                counts.feedback,
                counts.downlink_pending
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    spoken_feedback(&service, speaker, &repo_root, &data_dir).await?;

    print_cases(&service, total + 1).await?;
    let counts = service.store.counts().await?;
    println!(
        "\n{} feedback, {} cases, {} rejected messages, {} downlink events pending; {total} captures end to end in {:.1}s",
        counts.feedback,
        counts.cases,
        counts.rejected,
        counts.downlink_pending,
        elapsed.as_secs_f64()
    );
    let base = format!("http://{}", service.http_addr);
    let token = service
        .store
        .create_token(
            crate::store::access::Role::Admin,
            "demo admin",
            crate::now_ms(),
        )
        .await?;
    println!("API:      {base}/api/cases   {base}/api/cases/1   {base}/api/openapi.json   {base}/healthz");
    println!("Token:    {token}   (admin; e.g. curl -H 'Authorization: Bearer {token}' {base}/api/cases)");

    if !args.exit {
        println!("Serving until Ctrl-C.");
        shutdown_signal().await;
    }
    service.shutdown().await;
    Ok(())
}

/// One driver speaks without the head unit transcribing: the clip alone
/// goes up, and the cloud transcribes and triages it. Prints what it heard.
async fn spoken_feedback(
    service: &Service,
    mut cfg: edge_agent::Config,
    repo_root: &Path,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let clip = repo_root.join("speech/fixtures/noisy/11.wav");
    cfg.broker.url = service.mqtt_url.clone();
    cfg.outbox.dir = data_dir.join("edge").join("spoken").join("outbox");
    cfg.control.socket = data_dir.join("edge").join("spoken").join("edge.sock");
    let request = CaptureRequest {
        trigger: qloop_protocol::TriggerKind::Voice,
        transcript: None,
        confidence: None,
        audio: Some(clip.clone()),
    };
    println!(
        "  spoken feedback from {}: {} with no transcript (the cloud transcribes it; the first clip loads the speech model)",
        cfg.vehicle.vin,
        clip.display()
    );
    let report = send_captures(
        &cfg,
        vec![request],
        Arc::new(NoTelemetry),
        Duration::from_secs(60),
    )
    .await?;
    let id = report.feedback_ids[0];
    let deadline = Instant::now() + Duration::from_secs(600);
    let feedback = loop {
        match service.store.get_feedback(id).await? {
            Some(f) if f.asr.is_some() => break f,
            _ if Instant::now() > deadline => anyhow::bail!("feedback {id} was never transcribed"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let (status, model, ms) = feedback.asr.as_ref().map_or(("?", "?", 0), |a| {
        (a.status.as_str(), a.model.as_str(), a.elapsed_ms)
    });
    println!(
        "  heard ({status} by {model} in {ms} ms, confidence {:.2}): {:?} -> case {}",
        feedback.transcript_confidence.unwrap_or(0.0),
        feedback.transcript.as_deref().unwrap_or(""),
        feedback.case_id.unwrap_or(0)
    );
    Ok(())
}

/// Prints the newest cases, one line each.
async fn print_cases(service: &Service, shown: usize) -> anyhow::Result<()> {
    let page = service
        .store
        .list_cases(&CaseQuery {
            limit: Some(shown.clamp(1, 500) as i64),
            ..CaseQuery::default()
        })
        .await?;
    println!(
        "\n{:>5}  {:<8} {:<23} {:<10} {:>7} {:>8}  title",
        "case", "status", "category", "severity", "reports", "vehicles"
    );
    for case in page.items.iter().rev() {
        println!(
            "{:>5}  {:<8} {:<23} {:<10} {:>7} {:>8}  {}{}",
            case.id,
            case.status,
            case.category,
            case.severity,
            case.occurrence_count,
            case.vehicle_count,
            if case.emerging_at_ms.is_some() {
                "[emerging] "
            } else {
                ""
            },
            case.title
        );
    }
    if let Some(newest) = page.items.first() {
        if let Some(detail) = service.store.get_case(newest.id).await? {
            if let Some(fid) = detail.feedback_ids.first() {
                if let Some(feedback) = service.store.get_feedback(*fid).await? {
                    let json = serde_json::to_value(&feedback)?;
                    let signals = json
                        .pointer("/telemetry/signals")
                        .map(count_entries)
                        .unwrap_or(0);
                    println!(
                        "\ncase {} ← feedback {fid} from {}: {signals} telemetry signals decoded by DBC",
                        newest.id,
                        json.get("vin").and_then(|v| v.as_str()).unwrap_or("?")
                    );
                }
            }
        }
    }
    Ok(())
}

fn count_entries(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(m) => m.len(),
        serde_json::Value::Array(a) => a.len(),
        _ => 0,
    }
}

/// The requested address when it can be bound, else any free port.
fn free_or_any(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::new(addr.ip(), 0),
    }
}

/// Fixture paths are relative to the repository root: the fixtures folder is
/// `ROOT/fixtures/vehicles`.
fn guess_repo_root(fixtures: &Path) -> anyhow::Result<PathBuf> {
    let abs = fixtures.canonicalize().with_context(|| {
        format!(
            "fixture folder {} not found (run from the repository root or pass --fixtures)",
            fixtures.display()
        )
    })?;
    Ok(abs.ancestors().nth(2).map(Path::to_path_buf).unwrap_or(abs))
}
