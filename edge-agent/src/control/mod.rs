//! The control socket: a Unix socket speaking JSON lines, for the voice
//! assistant (triggers) and the HMI (status, downlink events).
//!
//! # Layout
//! - [`messages`]: request and reply types.
//! - [`line`]: bounded line reading.
//! - [`connection`]: one client's session.
//! - [`hub`]: downlink events to subscribers, receipts to the outbox.
//! - [`client`]: the client side, used by `edge-agent trigger`.
//!
//! Shutdown (STYLE rule 5): [`serve`] stops accepting when its `shutdown`
//! future resolves, tells sessions to stop, lets captures still in their
//! post-trigger window commit at once, and returns when every session task
//! has dropped its completion sender.

pub mod client;
pub mod connection;
pub mod hub;
pub mod line;
pub mod messages;

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use tokio::{
    net::UnixListener,
    sync::{mpsc, watch, Notify},
};

pub use hub::EventHub;
pub use messages::{ControlReply, ControlRequest, EventView};

use crate::{capture::Capturer, outbox::SharedOutbox, uplink::UplinkStatus};

/// Everything a session needs.
#[derive(Clone)]
pub struct ControlContext {
    /// The capture pipeline.
    pub capturer: Capturer,
    /// Downlink event fan-out.
    pub hub: EventHub,
    /// The outbox (for status).
    pub outbox: SharedOutbox,
    /// Wakes the uplink after a commit.
    pub wake: Arc<Notify>,
    /// The uplink's status.
    pub uplink_status: watch::Receiver<UplinkStatus>,
    /// Wait after a trigger before the snapshot is cut.
    pub post_window: Duration,
    /// Longest request line.
    pub max_line_bytes: usize,
}

/// Binds the socket at `path`, replacing a stale socket file.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    UnixListener::bind(path)
}

/// Serves clients until `shutdown` resolves; returns when every session and
/// capture it started has finished.
pub async fn serve(listener: UnixListener, context: ControlContext, shutdown: impl Future) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let session = connection::Session::new(
                        context.clone(),
                        stop_rx.clone(),
                        done_tx.clone(),
                    );
                    tokio::spawn(session.run(stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    let _ = stop_tx.send(true);
    drop(done_tx);
    // Every session and capture task holds a clone; recv ends when all dropped.
    let _ = done_rx.recv().await;
    if let Ok(addr) = listener.local_addr() {
        if let Some(path) = addr.as_pathname() {
            let _ = std::fs::remove_file(path);
        }
    }
}
