//! Crash safety of the outbox: whatever a crash leaves on disk, reopening
//! keeps every valid entry, in order, and quarantines (never drops) the rest.

use std::{fs, path::Path};

use edge_agent::outbox::{EntryId, Outbox, OutboxError, QuotaRule, QUARANTINE_DIR};
use qloop_protocol::{encode, EventReceipt, Message};
use uuid::Uuid;

const QUOTA: u64 = 64 * 1024 * 1024;

fn receipt(n: u8) -> Vec<u8> {
    encode(&Message::Receipt(EventReceipt {
        vin: "5YJ3E1EA7KF317000".into(),
        event_id: Uuid::from_bytes([n; 16]),
        received_at_ms: 1_700_000_000_000 + n as i64,
    }))
}

fn open(dir: &Path) -> Outbox {
    Outbox::open(dir, QUOTA, QuotaRule::EvictAudioFirst)
        .unwrap()
        .0
}

fn record_path(dir: &Path, id: EntryId) -> std::path::PathBuf {
    dir.join(format!("{:020}.qlm", id.0))
}

fn quarantined(dir: &Path) -> usize {
    fs::read_dir(dir.join(QUARANTINE_DIR))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn entries_come_back_in_commit_order_with_their_bytes_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let ids: Vec<EntryId> = {
        let mut outbox = open(tmp.path());
        (0..5)
            .map(|n| outbox.commit(&receipt(n)).unwrap())
            .collect()
    };
    let mut outbox = open(tmp.path());
    let pending: Vec<EntryId> = outbox.pending().collect();
    assert_eq!(pending, ids);
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(outbox.read(*id).unwrap(), receipt(n as u8));
    }
}

#[test]
fn sequence_numbers_keep_growing_across_restarts_even_when_emptied() {
    let tmp = tempfile::tempdir().unwrap();
    let first = {
        let mut outbox = open(tmp.path());
        let id = outbox.commit(&receipt(1)).unwrap();
        assert!(outbox.remove(id).unwrap());
        assert!(!outbox.remove(id).unwrap(), "second removal is a no-op");
        id
    };
    let mut outbox = open(tmp.path());
    assert!(outbox.is_empty());
    let second = outbox.commit(&receipt(2)).unwrap();
    assert!(second > first, "{second:?} after {first:?}");
}

#[test]
fn leftover_temp_files_are_deleted_and_valid_entries_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let id = open(tmp.path()).commit(&receipt(1)).unwrap();
    let temp = tmp.path().join("00000000000000000099.qlm.tmp");
    fs::write(&temp, b"half a record").unwrap();
    let (outbox, report) = Outbox::open(tmp.path(), QUOTA, QuotaRule::Refuse).unwrap();
    assert_eq!(report.temp_files_removed, 1);
    assert!(!temp.exists());
    assert_eq!(outbox.pending().collect::<Vec<_>>(), vec![id]);
}

#[test]
fn truncated_and_bit_flipped_records_are_quarantined_not_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let ids: Vec<EntryId> = {
        let mut outbox = open(tmp.path());
        (0..4)
            .map(|n| outbox.commit(&receipt(n)).unwrap())
            .collect()
    };
    // A crash mid-write without the rename protocol would leave a short file.
    let truncated = fs::read(record_path(tmp.path(), ids[1])).unwrap();
    fs::write(
        record_path(tmp.path(), ids[1]),
        &truncated[..truncated.len() - 3],
    )
    .unwrap();
    // Bit rot in the payload.
    let mut flipped = fs::read(record_path(tmp.path(), ids[2])).unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    fs::write(record_path(tmp.path(), ids[2]), &flipped).unwrap();

    let (mut outbox, report) = Outbox::open(tmp.path(), QUOTA, QuotaRule::Refuse).unwrap();
    assert_eq!(report.quarantined, 2);
    assert_eq!(report.entries, 2);
    assert_eq!(quarantined(tmp.path()), 2, "both files kept for inspection");
    assert_eq!(outbox.stats().quarantined, 2);
    assert_eq!(outbox.pending().collect::<Vec<_>>(), vec![ids[0], ids[3]]);
    assert_eq!(outbox.read(ids[3]).unwrap(), receipt(3));
}

#[test]
fn a_record_corrupted_after_open_is_quarantined_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outbox = open(tmp.path());
    let id = outbox.commit(&receipt(7)).unwrap();
    fs::write(record_path(tmp.path(), id), b"QLOB garbage").unwrap();
    assert!(matches!(outbox.read(id), Err(OutboxError::Corrupt { .. })));
    assert!(outbox.is_empty());
    assert_eq!(quarantined(tmp.path()), 1);
}

#[test]
fn an_oversized_file_is_quarantined_without_being_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("00000000000000000005.qlm");
    let file = fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap(); // sparse 1 GiB: size is checked first
    let (outbox, report) = Outbox::open(tmp.path(), QUOTA, QuotaRule::Refuse).unwrap();
    assert_eq!(report.quarantined, 1);
    assert!(outbox.is_empty());
}

#[test]
fn bytes_that_are_not_qloop_messages_are_refused_at_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outbox = open(tmp.path());
    assert!(matches!(
        outbox.commit(b"hello"),
        Err(OutboxError::NotAMessage)
    ));
    assert!(outbox.is_empty());
}
