//! `edge-agent replay`: a fixture vehicle (`fixtures/vehicles/*.toml`)
//! drives the agent. Each transcript in its file is captured with the
//! vehicle's telemetry replay, committed to the outbox, published and
//! acknowledged; then one JSON line on stdout says what was sent.
//! `cloud-triage demo` runs one of these processes per car, so the demo
//! exercises the real binary rather than linking the agent's code.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use qloop_protocol::TriggerKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::send::send_captures;
use crate::{
    capture::{CaptureRequest, NoTelemetry, ReplayTelemetry, TelemetrySource},
    config::FixtureVehicle,
};

/// Flags of `edge-agent replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The fixture vehicle file: `[vehicle]`, `[telemetry]` and `transcripts`.
    #[arg(long)]
    pub fixture: PathBuf,
    /// Directory the fixture's relative paths start from (the repository root).
    #[arg(long, default_value = ".")]
    pub repo_root: PathBuf,
    /// Broker URL (overrides broker.url), e.g. mqtt://127.0.0.1:1883.
    #[arg(long)]
    pub broker: Option<String>,
    /// Outbox directory (overrides outbox.dir).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// Send this WAV clip alone instead of the transcripts: the driver
    /// spoke, the head unit did not transcribe, the cloud does.
    #[arg(long)]
    pub spoken: Option<PathBuf>,
    /// Seconds to wait for every PUBACK.
    #[arg(long, default_value_t = 60)]
    pub wait_ack: u64,
}

/// The JSON line `replay` prints on success.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplayReport {
    /// The vehicle's VIN.
    pub vin: String,
    /// Its model.
    pub model: String,
    /// The feedback ids captured, in order.
    pub feedback_ids: Vec<Uuid>,
    /// Publishes sent (including republishes after reconnects).
    pub published: u64,
    /// PUBACKs that removed an outbox entry.
    pub acknowledged: u64,
}

/// The `replay` command.
pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let report = replay(&args).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Loads the fixture, applies the flags, captures and sends.
pub async fn replay(args: &ReplayArgs) -> anyhow::Result<ReplayReport> {
    let vehicle = FixtureVehicle::load(&args.fixture, &args.repo_root)
        .with_context(|| format!("loading fixture vehicle {}", args.fixture.display()))?;
    let mut cfg = vehicle.config;
    if let Some(url) = &args.broker {
        cfg.broker.url = url.clone();
    }
    if let Some(dir) = &args.outbox {
        cfg.outbox.dir = dir.clone();
    }
    cfg.validate().context("command-line flags")?;
    let (requests, telemetry): (Vec<CaptureRequest>, Arc<dyn TelemetrySource>) = match &args.spoken
    {
        Some(clip) => (
            vec![CaptureRequest {
                trigger: TriggerKind::Voice,
                transcript: None,
                confidence: None,
                audio: Some(clip.clone()),
            }],
            Arc::new(NoTelemetry),
        ),
        None => (
            vehicle
                .transcripts
                .iter()
                .map(CaptureRequest::transcript)
                .collect(),
            match ReplayTelemetry::from_config(&cfg.telemetry)
                .context("setting up the telemetry replay")?
            {
                Some(replay) => Arc::new(replay),
                None => Arc::new(NoTelemetry),
            },
        ),
    };
    let sent = send_captures(
        &cfg,
        requests,
        telemetry,
        Duration::from_secs(args.wait_ack),
    )
    .await?;
    Ok(ReplayReport {
        vin: cfg.vehicle.vin,
        model: cfg.vehicle.model,
        feedback_ids: sent.feedback_ids,
        published: sent.published,
        acknowledged: sent.acknowledged,
    })
}
