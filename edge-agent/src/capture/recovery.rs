//! Finishing what a stop interrupted: captures accepted (their drafts on
//! disk) but not committed when the agent was killed or lost power.
//!
//! Each pending draft becomes its messages, marked
//! [`cut_short`](qloop_protocol::FeedbackEnvelope::cut_short), and is
//! committed to the outbox. A draft whose capture was committed just before
//! the stop (the outbox already holds its feedback) is only settled. A draft
//! that is itself unreadable is quarantined and reported as a lost capture.

use qloop_protocol::{CutShort, CutShortReason};
use uuid::Uuid;

use super::into_messages;
use crate::outbox::{Drafts, Outbox, OutboxError};

/// What [`finish_drafts`] found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DraftsFinished {
    /// Captures completed from their drafts and committed, marked cut short.
    pub completed: usize,
    /// Drafts of captures the outbox already held.
    pub already_committed: usize,
    /// Drafts that could not be read or sent; quarantined and reported.
    pub unreadable: usize,
}

/// Commits every pending draft in `outbox`'s drafts folder, marked cut short
/// at `now_ms`. Call once at start, before captures are accepted.
pub fn finish_drafts(outbox: &mut Outbox, now_ms: i64) -> Result<DraftsFinished, OutboxError> {
    let drafts = outbox.drafts().clone();
    let io = |e| OutboxError::Io {
        path: drafts.dir().to_path_buf(),
        source: e,
    };
    let mut done = DraftsFinished::default();
    for id in drafts.pending().map_err(io)? {
        let envelope = match drafts.read(id).map_err(io)? {
            Ok(envelope) if envelope.feedback_id == id => envelope,
            Ok(_) => {
                unusable(outbox, &drafts, id, "draft names another feedback".into())?;
                done.unreadable += 1;
                continue;
            }
            Err(defect) => {
                unusable(outbox, &drafts, id, defect)?;
                done.unreadable += 1;
                continue;
            }
        };
        if outbox.holds_feedback(id) {
            let chunks = into_messages(envelope).map_or(0, |m| m.audio_chunks);
            settle_draft(&drafts, id, chunks);
            done.already_committed += 1;
            continue;
        }
        let mut envelope = envelope;
        envelope.cut_short = Some(CutShort {
            reason: CutShortReason::AgentStopped,
            completed_at_ms: now_ms,
        });
        let messages = match into_messages(envelope) {
            Ok(messages) => messages,
            Err(e) => {
                unusable(outbox, &drafts, id, format!("draft cannot be sent: {e}"))?;
                done.unreadable += 1;
                continue;
            }
        };
        outbox.commit_all(&messages.messages)?;
        settle_draft(&drafts, id, messages.audio_chunks);
        tracing::warn!(feedback_id = %id, entries = messages.messages.len(),
            "a capture the agent stopped in was completed from its draft and marked cut short");
        done.completed += 1;
    }
    Ok(done)
}

fn unusable(
    outbox: &mut Outbox,
    drafts: &Drafts,
    id: Uuid,
    defect: String,
) -> Result<(), OutboxError> {
    let to = drafts.quarantine(id).map_err(|e| OutboxError::Io {
        path: drafts.dir().to_path_buf(),
        source: e,
    })?;
    tracing::error!(feedback_id = %id, %defect, to = %to.display(), "unfinished capture's draft quarantined");
    outbox.note_lost_capture(
        id,
        format!("unfinished capture's draft unreadable: {defect}"),
    );
    Ok(())
}

/// The capture is committed: delete its draft, or keep it as the source of
/// its audio chunks. A failure here loses nothing (the next start finds the
/// draft and sees the outbox already holds the feedback), so it is logged.
pub(crate) fn settle_draft(drafts: &Drafts, id: Uuid, audio_chunks: usize) {
    let settled = if audio_chunks > 0 {
        drafts.keep_as_source(id)
    } else {
        drafts.remove(id)
    };
    if let Err(e) = settled {
        tracing::warn!(feedback_id = %id, error = %e, "could not settle a committed capture's draft");
    }
}
