//! Audio files on local disk: inline clips and chunks as they arrive, and the
//! reassembled clip once every chunk is in. Every write goes to a temporary
//! file, is synced, and renamed into place, so a crash leaves either nothing
//! or a whole file, never half of one.

use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
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
    /// The bytes are not a 16-bit PCM WAV file.
    #[error("audio of {0} is not a valid WAV file: {1}")]
    NotWav(Uuid, String),
}

/// The audio directory of a data directory.
#[derive(Debug, Clone)]
pub struct AudioFiles {
    dir: PathBuf,
}

impl AudioFiles {
    /// Uses `data_dir/audio`, creating it.
    pub fn new(data_dir: &Path) -> Result<Self, AudioError> {
        let dir = data_dir.join("audio");
        fs::create_dir_all(&dir).map_err(|source| AudioError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
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

    /// Writes one chunk durably and returns its path.
    pub fn write_chunk(
        &self,
        feedback_id: Uuid,
        index: u32,
        bytes: &[u8],
    ) -> Result<PathBuf, AudioError> {
        let dir = self.dir.join(feedback_id.to_string());
        fs::create_dir_all(&dir).map_err(|source| AudioError::Io {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(format!("chunk-{index:04}"));
        write_durably(&path, bytes)?;
        Ok(path)
    }

    /// Joins the chunks at `paths`, checks length, CRC and WAV format, writes
    /// the clip, and removes the chunk files.
    pub fn assemble(
        &self,
        feedback_id: Uuid,
        payload: &AudioPayload,
        paths: &[(u32, String)],
        limits: &Limits,
    ) -> Result<(PathBuf, u64), AudioError> {
        let mut reassembly = AudioReassembly::new(payload, limits.max_audio_bytes)
            .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        for (index, path) in paths {
            let data = fs::read(path).map_err(|source| AudioError::Io {
                path: path.into(),
                source,
            })?;
            reassembly
                .insert(*index, data)
                .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        }
        let bytes = reassembly
            .finish()
            .map_err(|e| AudioError::Reassembly(feedback_id, e))?;
        check_wav(feedback_id, &bytes)?;
        let path = self.write_clip(feedback_id, &bytes)?;
        let _ = fs::remove_dir_all(self.dir.join(feedback_id.to_string()));
        Ok((path, bytes.len() as u64))
    }
}

/// Checks that `bytes` is a 16-bit PCM WAV file whose data fits its length.
pub fn check_wav(feedback_id: Uuid, bytes: &[u8]) -> Result<(), AudioError> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| AudioError::NotWav(feedback_id, e.to_string()))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(AudioError::NotWav(
            feedback_id,
            format!(
                "{:?} {}-bit samples",
                spec.sample_format, spec.bits_per_sample
            ),
        ));
    }
    let declared = reader.len() as u64 * 2;
    if declared > bytes.len() as u64 {
        return Err(AudioError::NotWav(
            feedback_id,
            "data chunk longer than the file".into(),
        ));
    }
    Ok(())
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        File::open(parent).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}
