//! `edge-agent trigger`: ask a running daemon to capture, through its control
//! socket. Prints each reply line; exits 0 once the trigger is accepted —
//! which means the capture is on disk and survives a kill or power cut (with
//! `--wait-stored`, once the post-trigger window is also done and the whole
//! capture is in the outbox).

use std::path::PathBuf;

use anyhow::bail;

use crate::control::{client::ControlClient, ControlReply, ControlRequest};

/// Flags of `edge-agent trigger`.
#[derive(Debug, Clone, clap::Args)]
pub struct TriggerArgs {
    /// The daemon's control socket.
    #[arg(long)]
    pub socket: PathBuf,
    /// What the driver said, as the head unit's recogniser heard it. Without
    /// it, `--audio` is sent alone and the cloud transcribes the clip.
    #[arg(long, required_unless_present = "audio")]
    pub transcript: Option<String>,
    /// A WAV clip of it (a path the daemon can read).
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// The recogniser's confidence, 0..=1.
    #[arg(long)]
    pub confidence: Option<f32>,
    /// What started it: voice, hmi, button or cli.
    #[arg(long, default_value = "cli")]
    pub trigger: String,
    /// Wait until the whole capture (with the post-trigger telemetry) is in
    /// the outbox; without it, exit once it is accepted (already on disk).
    #[arg(long)]
    pub wait_stored: bool,
}

/// The `trigger` command.
pub async fn run(args: TriggerArgs) -> anyhow::Result<()> {
    let mut client = ControlClient::connect(&args.socket).await?;
    let audio = match args.audio {
        Some(p) => Some(std::path::absolute(&p)?),
        None => None,
    };
    client
        .send(&ControlRequest::Trigger {
            transcript: args.transcript,
            confidence: args.confidence,
            audio,
            trigger: Some(args.trigger),
        })
        .await?;
    loop {
        let reply = client.next().await?;
        println!("{}", reply.to_line().trim_end());
        match reply {
            ControlReply::Accepted { .. } if !args.wait_stored => return Ok(()),
            ControlReply::Stored { .. } => return Ok(()),
            ControlReply::Error { message } => bail!("the agent refused the trigger: {message}"),
            _ => {}
        }
    }
}
