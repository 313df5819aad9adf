//! Durable file operations: atomic create (temp file, `sync_all`, rename,
//! directory fsync), durable delete, and quarantine moves.
//!
//! uplink's `storage.rs` writes segments in place without fsync; here a
//! record is either wholly present under its final name or not at all, and
//! its directory entry survives power loss once `write_atomic` returns.

use std::{
    fs::{self, File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
};

/// Suffix of files being written; leftovers are deleted on open.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `dir/name` atomically and durably.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, dir.join(name))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        // Best effort: a leftover temp file is also removed on the next open.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes `dir/name` and makes the removal durable.
pub fn remove_durable(dir: &Path, name: &str) -> std::io::Result<()> {
    fs::remove_file(dir.join(name))?;
    sync_dir(dir)
}

/// Moves `dir/name` into `quarantine_dir`, never overwriting an earlier
/// quarantined file; returns the new path.
pub fn move_to_quarantine(
    dir: &Path,
    name: &str,
    quarantine_dir: &Path,
) -> std::io::Result<PathBuf> {
    fs::create_dir_all(quarantine_dir)?;
    let mut target = quarantine_dir.join(name);
    let mut n = 1;
    while target.exists() {
        target = quarantine_dir.join(format!("{name}.{n}"));
        n += 1;
    }
    fs::rename(dir.join(name), &target)?;
    sync_dir(quarantine_dir)?;
    sync_dir(dir)?;
    Ok(target)
}

/// fsyncs a directory so renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads a file of at most `max` bytes; larger files are reported by size
/// without being read, so a corrupt giant never becomes an allocation.
pub fn read_bounded(path: &Path, max: usize) -> std::io::Result<Result<Vec<u8>, u64>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > max as u64 {
        return Ok(Err(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // `take` bounds the read even if the file grew after the size check.
    file.take(max as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Ok(Err(bytes.len() as u64));
    }
    Ok(Ok(bytes))
}
