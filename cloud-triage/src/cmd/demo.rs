//! `cloud-triage demo`: the whole pipeline on one machine. Starts the service
//! embedded (rumqttd, SQLite, HTTP), replays every fixture vehicle through a
//! real edge agent — the `edge-agent` binary, one `edge-agent replay`
//! process per car (capture → outbox → MQTT QoS 1 → PUBACK) — waits until
//! each feedback has its case, and prints the cases, the API's address with
//! an admin token, and the web UI's address with a one-time sign-in link.
//!
//! The agents run as processes, not as a linked library: the service does
//! not depend on the car's crate, and the demo shows the binaries a fleet
//! would run. `scripts/demo.sh` builds both; the agent is looked for beside
//! this binary, then on `PATH`, unless `--edge-agent` names it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    cmd::serve::shutdown_signal,
    config::{MqttSource, ServiceConfig},
    service::Service,
    store::{access::Role, CaseQuery},
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
    /// The edge-agent binary; the one beside this binary, else `edge-agent`
    /// on PATH, when absent.
    #[arg(long)]
    pub edge_agent: Option<PathBuf>,
    /// Exit after printing instead of serving the API until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// How long to wait for all feedback to become cases.
    #[arg(long, default_value_t = 120)]
    pub timeout_s: u64,
}

/// What one `edge-agent replay` reports: its one JSON line on stdout.
#[derive(Debug, Deserialize)]
struct AgentReport {
    vin: String,
    model: String,
    feedback_ids: Vec<Uuid>,
    published: u64,
    acknowledged: u64,
}

/// How to run the agents against this demo's service.
struct Agents {
    bin: PathBuf,
    repo_root: PathBuf,
    broker: String,
    edge_dir: PathBuf,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let repo_root = match &args.repo_root {
        Some(root) => root.clone(),
        None => guess_repo_root(&args.fixtures)?,
    };
    let fixtures = fixture_files(&args.fixtures)?;

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
    println!(
        "qloop demo: {} vehicles, broker {}, data in {}",
        fixtures.len(),
        service.mqtt_url,
        data_dir.display()
    );

    let agents = Agents {
        bin: edge_agent_bin(args.edge_agent.as_deref())?,
        repo_root: repo_root.clone(),
        broker: service.mqtt_url.clone(),
        edge_dir: data_dir.join("edge"),
    };
    let started = Instant::now();
    let total = replay_fleet(&agents, &fixtures).await?;
    wait_until_stored(&service, before.feedback + total as i64, args.timeout_s).await?;
    let elapsed = started.elapsed();
    spoken_feedback(&service, &agents, &fixtures[0], &repo_root).await?;

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
    print_access(&service).await?;

    if !args.exit {
        println!("Serving until Ctrl-C.");
        shutdown_signal().await;
    }
    service.shutdown().await;
    Ok(())
}

/// The `*.toml` files in `dir`, sorted by name; at least one.
fn fixture_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading fixture vehicles from {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "no fixture vehicles (*.toml) in {}",
        dir.display()
    );
    Ok(files)
}

/// `--edge-agent`, else `edge-agent` beside this binary, else on `PATH`.
fn edge_agent_bin(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    let beside = std::env::current_exe()?.with_file_name("edge-agent");
    Ok(if beside.is_file() {
        beside
    } else {
        PathBuf::from("edge-agent")
    })
}

impl Agents {
    /// Runs `edge-agent replay` for `fixture` with its outbox under
    /// `edge_dir/name`, sending the clip `spoken` instead of its
    /// transcripts when given; returns the agent's report.
    async fn replay(
        &self,
        fixture: &Path,
        name: &str,
        spoken: Option<&Path>,
    ) -> anyhow::Result<AgentReport> {
        let mut command = tokio::process::Command::new(&self.bin);
        command
            .arg("replay")
            .arg("--fixture")
            .arg(fixture)
            .arg("--repo-root")
            .arg(&self.repo_root)
            .args(["--broker", &self.broker, "--wait-ack", "60"])
            .arg("--outbox")
            .arg(self.edge_dir.join(name).join("outbox"))
            // The agents' per-message logs would bury the summary too.
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(clip) = spoken {
            command.arg("--spoken").arg(clip);
        }
        let output = command.output().await.with_context(|| {
            format!(
                "running {} (build it with `cargo build -p edge-agent`, or pass --edge-agent)",
                self.bin.display()
            )
        })?;
        anyhow::ensure!(
            output.status.success(),
            "edge-agent replay of {} failed ({})",
            fixture.display(),
            output.status
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .with_context(|| format!("edge-agent replay printed {line:?}, not its report"))
    }
}

/// Replays every fixture vehicle at once, one agent process each; prints a
/// line per agent and returns the number of captures.
async fn replay_fleet(agents: &Agents, fixtures: &[PathBuf]) -> anyhow::Result<usize> {
    let runs = fixtures.iter().map(|fixture| {
        let name = fixture
            .file_stem()
            .map_or_else(|| "vehicle".into(), |s| s.to_string_lossy().into_owned());
        async move { agents.replay(fixture, &name, None).await }
    });
    let mut total = 0;
    for report in futures::future::try_join_all(runs).await? {
        println!(
            "  edge agent {} ({}): {} captures, {} published, {} acknowledged",
            report.vin,
            report.model,
            report.feedback_ids.len(),
            report.published,
            report.acknowledged
        );
        total += report.feedback_ids.len();
    }
    Ok(total)
}

/// Waits until `expected` feedback are stored and no event to a car is
/// pending, or `timeout_s` passed.
async fn wait_until_stored(service: &Service, expected: i64, timeout_s: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    loop {
        let counts = service.store.counts().await?;
        if counts.feedback >= expected && counts.downlink_pending == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "after {timeout_s}s only {} of {expected} feedback stored ({} events to cars pending)",
                counts.feedback,
                counts.downlink_pending
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One driver speaks without the head unit transcribing: the clip alone
/// goes up, and the cloud transcribes and triages it. Prints what it heard.
async fn spoken_feedback(
    service: &Service,
    agents: &Agents,
    fixture: &Path,
    repo_root: &Path,
) -> anyhow::Result<()> {
    let clip = repo_root.join("speech/fixtures/noisy/11.wav");
    let report = agents.replay(fixture, "spoken", Some(&clip)).await?;
    println!(
        "  spoken feedback from {}: {} with no transcript (the cloud transcribes it; the first clip loads the speech model)",
        report.vin,
        clip.display()
    );
    let id = *report
        .feedback_ids
        .first()
        .context("edge-agent replay --spoken reported no feedback")?;
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

/// Prints where the API is with an admin token for it, and where the web UI
/// is with a one-time engineer's sign-in link.
async fn print_access(service: &Service) -> anyhow::Result<()> {
    let base = format!("http://{}", service.http_addr);
    let now = crate::now_ms();
    let token = service
        .store
        .create_token(Role::Admin, "demo admin", now)
        .await?;
    println!("API:      {base}/api/cases   {base}/api/cases/1   {base}/api/openapi.json   {base}/healthz");
    println!("Token:    {token}   (admin; e.g. curl -H 'Authorization: Bearer {token}' {base}/api/cases)");
    super::login_link::print_ui_entry(&service.store, &base, "demo engineer", now).await
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
