//! The quota rule and sequence leasing.
//!
//! Eviction order under `evict-audio-first`: the oldest audio chunks, then the
//! oldest event receipts. Feedback envelopes are never evicted: a case without
//! its audio is still a case, a lost envelope is a lost driver. The cloud
//! handles an envelope whose chunks never arrive (transcript-only triage).

use qloop_protocol::MessageKind;

use super::{durable, io_err, EntryId, Outbox, OutboxError, QuotaRule};

/// Name of the file holding the leased sequence high-water mark.
pub const SEQ_FILE: &str = "seq.next";
/// Sequence numbers leased per write of [`SEQ_FILE`].
pub const SEQ_LEASE: u64 = 1024;

impl Outbox {
    /// Frees room for `needed` bytes by the quota rule, or refuses.
    pub(super) fn make_room(&mut self, needed: u64) -> Result<(), OutboxError> {
        let over = (self.used_bytes + needed).saturating_sub(self.quota_bytes);
        if over == 0 {
            return Ok(());
        }
        let refuse = || OutboxError::QuotaExceeded {
            needed,
            used: self.used_bytes,
            quota: self.quota_bytes,
            rule: self.rule,
        };
        if self.rule == QuotaRule::Refuse {
            return Err(refuse());
        }
        // Plan first, so a refused batch leaves the outbox untouched.
        let mut victims = Vec::new();
        let mut freed = 0u64;
        for kind in [MessageKind::AudioChunk, MessageKind::Receipt] {
            for (id, meta) in &self.entries {
                if freed >= over {
                    break;
                }
                if meta.kind == kind {
                    victims.push(*id);
                    freed += meta.bytes;
                }
            }
        }
        if freed < over {
            return Err(refuse());
        }
        for id in victims {
            tracing::warn!(?id, "outbox over quota: evicting");
            if let Some(meta) = self.meta(id) {
                self.unreported.push(super::LostRecord {
                    subject: super::RecordSubject {
                        kind: Some(meta.kind),
                        feedback_id: meta.feedback_id,
                        chunk: meta.chunk,
                    },
                    reason: "evicted: the outbox was over its quota".into(),
                    cause: super::loss::LossCause::Evicted,
                });
            }
            self.remove(id)?;
            self.stats.evicted += 1;
        }
        Ok(())
    }

    /// The next sequence number, leasing a new block durably when needed.
    pub(super) fn next_id(&mut self) -> Result<EntryId, OutboxError> {
        if self.next_seq >= self.leased_until {
            let until = self.next_seq + SEQ_LEASE;
            durable::write_atomic(&self.dir, SEQ_FILE, until.to_string().as_bytes())
                .map_err(io_err(&self.dir))?;
            self.leased_until = until;
        }
        let id = EntryId(self.next_seq);
        self.next_seq += 1;
        Ok(id)
    }
}
