//! Crash recovery on open: delete stray temp files, verify every record,
//! quarantine the bad ones, and find where the sequence continues.

use std::{collections::BTreeMap, fs, path::Path};

use super::{
    durable, io_err, quota::SEQ_FILE, record, EntryId, EntryMeta, LostRecord, OutboxError,
    QUARANTINE_DIR, RECORD_EXT,
};

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Valid records kept.
    pub entries: usize,
    /// Files moved to `quarantine/`.
    pub quarantined: usize,
    /// Temp files of interrupted writes deleted.
    pub temp_files_removed: usize,
    /// Files ignored because they are not outbox files.
    pub foreign_files: usize,
}

/// The result of scanning a directory.
pub(super) struct Scanned {
    pub entries: BTreeMap<EntryId, EntryMeta>,
    pub next_seq: u64,
    pub report: RecoveryReport,
    /// What the quarantined records held, to report to the cloud.
    pub lost: Vec<LostRecord>,
}

pub(super) fn scan(dir: &Path) -> Result<Scanned, OutboxError> {
    let mut report = RecoveryReport::default();
    let mut entries = BTreeMap::new();
    let mut lost = Vec::new();
    let mut highest = 0u64;
    let quarantine_dir = dir.join(QUARANTINE_DIR);
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        if name.ends_with(durable::TEMP_SUFFIX) {
            let path = dir.join(&name);
            fs::remove_file(&path).map_err(io_err(&path))?;
            tracing::warn!(file = %name, "outbox: removed temp file of an interrupted write");
            report.temp_files_removed += 1;
            continue;
        }
        if name == SEQ_FILE {
            continue;
        }
        let Some(seq) = name
            .strip_suffix(&format!(".{RECORD_EXT}"))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            tracing::warn!(file = %name, "outbox: ignoring a file that is not a record");
            report.foreign_files += 1;
            continue;
        };
        highest = highest.max(seq);
        let path = dir.join(&name);
        let (verdict, subject) = verify(&path, seq)?;
        match verdict {
            Ok(meta) => {
                entries.insert(EntryId(seq), meta);
            }
            Err(defect) => {
                let to = durable::move_to_quarantine(dir, &name, &quarantine_dir)
                    .map_err(io_err(&quarantine_dir))?;
                tracing::error!(file = %name, %defect, to = %to.display(), "outbox: quarantined a bad record");
                report.quarantined += 1;
                lost.push(LostRecord {
                    subject,
                    reason: format!("outbox record {name} unreadable: {defect}"),
                    cause: super::loss::LossCause::Damaged,
                });
            }
        }
    }
    durable::sync_dir(dir).map_err(io_err(dir))?;
    report.entries = entries.len();
    let leased = read_lease(dir);
    Ok(Scanned {
        entries,
        next_seq: leased.max(highest + 1).max(1),
        report,
        lost,
    })
}

/// Reads and checks the record `seq` at `path`: what the outbox keeps of
/// it, or its defect, and what its header says it held (for a loss report).
fn verify(
    path: &Path,
    seq: u64,
) -> Result<
    (
        Result<EntryMeta, record::RecordDefect>,
        record::RecordSubject,
    ),
    OutboxError,
> {
    let read = durable::read_bounded(path, record::MAX_RECORD_BYTES).map_err(io_err(path))?;
    Ok(match read {
        Ok(bytes) => (
            record::decode_record(seq, &bytes).map(|payload| {
                let subject = if bytes[4] == record::RECORD_VERSION {
                    record::describe(&bytes)
                } else {
                    record::RecordSubject::of_message(payload).unwrap_or_default()
                };
                EntryMeta {
                    kind: record::record_kind(&bytes).expect("valid record has a kind"),
                    bytes: bytes.len() as u64,
                    feedback_id: subject.feedback_id,
                    chunk: subject.chunk,
                }
            }),
            record::describe(&bytes),
        ),
        Err(len) => (
            Err(record::RecordDefect::Oversized(len)),
            record::RecordSubject::default(),
        ),
    })
}

/// The leased high-water mark, or 0 when absent or unreadable (the record
/// file names still bound the sequence from below).
fn read_lease(dir: &Path) -> u64 {
    match durable::read_bounded(&dir.join(SEQ_FILE), 32) {
        Ok(Ok(bytes)) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                tracing::warn!("outbox: unreadable {SEQ_FILE}; continuing after the newest record");
                0
            }),
        _ => 0,
    }
}
