//! The client side of the control socket (used by `edge-agent trigger`).

use std::path::Path;

use tokio::{
    io::{AsyncWriteExt, BufReader},
    net::UnixStream,
};

use super::{
    line::{read_line, LineRead},
    ControlReply, ControlRequest,
};

/// Longest reply line a client accepts.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Errors of the control client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Socket I/O failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The agent closed the connection or sent something unreadable.
    #[error("control socket: {0}")]
    Protocol(String),
}

/// A connection to a running agent.
pub struct ControlClient {
    path: String,
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl ControlClient {
    /// Connects to the agent's socket.
    pub async fn connect(path: &Path) -> Result<Self, ClientError> {
        let shown = path.display().to_string();
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ClientError::Io {
                path: shown.clone(),
                source,
            })?;
        let (read, writer) = stream.into_split();
        Ok(Self {
            path: shown,
            reader: BufReader::new(read),
            writer,
        })
    }

    /// Sends one request.
    pub async fn send(&mut self, request: &ControlRequest) -> Result<(), ClientError> {
        let mut line = serde_json::to_string(request).expect("requests always serialize");
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .map_err(|source| ClientError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Reads the next reply or event.
    pub async fn next(&mut self) -> Result<ControlReply, ClientError> {
        let read = read_line(&mut self.reader, MAX_REPLY_BYTES)
            .await
            .map_err(|source| ClientError::Io {
                path: self.path.clone(),
                source,
            })?;
        match read {
            LineRead::Line(line) => serde_json::from_str(&line)
                .map_err(|e| ClientError::Protocol(format!("unreadable reply: {e}"))),
            LineRead::Eof => Err(ClientError::Protocol("agent closed the connection".into())),
            other => Err(ClientError::Protocol(format!(
                "unreadable reply: {other:?}"
            ))),
        }
    }
}
