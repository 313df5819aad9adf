//! Audio files on local disk: inline clips and chunks as they arrive, and the
//! reassembled clip once every chunk is in. Every write goes to a temporary
//! file of its own, is synced, and renamed into place, so a crash leaves
//! either nothing or a whole file, never half of one, and two writers of one
//! file never take each other's temporary file.
//!
//! Several messages of one chunked clip may be handled at once (the ingest
//! pipeline runs handlers concurrently, and after a restart the broker
//! redelivers the last chunk, the envelope, a chunk sent twice), and each of
//! them may find every chunk in and reassemble. So the chunk files of one
//! feedback are written and reassembled under a lock, and reassembly is
//! idempotent: the clip is written only once it is whole and checked, so an
//! existing clip means the work is done, and its chunks are gone or going.
//! Then a second reassembly returns the clip instead of reading chunk files
//! another one removed, and a chunk arriving after the clip is not written.

use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
};

use uuid::Uuid;

use qloop_protocol::{AudioPayload, AudioReassembly, Limits};

/// Errors writing or assembling audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// A filesystem operation failed.
    #[error("audio file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The chunks do not make the announced clip.
    #[error("audio of {0} cannot be reassembled: {1}")]
    Reassembly(Uuid, qloop_protocol::ValidationError),
    /// The bytes are not a whole 16-bit PCM WAV file.
    #[error("audio of {0} is refused: {1}")]
    NotWav(Uuid, String),
}

/// Locks serialising the chunk files of one feedback; a feedback takes the
/// lock its id falls on, so unrelated feedbacks rarely wait for each other.
const CHUNK_LOCKS: usize = 64;

/// The audio directory of a data directory. Clones share their locks: make
/// one per data directory and clone it.
#[derive(Debug, Clone)]
pub struct AudioFiles {
    dir: PathBuf,
    locks: Arc<[Mutex<()>; CHUNK_LOCKS]>,
}

