//! The outbox: every message the car must deliver, on disk until its PUBACK.
//!
//! One file per message, named by a sequence number (`00000000000000000042.qlm`)
//! that only grows, also across restarts (a high-water mark is leased in blocks
//! in `seq.next`). A file is created atomically and durably (temp file,
//! `sync_all`, rename, directory fsync; see [`durable`]) and holds a checksummed
//! record (see [`record`]).
//!
//! On [`Outbox::open`] the directory is scanned: stray temp files are deleted,
//! every record is verified, and corrupt or truncated files move to
//! `quarantine/` (logged and counted, never silently dropped).
//!
//! **Quota rule** ([`QuotaRule`]): the bytes of all records stay under
//! `quota_bytes`. A batch that would pass it is, under `evict-audio-first`,
//! made room for by deleting the oldest audio chunks, then the oldest event
//! receipts — never a feedback envelope, never a part of the new batch — and
//! refused when that is not enough; under `refuse` it is refused outright.
//! A refused batch leaves the outbox unchanged.
//!
//! **Losses are reported** ([`Outbox::report_losses`]): every record that is
//! quarantined or evicted is remembered with what its header says it held
//! (feedback id, kind, audio chunk index) and becomes a small
//! [`LossReport`](qloop_protocol::LossReport) message in this same outbox, so
//! the cloud learns what never comes. A torn audio chunk whose capture's
//! source is still kept in [`drafts`] is made again and sent instead.

pub mod drafts;
pub mod durable;
mod error;
pub mod loss;
pub mod quota;
pub mod record;
pub mod scan;

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use qloop_protocol::{MessageKind, MAX_MESSAGE_BYTES};
use uuid::Uuid;

pub use crate::config::QuotaRule;
pub use drafts::Drafts;
pub use error::OutboxError;
pub use loss::{LossCause, LossesReported, LostRecord};
pub use record::{RecordDefect, RecordSubject};
pub use scan::RecoveryReport;

/// Extension of record files.
pub const RECORD_EXT: &str = "qlm";
/// Name of the quarantine subdirectory.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Identifies one stored message: its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub u64);

/// What the outbox knows about a stored record without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    /// Message kind, for the eviction rule.
    pub kind: MessageKind,
    /// Record size on disk, bytes.
    pub bytes: u64,
    /// The feedback the message belongs to (envelopes, audio chunks).
    pub feedback_id: Option<Uuid>,
    /// The audio chunk's index.
    pub chunk: Option<u32>,
}

/// Counters for status reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Entries pending.
    pub entries: usize,
    /// Bytes pending.
    pub bytes: u64,
    /// Files quarantined since open (including at open).
    pub quarantined: u64,
    /// Entries evicted by the quota rule since open.
    pub evicted: u64,
}

/// An outbox shared by the capture path and the uplink task.
pub type SharedOutbox = Arc<Mutex<Outbox>>;

/// The durable message queue.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    quota_bytes: u64,
    rule: QuotaRule,
    entries: BTreeMap<EntryId, EntryMeta>,
    used_bytes: u64,
    next_seq: u64,
    leased_until: u64,
    stats: OutboxStats,
    drafts: Drafts,
    /// Pending entries per feedback, so a kept audio source is deleted when
    /// the last of its chunks is acknowledged.
    by_feedback: HashMap<Uuid, usize>,
    /// Quarantined or evicted records not yet reported to the cloud.
    unreported: Vec<LostRecord>,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_name(id: EntryId) -> String {
    format!("{:020}.{RECORD_EXT}", id.0)
}

