//! The command line: one module per command (mini-redis style).
//!
//! - [`run`]: the daemon (telemetry, control socket, uplink, downlink).
//! - [`send`]: one-shot capture → outbox → publish → wait for PUBACKs.
//! - [`flush`]: publish whatever the outbox holds.
//! - [`replay`]: a fixture vehicle's transcripts, sent as `send` does.
//! - [`trigger`]: ask a running daemon to capture, over its control socket.
//! - [`decode`]: decode a candump log with a DBC (JSON lines).
//! - [`print_default_config`]: print the embedded, documented config.
//! - [`shutdown`]: the Ctrl-C / SIGTERM future.

pub mod decode;
pub mod flush;
pub mod print_default_config;
pub mod record;
pub mod replay;
pub mod run;
pub mod send;
pub mod shutdown;
pub mod trigger;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// qloop edge agent: carries a driver's spoken feedback and a telemetry
/// snapshot to the cloud over MQTT, without losing it on the way.
#[derive(Debug, Parser)]
#[command(name = "edge-agent", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: control socket, telemetry replay, uplink and downlink.
    Run {
        /// Config file laid over the embedded default.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Ask a running daemon to capture one feedback.
    Trigger(trigger::TriggerArgs),
    /// Capture, enqueue and publish in one go; exit 0 once every entry is acknowledged.
    Send(send::SendArgs),
    /// Publish whatever the outbox holds; exit 0 once it is empty.
    Flush(flush::FlushArgs),
    /// Send a fixture vehicle's transcripts (or one spoken clip); print a JSON report.
    Replay(replay::ReplayArgs),
    /// Decode a candump log with a DBC, one JSON line per log line.
    Decode {
        /// The DBC database.
        #[arg(long)]
        dbc: PathBuf,
        /// The candump -l log.
        #[arg(long)]
        candump: PathBuf,
    },
    /// Record one utterance (ends on silence or at the cap) to a WAV file.
    Record(record::RecordArgs),
    /// Print the embedded, documented default configuration.
    PrintDefaultConfig,
}

/// Config file, broker, outbox and VIN flags shared by `send` and `flush`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Config file laid over the embedded default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Broker URL (overrides broker.url), e.g. mqtt://127.0.0.1:1883.
    #[arg(long)]
    pub broker: Option<String>,
    /// Outbox directory (overrides outbox.dir).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// Vehicle VIN (overrides vehicle.vin).
    #[arg(long)]
    pub vin: Option<String>,
    /// Seconds to wait for every PUBACK.
    #[arg(long, default_value_t = 30)]
    pub wait_ack: u64,
}

impl ConnectionArgs {
    /// Loads the config and applies the flags, then validates again.
    pub fn load_config(&self) -> anyhow::Result<crate::Config> {
        use anyhow::Context;
        let mut config = crate::Config::load(self.config.as_deref()).context("loading config")?;
        if let Some(url) = &self.broker {
            config.broker.url = url.clone();
        }
        if let Some(dir) = &self.outbox {
            config.outbox.dir = dir.clone();
        }
        if let Some(vin) = &self.vin {
            config.vehicle.vin = vin.clone();
        }
        config.validate().context("command-line flags")?;
        Ok(config)
    }
}

impl Cli {
    /// Runs the chosen command; the exit code follows the result.
    pub async fn execute(self) -> anyhow::Result<()> {
        match self.command {
            Command::Run { config } => run::run(config.as_deref()).await,
            Command::Trigger(args) => trigger::run(args).await,
            Command::Send(args) => send::run(args).await,
            Command::Flush(args) => flush::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Decode { dbc, candump } => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                decode::run(&dbc, &candump, &mut out).map(|_| ())
            }
            Command::Record(args) => record::run(args),
            Command::PrintDefaultConfig => {
                print_default_config::run();
                Ok(())
            }
        }
    }
}