impl AudioFiles {
    /// Uses `data_dir/audio`, creating it.
    pub fn new(data_dir: &Path) -> Result<Self, AudioError> {
        let dir = data_dir.join("audio");
        fs::create_dir_all(&dir).map_err(|source| AudioError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            locks: Arc::new(std::array::from_fn(|_| Mutex::new(()))),
        })
    }

    /// Runs `work` on a clone of this directory on a blocking thread: every
    /// method here reads or fsyncs files, so async code (the ingest
    /// handlers) calls them through this. A panic in `work` is resumed here.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, AudioError>
    where
        T: Send + 'static,
        F: FnOnce(&AudioFiles) -> Result<T, AudioError> + Send + 'static,
    {
        let files = self.clone();
        match tokio::task::spawn_blocking(move || work(&files)).await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(AudioError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other(e),
            }),
        }
    }

    /// Holds off other writers and assemblers of `feedback_id`'s chunks.
    /// Taken by synchronous code only, never across an `.await`.
    fn lock(&self, feedback_id: Uuid) -> MutexGuard<'_, ()> {
        let stripe = (feedback_id.as_u128() % CHUNK_LOCKS as u128) as usize;
        // A panic while holding it leaves no state behind the lock to distrust.
        self.locks[stripe].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The directory of a feedback's chunks.
    fn chunk_dir(&self, feedback_id: Uuid) -> PathBuf {
        self.dir.join(feedback_id.to_string())
    }

    /// The reassembled clip of `feedback_id` and its size, if it is written.
    fn assembled(&self, feedback_id: Uuid) -> Result<Option<(PathBuf, u64)>, AudioError> {
        let path = self.clip_path(feedback_id);
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some((path, meta.len()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AudioError::Io { path, source }),
        }
    }

    /// Path of a feedback's complete clip.
    pub fn clip_path(&self, feedback_id: Uuid) -> PathBuf {
        self.dir.join(format!("{feedback_id}.wav"))
    }

    /// Writes a complete clip durably and returns its path.
    pub fn write_clip(&self, feedback_id: Uuid, bytes: &[u8]) -> Result<PathBuf, AudioError> {
        let path = self.clip_path(feedback_id);
        write_durably(&path, bytes)?;
        Ok(path)
    }

    /// Writes one chunk durably and returns its path. Once the clip is
    /// reassembled a chunk (a redelivery) is not written again: its path is
    /// returned, and the chunk is already recorded.
    pub fn write_chunk(
        &self,
        feedback_id: Uuid,
        index: u32,
        bytes: &[u8],
    ) -> Result<PathBuf, AudioError> {
        let dir = self.chunk_dir(feedback_id);
        let path = dir.join(format!("chunk-{index:04}"));
        let _serial = self.lock(feedback_id);
        if self.assembled(feedback_id)?.is_some() {
            return Ok(path);
        }
        let written = fs::create_dir_all(&dir)
            .map_err(|source| AudioError::Io {
                path: dir.clone(),
                source,
            })
            .and_then(|()| write_durably(&path, bytes));
        match written {
            Ok(()) => Ok(path),
            // Another process on this directory reassembled the clip and
            // removed the chunks while this one was writing.
            Err(AudioError::Io { ref source, .. })
                if source.kind() == std::io::ErrorKind::NotFound
                    && self.assembled(feedback_id)?.is_some() =>
            {
                Ok(path)
            }
            Err(e) => Err(e),
        }
    }

    /// Joins the chunks at `paths`, checks length, CRC and WAV format, writes
    /// the clip, and removes the chunk files. When the clip is already
    /// written (by a concurrent or an earlier reassembly, perhaps one a
    /// crash cut short before its chunks were removed or its state stored),
    /// returns it and removes what is left of the chunks.
    pub fn assemble(
        &self,
        feedback_id: Uuid,
        payload: &AudioPayload,
        paths: &[(u32, String)],
        limits: &Limits,
    ) -> Result<(PathBuf, u64), AudioError> {
        let _serial = self.lock(feedback_id);
        let clip = match self.assembled(feedback_id)? {
            Some(clip) => clip,
            None => match self.reassemble(feedback_id, payload, paths, limits)? {
                Joined::Now(bytes) => (self.write_clip(feedback_id, &bytes)?, bytes.len() as u64),
                Joined::Before(clip) => clip,
            },
        };
        let _ = fs::remove_dir_all(self.chunk_dir(feedback_id));
        Ok(clip)
    }

    /// The checked clip from the chunks at `paths`, or the written clip when
    /// a chunk file is gone because a reassembly elsewhere (another process
    /// on this directory) finished meanwhile.
    fn reassemble(
        &self,
        feedback_id: Uuid,
        payload: &AudioPayload,
        paths: &[(u32, String)],
        limits: &Limits,
    ) -> Result<Joined, AudioError> {
        let mut reassembly = AudioReassembly::new(payload, limits.max_audio_bytes)
            .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        for (index, path) in paths {
            let data = match fs::read(path) {
                Ok(data) => data,
                Err(source) => {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        if let Some(clip) = self.assembled(feedback_id)? {
                            return Ok(Joined::Before(clip));
                        }
                    }
                    return Err(AudioError::Io {
                        path: path.into(),
                        source,
                    });
                }
            };
            reassembly
                .insert(*index, data)
                .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        }
        let bytes = reassembly
            .finish()
            .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        check_wav(feedback_id, &bytes)?;
        Ok(Joined::Now(bytes))
    }
}

/// What [`AudioFiles::reassemble`] found.
enum Joined {
    /// The clip, joined and checked now, to be written.
    Now(Vec<u8>),
    /// The clip written before, and its size.
    Before((PathBuf, u64)),
}

/// Checks that `bytes` is a 16-bit PCM WAV file with every sample its
/// header declares: the wire's WAV check ([`qloop_protocol::wav`]), the one
/// the car applies before sending.
pub fn check_wav(feedback_id: Uuid, bytes: &[u8]) -> Result<(), AudioError> {
    qloop_protocol::wav::check_wav(bytes)
        .map(|_| ())
        .map_err(|e| AudioError::NotWav(feedback_id, e.to_string()))
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    // A temporary file of this write's own: two writers of one file (a chunk
    // delivered twice at once) must not rename each other's away.
    let tmp = path.with_extension(format!("{}.tmp", Uuid::now_v7().simple()));
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        File::open(parent).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}
