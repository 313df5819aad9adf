//! Capture drafts: an accepted capture on disk before it is whole.
//!
//! The driver speaks, the agent answers `accepted`, and then waits the
//! post-trigger window (seconds) for the vehicle's reaction to be recorded.
//! A kill or a power cut in that window must not lose the words, so before
//! `accepted` is answered the capture is written here, durably, as a draft:
//! the envelope with the words, the whole clip inline and the pre-trigger
//! telemetry (`<feedback_id>.qld`, [`qloop_protocol::encode_draft`], with its
//! own CRC-32).
//!
//! A draft ends in one of two ways:
//! - the capture completes: its messages are committed to the outbox and the
//!   draft is deleted, or — when its clip travels as chunks — kept as
//!   `<feedback_id>.src`, the *source* from which a torn chunk record is made
//!   again, until the outbox holds no more entry of that feedback;
//! - the agent stopped first: on the next start the draft is completed with
//!   what it has, marked `cut_short`, and committed (see
//!   [`crate::capture::finish_drafts`]).
//!
//! A draft that is itself torn is quarantined under `drafts/quarantine/` and
//! reported to the cloud as a lost capture; its file name still says which
//! feedback it was.

use std::{
    fs,
    path::{Path, PathBuf},
};

use qloop_protocol::{
    chunk::CHUNK_DATA_BYTES, decode_draft, encode, encode_draft, split_audio, AudioPayload,
    FeedbackEnvelope, Message, MAX_DRAFT_BYTES,
};
use uuid::Uuid;

use super::durable;

/// Name of the drafts folder inside the outbox folder.
pub const DRAFTS_DIR: &str = "drafts";
/// Extension of a draft whose capture is not yet committed.
pub const PENDING_EXT: &str = "qld";
/// Extension of a committed capture kept as the source of its audio chunks.
pub const SOURCE_EXT: &str = "src";

/// The drafts folder.
#[derive(Debug, Clone)]
pub struct Drafts {
    dir: PathBuf,
}

impl Drafts {
    /// Opens (creating) the drafts folder inside `outbox_dir`.
    pub fn open(outbox_dir: &Path) -> std::io::Result<Self> {
        let dir = outbox_dir.join(DRAFTS_DIR);
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: Uuid, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    /// Writes the draft of an accepted capture, durably (temp file, fsync,
    /// rename, directory fsync). When this returns, a power cut keeps it.
    pub fn write(&self, envelope: &FeedbackEnvelope) -> std::io::Result<()> {
        let name = format!("{}.{PENDING_EXT}", envelope.feedback_id);
        durable::write_atomic(&self.dir, &name, &encode_draft(envelope))
    }

    /// Reads a pending draft: the envelope, or why it is unusable.
    pub fn read(&self, id: Uuid) -> std::io::Result<Result<FeedbackEnvelope, String>> {
        read_draft(&self.path(id, PENDING_EXT))
    }

    /// The capture is committed: delete its draft.
    pub fn remove(&self, id: Uuid) -> std::io::Result<()> {
        remove_if_present(&self.dir, &format!("{id}.{PENDING_EXT}"))
    }

    /// The capture is committed and its clip travels as chunks: keep the
    /// draft as the chunks' source.
    pub fn keep_as_source(&self, id: Uuid) -> std::io::Result<()> {
        fs::rename(self.path(id, PENDING_EXT), self.path(id, SOURCE_EXT))?;
        durable::sync_dir(&self.dir)
    }

    /// Every chunk of the feedback left the outbox: its source can go.
    pub fn remove_source(&self, id: Uuid) -> std::io::Result<()> {
        remove_if_present(&self.dir, &format!("{id}.{SOURCE_EXT}"))
    }

    /// Feedback ids of pending drafts, oldest first (UUIDv7 sorts by time).
    pub fn pending(&self) -> std::io::Result<Vec<Uuid>> {
        self.ids_with(PENDING_EXT)
    }

    /// Feedback ids of kept sources.
    pub fn sources(&self) -> std::io::Result<Vec<Uuid>> {
        self.ids_with(SOURCE_EXT)
    }

    fn ids_with(&self, ext: &str) -> std::io::Result<Vec<Uuid>> {
        let suffix = format!(".{ext}");
        let mut ids: Vec<Uuid> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|name| Uuid::parse_str(name.strip_suffix(&suffix)?).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Moves an unusable pending draft to `drafts/quarantine/`.
    pub fn quarantine(&self, id: Uuid) -> std::io::Result<PathBuf> {
        durable::move_to_quarantine(
            &self.dir,
            &format!("{id}.{PENDING_EXT}"),
            &self.dir.join(super::QUARANTINE_DIR),
        )
    }

    /// Makes audio chunk `index` of feedback `id` again from its kept source:
    /// the encoded message, byte for byte what the capture committed, or
    /// `None` when there is no usable source.
    pub fn chunk_from_source(&self, id: Uuid, index: u32) -> Option<Vec<u8>> {
        let envelope = match read_draft(&self.path(id, SOURCE_EXT)) {
            Ok(Ok(envelope)) => envelope,
            Ok(Err(defect)) => {
                tracing::warn!(%id, %defect, "audio source unusable; the chunk cannot be resent");
                return None;
            }
            Err(_) => return None,
        };
        let AudioPayload::Inline(bytes) = &envelope.audio?.payload else {
            return None;
        };
        let (_, chunks) = split_audio(id, &envelope.vehicle.vin, bytes, CHUNK_DATA_BYTES);
        let chunk = chunks.into_iter().find(|c| c.index == index)?;
        Some(encode(&Message::AudioChunk(chunk)))
    }
}

fn read_draft(path: &Path) -> std::io::Result<Result<FeedbackEnvelope, String>> {
    Ok(match durable::read_bounded(path, MAX_DRAFT_BYTES)? {
        Ok(bytes) => decode_draft(&bytes).map_err(|e| e.to_string()),
        Err(len) => Err(format!("draft of {len} bytes is larger than any draft")),
    })
}

fn remove_if_present(dir: &Path, name: &str) -> std::io::Result<()> {
    match durable::remove_durable(dir, name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
