//! `edge-agent run`: the daemon. Wires the outbox, the telemetry source, the
//! uplink (which owns the MQTT loop), the event hub and the control socket,
//! and shuts them down in order on Ctrl-C or SIGTERM.

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use super::send::open_outbox_blocking;
use crate::{
    capture::{Capturer, NoTelemetry, ReplayTelemetry, TelemetrySource},
    config::Config,
    control::{self, ControlContext, EventHub},
    lock::lock_or_recover,
    uplink::{self, UplinkSettings},
};

/// Downlink events queued between the MQTT loop and the hub.
const EVENT_QUEUE: usize = 64;

/// Loads the config and runs the daemon until a signal.
pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let cfg = Config::load(config).context("loading config")?;
    tracing::info!(config = ?cfg, "starting edge agent");
    serve(cfg, super::shutdown::signal()).await
}

/// Runs the daemon with `cfg` until `shutdown` resolves (injectable for tests).
pub async fn serve(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let outbox = open_outbox_blocking(&cfg).await?;
    let telemetry: Arc<dyn TelemetrySource> = match ReplayTelemetry::from_config(&cfg.telemetry)
        .context("setting up the telemetry replay")?
    {
        Some(replay) => Arc::new(replay),
        None => Arc::new(NoTelemetry),
    };
    let listener = control::bind(&cfg.control.socket)
        .with_context(|| format!("binding control socket {}", cfg.control.socket.display()))?;

    let (stop_uplink_tx, mut stop_uplink_rx) = watch::channel(false);
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let settings = UplinkSettings {
        broker: cfg.broker.clone(),
        vin: cfg.vehicle.vin.clone(),
    };
    let uplink = uplink::spawn(settings, outbox.clone(), Some(events_tx), async move {
        let _ = stop_uplink_rx.wait_for(|stop| *stop).await;
    })
    .context("starting the uplink")?;
    uplink.wake();

    let hub = EventHub::new(cfg.vehicle.vin.clone(), outbox.clone(), uplink.waker());
    let hub_task = tokio::spawn(hub.clone().run(events_rx));
    let context = ControlContext {
        capturer: Capturer::new(Arc::new(cfg.clone()), outbox.clone(), telemetry),
        hub,
        outbox: outbox.clone(),
        wake: uplink.waker(),
        uplink_status: uplink.watch(),
        post_window: Duration::from_millis(cfg.telemetry.post_window_ms),
        max_line_bytes: cfg.control.max_line_bytes,
    };
    tracing::info!(socket = %cfg.control.socket.display(), "control socket listening");

    // Sessions first (captures in their window commit), then the MQTT loop.
    control::serve(listener, context, shutdown).await;
    let _ = stop_uplink_tx.send(true);
    uplink.join().await;
    hub_task.abort();
    let left = lock_or_recover(&outbox, "outbox").len();
    tracing::info!(
        pending = left,
        "edge agent stopped; pending entries stay in the outbox"
    );
    Ok(())
}
