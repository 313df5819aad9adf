//! `edge-agent send`: capture → outbox → publish → wait for every PUBACK.
//!
//! Also the in-process entry point for tests and `replay`:
//! [`send_once`] and [`send_captures`]. Success means the outbox is empty:
//! every entry (this capture's and any left from before) was acknowledged.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use qloop_protocol::TriggerKind;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::ConnectionArgs;
use crate::{
    capture::{CaptureRequest, Capturer, NoTelemetry, ReplayTelemetry, TelemetrySource},
    config::Config,
    lock::lock_or_recover,
    outbox::{Outbox, SharedOutbox},
    uplink::{self, UplinkSettings},
};

/// Flags of `edge-agent send`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// Broker, outbox, VIN and config flags.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// What the driver said, as the head unit's recogniser heard it. Without
    /// it, `--audio` is sent alone and the cloud transcribes the clip.
    #[arg(long, required_unless_present = "audio")]
    pub transcript: Option<String>,
    /// A WAV clip of it.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// A candump -l log replayed as telemetry (needs --dbc).
    #[arg(long, requires = "dbc")]
    pub candump: Option<PathBuf>,
    /// The DBC for --candump.
    #[arg(long, requires = "candump")]
    pub dbc: Option<PathBuf>,
    /// A DBC-to-VSS mapping for --candump.
    #[arg(long, requires = "candump")]
    pub mapping: Option<PathBuf>,
    /// Trigger this many ms after the log's first frame (default: near its end).
    #[arg(long, requires = "candump")]
    pub trigger_offset_ms: Option<i64>,
    /// Number of captures to make (same transcript).
    #[arg(long, default_value_t = 1)]
    pub count: u32,
}

/// What a send achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    /// The feedback ids captured, in order.
    pub feedback_ids: Vec<Uuid>,
    /// Outbox entries these captures became.
    pub entries_committed: usize,
    /// Publishes sent (including republishes after reconnects).
    pub published: u64,
    /// PUBACKs that removed an entry.
    pub acknowledged: u64,
}

/// One capture with the config's telemetry source, published and
/// acknowledged within `wait_ack`.
pub async fn send_once(
    cfg: &Config,
    req: CaptureRequest,
    wait_ack: Duration,
) -> anyhow::Result<SendReport> {
    let telemetry: Arc<dyn TelemetrySource> = match ReplayTelemetry::from_config(&cfg.telemetry)
        .context("setting up the telemetry replay")?
    {
        Some(replay) => Arc::new(replay),
        None => Arc::new(NoTelemetry),
    };
    send_captures(cfg, vec![req], telemetry, wait_ack).await
}

