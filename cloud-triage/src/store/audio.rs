//! Bookkeeping for audio that arrives in chunks.
//!
//! Chunks may arrive before or after their envelope and more than once; each
//! is recorded once by `(feedback_id, idx)`. The envelope stores how many
//! chunks and bytes to expect and the CRC-32 of the whole clip; once every
//! chunk is in, `crate::ingest` reassembles the clip and calls
//! [`Store::set_audio`].

use sqlx::Row;
use uuid::Uuid;

use super::{rows::to_bigint, Store, StoreError};
use crate::domain::AudioStatus;

impl Store {
    /// Records chunk `index` of `total` for `feedback_id`, stored at `path`. A repeat is ignored.
    pub async fn record_audio_chunk(
        &self,
        feedback_id: Uuid,
        index: u32,
        total: u32,
        path: &str,
        bytes: u64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audio_chunks (feedback_id, idx, total, path, bytes, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (feedback_id, idx) DO NOTHING",
        )
        .bind(feedback_id.to_string())
        .bind(i64::from(index))
        .bind(i64::from(total))
        .bind(path)
        .bind(to_bigint(bytes))
        .bind(at_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The recorded chunks of `feedback_id` as `(index, path)`, in index order.
    pub async fn audio_chunk_paths(
        &self,
        feedback_id: Uuid,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT idx, path FROM audio_chunks WHERE feedback_id = $1 ORDER BY idx")
                .bind(feedback_id.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                let idx: i64 = row.try_get("idx")?;
                let idx = u32::try_from(idx)
                    .map_err(|_| StoreError::Corrupt(format!("audio chunk index {idx}")))?;
                Ok((idx, row.try_get("path")?))
            })
            .collect()
    }

    /// Sets the audio state of `feedback_id` (an [`AudioStatus`] by its text)
    /// with the clip's path and size.
    pub async fn set_audio(
        &self,
        feedback_id: Uuid,
        status: &str,
        path: Option<&str>,
        bytes: Option<u64>,
    ) -> Result<(), StoreError> {
        let status: AudioStatus = status
            .parse()
            .map_err(|e: crate::domain::UnknownValue| StoreError::Conflict(e.to_string()))?;
        let result = sqlx::query("UPDATE feedback SET audio_status = $1, audio_path = $2, audio_bytes = COALESCE($3, audio_bytes) WHERE id = $4")
            .bind(status.as_str())
            .bind(path)
            .bind(bytes.map(to_bigint))
            .bind(feedback_id.to_string())
            .execute(self.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// `(chunks, total_bytes)` still expected for `feedback_id`: `None` unless
    /// its envelope is stored and its audio is `partial`.
    pub async fn audio_expected(
        &self,
        feedback_id: Uuid,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        let row = sqlx::query("SELECT audio_chunks, audio_bytes FROM feedback WHERE id = $1 AND audio_status = 'partial'")
            .bind(feedback_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let chunks: Option<i64> = row.try_get("audio_chunks")?;
        let bytes: Option<i64> = row.try_get("audio_bytes")?;
        match (chunks.map(u32::try_from), bytes.map(u32::try_from)) {
            (Some(Ok(chunks)), Some(Ok(bytes))) => Ok(Some((chunks, bytes))),
            _ => Err(StoreError::Corrupt(format!(
                "feedback {feedback_id} has partial audio without chunk counts"
            ))),
        }
    }

    /// The CRC-32 the envelope gave for the whole chunked clip of `feedback_id`.
    pub async fn audio_crc32(&self, feedback_id: Uuid) -> Result<Option<u32>, StoreError> {
        let row = sqlx::query("SELECT audio_crc32 FROM feedback WHERE id = $1")
            .bind(feedback_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let crc: Option<i64> = row.try_get("audio_crc32")?;
        crc.map(|c| u32::try_from(c).map_err(|_| StoreError::Corrupt(format!("audio crc32 {c}"))))
            .transpose()
    }
}
