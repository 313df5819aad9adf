//! One client session: read requests, write replies and events.
//!
//! A writer task owns the socket's write half and drains a reply channel;
//! the reader, capture tasks and the event forwarder all send into it. A bad
//! line gets an `error` reply and the session goes on.

use tokio::{
    io::{AsyncWriteExt, BufReader},
    net::{unix::OwnedWriteHalf, UnixStream},
    sync::{broadcast, mpsc, watch},
};

use super::{
    line::{read_line, LineRead},
    messages::{parse_trigger_kind, ControlReply, ControlRequest},
    ControlContext,
};
use crate::{capture::CaptureRequest, lock::lock_or_recover};

/// One connected client.
pub struct Session {
    context: ControlContext,
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
}

impl Session {
    /// A session that ends when `stop` turns true; `done` is dropped at the end.
    pub fn new(
        context: ControlContext,
        stop: watch::Receiver<bool>,
        done: mpsc::Sender<()>,
    ) -> Self {
        Self {
            context,
            stop,
            done,
        }
    }

    /// Runs the session to completion.
    pub async fn run(mut self, stream: UnixStream) {
        let (read_half, write_half) = stream.into_split();
        let (out_tx, out_rx) = mpsc::channel::<ControlReply>(64);
        tokio::spawn(write_replies(write_half, out_rx, self.done.clone()));
        // Dropped when this function returns: ends the event forwarder.
        let (_session_open, session_end) = watch::channel(());
        let mut reader = BufReader::new(read_half);
        let max = self.context.max_line_bytes;
        loop {
            let read = tokio::select! {
                _ = self.stop.changed() => break,
                read = read_line(&mut reader, max) => read,
            };
            let reply = match read {
                Ok(LineRead::Line(line)) if line.trim().is_empty() => continue,
                Ok(LineRead::Line(line)) => match serde_json::from_str::<ControlRequest>(&line) {
                    Ok(request) => self.handle(request, &out_tx, &session_end).await,
                    Err(e) => Some(error(format!("bad request: {e}"))),
                },
                Ok(LineRead::TooLong(n)) => Some(error(format!(
                    "request line of {n} bytes is over the {max}-byte limit"
                ))),
                Ok(LineRead::NotUtf8) => Some(error("request line is not UTF-8".into())),
                Ok(LineRead::Eof) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "control client read failed");
                    break;
                }
            };
            if let Some(reply) = reply {
                if out_tx.send(reply).await.is_err() {
                    break;
                }
            }
        }
    }

    async fn handle(
        &self,
        request: ControlRequest,
        out: &mpsc::Sender<ControlReply>,
        session_end: &watch::Receiver<()>,
    ) -> Option<ControlReply> {
        match request {
            ControlRequest::Status => Some(self.status()),
            ControlRequest::Subscribe => {
                // Subscribing commits a receipt per held event (fsync).
                let hub = self.context.hub.clone();
                let (backlog, receiver) =
                    match tokio::task::spawn_blocking(move || hub.subscribe()).await {
                        Ok(subscribed) => subscribed,
                        Err(e) => return Some(error(format!("subscribe task failed: {e}"))),
                    };
                let out = out.clone();
                let ends = (self.stop.clone(), session_end.clone());
                tokio::spawn(forward_events(backlog, receiver, out, ends));
                None
            }
            ControlRequest::Satisfaction {
                case_number,
                score,
                comment,
            } => Some(self.satisfaction(case_number, score, comment).await),
            ControlRequest::Trigger {
                transcript,
                confidence,
                audio,
                trigger,
            } => {
                let trigger = match parse_trigger_kind(trigger.as_deref()) {
                    Ok(kind) => kind,
                    Err(message) => return Some(ControlReply::Error { message }),
                };
                let request = CaptureRequest {
                    trigger,
                    transcript,
                    confidence,
                    audio,
                };
                let task = capture(
                    self.context.clone(),
                    request,
                    out.clone(),
                    self.stop.clone(),
                    self.done.clone(),
                );
                tokio::spawn(task);
                None
            }
        }
    }

    /// Checks the answer, commits it to the outbox (on a blocking thread:
    /// the commit fsyncs) and wakes the uplink.
    async fn satisfaction(
        &self,
        case_number: i64,
        score: u8,
        comment: Option<String>,
    ) -> ControlReply {
        let reply = qloop_protocol::SatisfactionReply {
            vin: self.context.hub.vin().to_string(),
            case_number,
            score,
            comment: comment.filter(|c| !c.trim().is_empty()),
            answered_at_ms: crate::capture::now_ms(),
        };
        if let Err(e) =
            qloop_protocol::Limits::default().check_satisfaction(&reply, reply.answered_at_ms)
        {
            return error(e.to_string());
        }
        let message = qloop_protocol::encode(&qloop_protocol::Message::Satisfaction(reply));
        let outbox = self.context.outbox.clone();
        let committed = tokio::task::spawn_blocking(move || {
            lock_or_recover(&outbox, "outbox").commit(&message)
        })
        .await;
        match committed {
            Ok(Ok(_)) => {
                self.context.wake.notify_one();
                ControlReply::SatisfactionStored { case_number }
            }
            Ok(Err(e)) => error(format!("cannot store the answer: {e}")),
            Err(e) => error(format!("cannot store the answer: {e}")),
        }
    }

    fn status(&self) -> ControlReply {
        let stats = lock_or_recover(&self.context.outbox, "outbox").stats();
        let uplink = self.context.uplink_status.borrow().clone();
        ControlReply::Status {
            outbox_entries: stats.entries,
            outbox_bytes: stats.bytes,
            quarantined: stats.quarantined,
            evicted: stats.evicted,
            connected: uplink.connected,
            last_error: uplink.last_error,
            acknowledged: uplink.acknowledged,
        }
    }
}

