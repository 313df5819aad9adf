//! What can go wrong in the outbox.

use std::path::PathBuf;

use thiserror::Error;

use super::{EntryId, QuotaRule, RecordDefect};

/// Errors of the outbox layer.
#[derive(Debug, Error)]
pub enum OutboxError {
    /// A file operation failed.
    #[error("outbox I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The bytes are not an encoded qloop message.
    #[error("not a qloop message (bad header)")]
    NotAMessage,
    /// One message over the broker limit.
    #[error("message of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The batch does not fit under the quota by the configured rule.
    #[error("outbox full: {needed} bytes needed, {used} of {quota} used ({rule:?})")]
    QuotaExceeded {
        /// Bytes the batch needs.
        needed: u64,
        /// Bytes in use.
        used: u64,
        /// The quota.
        quota: u64,
        /// The rule applied.
        rule: QuotaRule,
    },
    /// No entry with that id.
    #[error("no outbox entry {0:?}")]
    Missing(EntryId),
    /// A record went bad after open; it was quarantined.
    #[error("outbox entry {id:?} was corrupt ({defect}) and is quarantined")]
    Corrupt {
        /// The entry.
        id: EntryId,
        /// What was wrong.
        defect: RecordDefect,
    },
}
