//! `edge-agent flush`: publish whatever the outbox holds and wait until the
//! broker acknowledged all of it (exit 0) or the wait ran out (exit 1).

use std::time::Duration;

use super::{
    send::{flush_outbox, open_outbox_blocking},
    ConnectionArgs,
};
use crate::lock::lock_or_recover;

/// Flags of `edge-agent flush`.
#[derive(Debug, Clone, clap::Args)]
pub struct FlushArgs {
    /// Broker, outbox, VIN and config flags.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The `flush` command.
pub async fn run(args: FlushArgs) -> anyhow::Result<()> {
    let cfg = args.connection.load_config()?;
    let outbox = open_outbox_blocking(&cfg).await?;
    let pending = lock_or_recover(&outbox, "outbox").len();
    let wait = Duration::from_secs(args.connection.wait_ack);
    let report = flush_outbox(&cfg, outbox, wait).await?;
    eprintln!(
        "flushed {pending} pending entr{}; {} acknowledged",
        if pending == 1 { "y" } else { "ies" },
        report.acknowledged
    );
    Ok(())
}