/// Several captures with a given telemetry source, then one flush.
pub async fn send_captures(
    cfg: &Config,
    requests: Vec<CaptureRequest>,
    telemetry: Arc<dyn TelemetrySource>,
    wait_ack: Duration,
) -> anyhow::Result<SendReport> {
    let outbox = open_outbox_blocking(cfg).await?;
    let capturer = Capturer::new(Arc::new(cfg.clone()), outbox.clone(), telemetry);
    let committed = tokio::task::spawn_blocking(move || {
        requests
            .into_iter()
            .map(|r| capturer.capture(r))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .context("capture task")?
    .context("capture")?;
    let mut report = flush_outbox(cfg, outbox, wait_ack).await?;
    report.feedback_ids = committed.iter().map(|c| c.feedback_id).collect();
    report.entries_committed = committed.iter().map(|c| c.entries.len()).sum();
    Ok(report)
}

/// Opens the configured outbox, logging what recovery found.
pub fn open_outbox(cfg: &Config) -> anyhow::Result<SharedOutbox> {
    let (outbox, recovery) = Outbox::open_shared(
        &cfg.outbox.dir,
        cfg.outbox.quota_bytes,
        cfg.outbox.quota_rule,
    )
    .with_context(|| format!("opening outbox {}", cfg.outbox.dir.display()))?;
    tracing::info!(?recovery, dir = %cfg.outbox.dir.display(), "outbox opened");
    {
        let mut open = lock_or_recover(&outbox, "outbox");
        let now = crate::capture::now_ms();
        let drafts = crate::capture::finish_drafts(&mut open, now)
            .context("finishing the captures the agent stopped in")?;
        if drafts != Default::default() {
            tracing::warn!(?drafts, "unfinished captures found at start");
        }
        // A full outbox must not stop the agent: what cannot be reported now
        // is reported after the next delivery frees room.
        match open.report_losses(&cfg.vehicle.vin, now) {
            Ok(reported) if reported.reported > 0 => {
                tracing::warn!(?reported, "outbox losses reported to the cloud")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox losses not yet reported"),
        }
    }
    Ok(outbox)
}

/// [`open_outbox`] on a blocking thread, for async callers: opening reads
/// every record and finishing drafts fsyncs.
pub(crate) async fn open_outbox_blocking(cfg: &Config) -> anyhow::Result<SharedOutbox> {
    let cfg = cfg.clone();
    tokio::task::spawn_blocking(move || open_outbox(&cfg))
        .await
        .context("outbox open task")?
}

/// Publishes everything in `outbox`; fails when not all is acknowledged in time.
pub async fn flush_outbox(
    cfg: &Config,
    outbox: SharedOutbox,
    wait_ack: Duration,
) -> anyhow::Result<SendReport> {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let settings = UplinkSettings {
        broker: cfg.broker.clone(),
        vin: cfg.vehicle.vin.clone(),
    };
    let handle = uplink::spawn(settings, outbox.clone(), None, async {
        let _ = stop_rx.await;
    })
    .context("starting the uplink")?;
    handle.wake();
    let emptied = handle.wait_until_empty(&outbox, wait_ack).await;
    // Read the counters only after the task ended: the outbox empties a
    // moment before the last PUBACK is counted.
    let watch = handle.watch();
    let _ = stop_tx.send(());
    handle.join().await;
    let status = watch.borrow().clone();
    let left = lock_or_recover(&outbox, "outbox").len();
    if !emptied {
        bail!(
            "timed out after {} s: {left} outbox entries still unacknowledged (broker {}, connected: {}, last error: {})",
            wait_ack.as_secs(),
            cfg.broker.url,
            status.connected,
            status.last_error.as_deref().unwrap_or("none"),
        );
    }
    Ok(SendReport {
        feedback_ids: Vec::new(),
        entries_committed: 0,
        published: status.published,
        acknowledged: status.acknowledged,
    })
}

/// The `send` command.
pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let mut cfg = args.connection.load_config()?;
    let telemetry: Arc<dyn TelemetrySource> = match (&args.candump, &args.dbc) {
        (Some(log), Some(dbc)) => {
            let replay = ReplayTelemetry::load(dbc, args.mapping.as_deref(), log, &cfg.telemetry)
                .context("setting up --candump replay")?;
            Arc::new(replay.with_trigger_offset(args.trigger_offset_ms))
        }
        _ => match ReplayTelemetry::from_config(&cfg.telemetry)? {
            Some(replay) => Arc::new(replay),
            None => Arc::new(NoTelemetry),
        },
    };
    cfg.telemetry.candump_replay = None;
    let requests = (0..args.count.max(1))
        .map(|_| CaptureRequest {
            trigger: TriggerKind::Cli,
            transcript: args.transcript.clone(),
            confidence: None,
            audio: args.audio.clone(),
        })
        .collect();
    let wait = Duration::from_secs(args.connection.wait_ack);
    let report = send_captures(&cfg, requests, telemetry, wait).await?;
    for id in &report.feedback_ids {
        println!("{id}");
    }
    eprintln!(
        "sent {} capture(s) as {} message(s); {} acknowledged",
        report.feedback_ids.len(),
        report.entries_committed,
        report.acknowledged
    );
    Ok(())
}