fn error(message: String) -> ControlReply {
    ControlReply::Error { message }
}

/// Accept (validate inputs), reply, wait the post-trigger window (cut short
/// by shutdown), commit, reply again. `_done` keeps shutdown waiting for us.
async fn capture(
    context: ControlContext,
    request: CaptureRequest,
    out: mpsc::Sender<ControlReply>,
    mut stop: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
) {
    let capturer = context.capturer.clone();
    let accepted = tokio::task::spawn_blocking(move || capturer.accept(request)).await;
    let accepted = match accepted {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(e)) => return drop(out.send(error(e.to_string())).await),
        Err(e) => return drop(out.send(error(format!("capture task failed: {e}"))).await),
    };
    let feedback_id = accepted.feedback_id;
    let _ = out.send(ControlReply::Accepted { feedback_id }).await;
    if !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(context.post_window) => {}
            _ = stop.changed() => {}
        }
    }
    let capturer = context.capturer.clone();
    let reply = match tokio::task::spawn_blocking(move || capturer.commit(accepted)).await {
        Ok(Ok(done)) => {
            context.wake.notify_one();
            ControlReply::Stored {
                feedback_id,
                entries: done.entries.len(),
            }
        }
        Ok(Err(e)) => {
            tracing::error!(%feedback_id, error = %e, "accepted capture could not be stored");
            error(format!(
                "feedback {feedback_id} could not be completed now: {e}; its draft is kept and is sent when the agent next starts"
            ))
        }
        Err(e) => error(format!("capture task failed: {e}")),
    };
    let _ = out.send(reply).await;
}

async fn forward_events(
    backlog: Vec<super::EventView>,
    mut events: broadcast::Receiver<super::EventView>,
    out: mpsc::Sender<ControlReply>,
    (mut stop, mut session_end): (watch::Receiver<bool>, watch::Receiver<()>),
) {
    if out.send(ControlReply::Subscribed).await.is_err() {
        return;
    }
    for event in backlog {
        if out.send(ControlReply::Event(event)).await.is_err() {
            return;
        }
    }
    loop {
        let event = tokio::select! {
            _ = stop.changed() => return,
            _ = session_end.changed() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(event) => {
                if out.send(ControlReply::Event(event)).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "HMI client too slow; events skipped");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn write_replies(
    mut socket: OwnedWriteHalf,
    mut replies: mpsc::Receiver<ControlReply>,
    _done: mpsc::Sender<()>,
) {
    while let Some(reply) = replies.recv().await {
        if socket.write_all(reply.to_line().as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = socket.shutdown().await;
}