impl Outbox {
    /// Opens (creating) the outbox in `dir`, recovering from any crash.
    pub fn open(
        dir: &Path,
        quota_bytes: u64,
        rule: QuotaRule,
    ) -> Result<(Self, RecoveryReport), OutboxError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let drafts = Drafts::open(dir).map_err(io_err(dir))?;
        let scanned = scan::scan(dir)?;
        let used_bytes = scanned.entries.values().map(|m| m.bytes).sum();
        let mut by_feedback = HashMap::new();
        for id in scanned.entries.values().filter_map(|m| m.feedback_id) {
            *by_feedback.entry(id).or_insert(0) += 1;
        }
        let mut outbox = Self {
            dir: dir.to_path_buf(),
            quota_bytes,
            rule,
            entries: scanned.entries,
            used_bytes,
            next_seq: scanned.next_seq,
            leased_until: scanned.next_seq,
            stats: OutboxStats {
                quarantined: scanned.report.quarantined as u64,
                ..OutboxStats::default()
            },
            drafts,
            by_feedback,
            unreported: scanned.lost,
        };
        outbox.refresh_stats();
        outbox.drop_orphan_sources();
        Ok((outbox, scanned.report))
    }

    /// Opens the outbox and wraps it for sharing.
    pub fn open_shared(
        dir: &Path,
        quota_bytes: u64,
        rule: QuotaRule,
    ) -> Result<(SharedOutbox, RecoveryReport), OutboxError> {
        let (outbox, report) = Self::open(dir, quota_bytes, rule)?;
        Ok((Arc::new(Mutex::new(outbox)), report))
    }

    /// Stores one encoded message durably; returns its id.
    pub fn commit(&mut self, message: &[u8]) -> Result<EntryId, OutboxError> {
        Ok(self.commit_all(&[message])?[0])
    }

    /// Stores a batch (e.g. an envelope and its audio chunks) in order. The
    /// quota rule is applied to the batch as a whole before anything is written.
    pub fn commit_all<B: AsRef<[u8]>>(
        &mut self,
        messages: &[B],
    ) -> Result<Vec<EntryId>, OutboxError> {
        let mut subjects = Vec::with_capacity(messages.len());
        let mut needed = 0u64;
        for m in messages {
            let m = m.as_ref();
            if m.len() > MAX_MESSAGE_BYTES {
                return Err(OutboxError::TooLarge {
                    len: m.len(),
                    max: MAX_MESSAGE_BYTES,
                });
            }
            let kind = record::message_kind(m).ok_or(OutboxError::NotAMessage)?;
            let subject = RecordSubject::of_message(m).unwrap_or(RecordSubject {
                kind: Some(kind),
                ..RecordSubject::default()
            });
            subjects.push((kind, subject));
            needed += (record::RECORD_HEADER_LEN + m.len()) as u64;
        }
        self.make_room(needed)?;
        let mut ids = Vec::with_capacity(messages.len());
        for (m, (kind, subject)) in messages.iter().zip(subjects) {
            let id = self.next_id()?;
            let bytes = record::encode_record(id.0, kind, subject, m.as_ref());
            durable::write_atomic(&self.dir, &file_name(id), &bytes).map_err(io_err(&self.dir))?;
            let meta = EntryMeta {
                kind,
                bytes: bytes.len() as u64,
                feedback_id: subject.feedback_id,
                chunk: subject.chunk,
            };
            self.entries.insert(id, meta);
            self.used_bytes += meta.bytes;
            if let Some(feedback) = meta.feedback_id {
                *self.by_feedback.entry(feedback).or_insert(0) += 1;
            }
            ids.push(id);
        }
        self.refresh_stats();
        Ok(ids)
    }

    /// Pending entry ids, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = EntryId> + '_ {
        self.entries.keys().copied()
    }

    /// What is known about an entry.
    pub fn meta(&self, id: EntryId) -> Option<EntryMeta> {
        self.entries.get(&id).copied()
    }

    /// Reads an entry's message bytes, verifying its checksum again; a record
    /// that went bad since open is quarantined and reported.
    pub fn read(&mut self, id: EntryId) -> Result<Vec<u8>, OutboxError> {
        if !self.entries.contains_key(&id) {
            return Err(OutboxError::Missing(id));
        }
        let path = self.dir.join(file_name(id));
        let defect =
            match durable::read_bounded(&path, record::MAX_RECORD_BYTES).map_err(io_err(&path))? {
                Ok(bytes) => match record::decode_record(id.0, &bytes) {
                    Ok(payload) => return Ok(payload.to_vec()),
                    Err(defect) => defect,
                },
                Err(len) => RecordDefect::Oversized(len),
            };
        tracing::error!(?id, %defect, "outbox record went bad; quarantining");
        self.quarantine(id, &defect)?;
        Err(OutboxError::Corrupt { id, defect })
    }

    /// Deletes an entry: call only once the broker acknowledged it (PUBACK).
    /// Returns false when it was already gone (a duplicate acknowledgement).
    pub fn remove(&mut self, id: EntryId) -> Result<bool, OutboxError> {
        let Some(meta) = self.entries.remove(&id) else {
            return Ok(false);
        };
        self.used_bytes -= meta.bytes;
        self.refresh_stats();
        let removed = match durable::remove_durable(&self.dir, &file_name(id)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(io_err(&self.dir)(e)),
        };
        self.forget_feedback_entry(meta);
        removed
    }

    /// True while an entry of feedback `id` is pending.
    pub fn holds_feedback(&self, id: Uuid) -> bool {
        self.by_feedback.contains_key(&id)
    }

    /// The capture drafts kept beside the outbox.
    pub fn drafts(&self) -> &Drafts {
        &self.drafts
    }

    /// Quarantined or evicted records not yet reported.
    pub fn unreported_losses(&self) -> &[LostRecord] {
        &self.unreported
    }

    /// One fewer pending entry of its feedback; at none, its kept audio
    /// source is deleted.
    fn forget_feedback_entry(&mut self, meta: EntryMeta) {
        let Some(feedback) = meta.feedback_id else {
            return;
        };
        if let Some(n) = self.by_feedback.get_mut(&feedback) {
            *n -= 1;
            if *n == 0 {
                self.by_feedback.remove(&feedback);
                if let Err(e) = self.drafts.remove_source(feedback) {
                    tracing::warn!(%feedback, error = %e, "could not delete a delivered capture's audio source");
                }
            }
        }
    }

    /// Deletes kept audio sources whose chunks all left the outbox while the
    /// agent was down.
    fn drop_orphan_sources(&mut self) {
        let Ok(sources) = self.drafts.sources() else {
            return;
        };
        let awaiting_resend: Vec<Uuid> = self
            .unreported
            .iter()
            .filter_map(|lost| lost.subject.feedback_id)
            .collect();
        for id in sources
            .into_iter()
            .filter(|id| !self.holds_feedback(*id) && !awaiting_resend.contains(id))
        {
            if let Err(e) = self.drafts.remove_source(id) {
                tracing::warn!(%id, error = %e, "could not delete an audio source no chunk needs");
            }
        }
    }

    /// Counters for status reports.
    pub fn stats(&self) -> OutboxStats {
        self.stats
    }

    /// Number of pending entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn quarantine(&mut self, id: EntryId, defect: &RecordDefect) -> Result<(), OutboxError> {
        let q = self.dir.join(QUARANTINE_DIR);
        durable::move_to_quarantine(&self.dir, &file_name(id), &q).map_err(io_err(&q))?;
        if let Some(meta) = self.entries.remove(&id) {
            self.used_bytes -= meta.bytes;
            self.unreported.push(LostRecord {
                subject: RecordSubject {
                    kind: Some(meta.kind),
                    feedback_id: meta.feedback_id,
                    chunk: meta.chunk,
                },
                reason: format!("outbox record {} went bad: {defect}", file_name(id)),
                cause: LossCause::Damaged,
            });
            // The source stays while the lost chunk may be made again from it.
            if let Some(feedback) = meta.feedback_id {
                if let Some(n) = self.by_feedback.get_mut(&feedback) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        self.stats.quarantined += 1;
        self.refresh_stats();
        Ok(())
    }

    fn refresh_stats(&mut self) {
        self.stats.entries = self.entries.len();
        self.stats.bytes = self.used_bytes;
    }
}
