//! Reporting what the outbox lost.
//!
//! A quarantined or evicted record is a message that will never reach the
//! cloud. [`Outbox::report_losses`] turns each into a
//! [`LossReport`] committed to the outbox like any other message, so the
//! cloud can show the feedback as lost or its audio as incomplete. A lost
//! audio chunk whose capture still has its kept source is made again from
//! it and committed instead, and the report says it was resent.

use qloop_protocol::{encode, LossReport, LostMessage, Message, MessageKind};
use uuid::Uuid;

use super::{record::RecordSubject, Outbox, OutboxError};

/// A record the outbox gave up on, with what its header said it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRecord {
    /// Kind, feedback and chunk, as far as they could be read.
    pub subject: RecordSubject,
    /// Why it was given up.
    pub reason: String,
    /// How it was lost.
    pub cause: LossCause,
}

/// How a record was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// Torn or corrupt on disk: resent from a kept source where possible.
    Damaged,
    /// Deleted by the quota rule to make room: never resent.
    Evicted,
    /// An unfinished capture whose draft was unreadable.
    UnreadableDraft,
}

impl LostRecord {
    /// What the cloud is told was lost.
    pub fn lost_message(&self) -> LostMessage {
        if self.cause == LossCause::UnreadableDraft {
            return LostMessage::Capture;
        }
        match (self.subject.kind, self.subject.chunk) {
            (Some(MessageKind::Feedback), _) => LostMessage::Feedback,
            (Some(MessageKind::AudioChunk), Some(index)) => LostMessage::AudioChunk { index },
            (Some(MessageKind::Receipt), _) => LostMessage::Receipt,
            (Some(MessageKind::Satisfaction), _) => LostMessage::Satisfaction,
            (Some(MessageKind::Loss), _) => LostMessage::LossReport,
            _ => LostMessage::Unknown,
        }
    }
}

/// What one call of [`Outbox::report_losses`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossesReported {
    /// Loss reports committed.
    pub reported: usize,
    /// Audio chunks made again from their source and committed.
    pub resent: usize,
}

impl Outbox {
    /// Records that a pending capture could not be completed (its draft was
    /// unreadable), to be reported with the other losses.
    pub fn note_lost_capture(&mut self, feedback_id: Uuid, reason: String) {
        self.unreported.push(LostRecord {
            subject: RecordSubject {
                kind: None,
                feedback_id: Some(feedback_id),
                chunk: None,
            },
            reason,
            cause: LossCause::UnreadableDraft,
        });
    }

    /// Commits a [`LossReport`] from car `vin` for every record lost since the
    /// last call, resending lost audio chunks from their kept source where it
    /// exists. What cannot be committed (outbox full) stays for the next call.
    pub fn report_losses(&mut self, vin: &str, now_ms: i64) -> Result<LossesReported, OutboxError> {
        let mut done = LossesReported::default();
        while let Some(lost) = self.unreported.first().cloned() {
            let lost_message = lost.lost_message();
            let resend = match (lost_message, lost.subject.feedback_id) {
                (LostMessage::AudioChunk { index }, Some(id))
                    if lost.cause == LossCause::Damaged =>
                {
                    self.drafts.chunk_from_source(id, index)
                }
                _ => None,
            };
            let report = LossReport {
                report_id: Uuid::now_v7(),
                vin: vin.to_string(),
                feedback_id: lost.subject.feedback_id,
                lost: lost_message,
                reason: truncate(&lost.reason, qloop_protocol::loss::MAX_LOSS_REASON_BYTES),
                resent: resend.is_some(),
                detected_at_ms: now_ms,
            };
            let mut batch = Vec::with_capacity(2);
            if let Some(chunk) = &resend {
                batch.push(chunk.clone());
            }
            batch.push(encode(&Message::Loss(report)));
            self.commit_all(&batch)?;
            tracing::warn!(
                feedback_id = ?lost.subject.feedback_id,
                lost = lost_message.as_str(),
                resent = resend.is_some(),
                reason = %lost.reason,
                "outbox loss reported to the cloud"
            );
            self.unreported.remove(0);
            done.reported += 1;
            done.resent += usize::from(resend.is_some());
        }
        self.release_idle_feedback();
        Ok(done)
    }

    /// Forgets feedback with no pending entry left (a quarantine brought its
    /// count to zero) and deletes their kept audio sources.
    fn release_idle_feedback(&mut self) {
        let idle: Vec<Uuid> = self
            .by_feedback
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            self.by_feedback.remove(&id);
            if let Err(e) = self.drafts.remove_source(id) {
                tracing::warn!(%id, error = %e, "could not delete an audio source no chunk needs");
            }
        }
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
