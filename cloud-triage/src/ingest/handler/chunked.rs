//! Clips that travel in chunks: storing each chunk, assembling the clip once
//! its envelope and every chunk are in, and transcribing it then (the case
//! it opened untriaged is triaged from the words and merged into the open
//! case of its issue).

use qloop_protocol::{AudioChunk, AudioPayload, TelemetrySnapshot, Utterance};
use uuid::Uuid;

use super::{IngestError, IngestHandler, Outcome};
use crate::{
    app::{ingest::Triaged, late_transcript::LateTranscript},
    audio::AudioError,
    store::StoreError,
};

impl IngestHandler {
    /// Stores one audio chunk, assembles the clip when it is whole, and
    /// transcribes it then.
    pub(super) async fn chunk(&self, chunk: AudioChunk, now: i64) -> Result<Outcome, IngestError> {
        let (id, index, len) = (chunk.feedback_id, chunk.index, chunk.data.len() as u64);
        let data = chunk.data;
        let path = self
            .audio
            .blocking(move |files| files.write_chunk(id, index, &data))
            .await?;
        self.store
            .record_audio_chunk(
                chunk.feedback_id,
                chunk.index,
                chunk.total,
                &path.display().to_string(),
                len,
                now,
            )
            .await?;
        let complete = self.try_assemble(chunk.feedback_id).await?;
        self.transcribe_late(chunk.feedback_id, now).await?;
        Ok(Outcome::Chunk {
            feedback_id: chunk.feedback_id,
            complete,
        })
    }

    /// Transcribes a clip that came in chunks once it is whole (and its
    /// envelope stored), then triages the feedback's case from the words
    /// and merges it into an open case of the same issue. Called for every
    /// chunk and envelope of such a clip: the store records recognition once
    /// per feedback, so a redelivered message after a crash finishes the
    /// work and a second delivery does nothing.
    pub(super) async fn transcribe_late(
        &self,
        feedback_id: Uuid,
        now: i64,
    ) -> Result<(), IngestError> {
        let Some(asr) = &self.asr else {
            return Ok(());
        };
        let Some(fb) = self.store.get_feedback(feedback_id).await? else {
            return Ok(());
        };
        let head_unit = fb.transcript.clone().map(|transcript| Utterance {
            transcript,
            confidence: fb.transcript_confidence.map(|c| c as f32),
        });
        let (true, None, Some(path)) = (
            fb.audio.status == crate::domain::AudioStatus::Complete
                && asr.wants(head_unit.as_ref()),
            &fb.asr,
            fb.audio.path.as_deref(),
        ) else {
            return Ok(());
        };
        let wav = tokio::fs::read(path)
            .await
            .map_err(|source| AudioError::Io {
                path: path.into(),
                source,
            })?;
        let (record, words) = asr
            .transcribe_clip(wav, &fb.locale, head_unit.as_ref())
            .await;
        tracing::info!(%feedback_id, status = %record.status, model = %record.model,
            ms = record.elapsed_ms, error = ?record.error, "chunked clip recognised");
        let assessment = match &words {
            Some(w) => {
                self.assess_words(feedback_id, &w.transcript, &fb.telemetry)
                    .await
            }
            None => None,
        };
        let matches = self.knowledge_matches(
            assessment.as_ref(),
            words.as_ref().map(|w| w.transcript.as_str()),
        );
        let late = LateTranscript {
            feedback_id,
            asr: &record,
            text: words.as_ref().map_or("", |w| w.transcript.as_str()),
            confidence: words
                .as_ref()
                .and_then(|w| w.confidence)
                .map_or(0.0, f64::from),
        };
        let triaged = assessment.as_ref().map(|a| Triaged {
            assessment: a,
            matches: &matches,
            policy: &self.policy,
        });
        let Some(outcome) = self.store.apply_late_transcript(late, triaged, now).await? else {
            return Ok(());
        };
        if let Some((into, similarity)) = outcome.same_issue_as {
            self.merge_same_issue(feedback_id, outcome.case_id, into, similarity, now)
                .await?;
        }
        Ok(())
    }

    /// Triage of the words the cloud heard, with the stored telemetry;
    /// `None` when there is no model or it failed (logged).
    async fn assess_words(
        &self,
        feedback_id: Uuid,
        transcript: &str,
        telemetry: &serde_json::Value,
    ) -> Option<crate::triage::Assessment> {
        let triage = self.triage.as_ref()?;
        let telemetry: TelemetrySnapshot =
            serde_json::from_value(telemetry.clone()).unwrap_or_default();
        match triage.assess_words(transcript, &telemetry).await {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(%feedback_id, error = %e, "triage of the transcript failed");
                None
            }
        }
    }

    /// Merges a case the late words triaged into the open case of the same
    /// issue; a merge the rules refuse is logged, not retried.
    async fn merge_same_issue(
        &self,
        feedback_id: Uuid,
        case_id: i64,
        into: i64,
        similarity: f32,
        now: i64,
    ) -> Result<(), IngestError> {
        match self.store.merge_cases(case_id, into, "triage", now).await {
            Ok(()) => tracing::info!(%feedback_id, case = case_id, into, similarity,
                "case merged into the open case of the same issue once transcribed"),
            Err(StoreError::Invalid(reason) | StoreError::Conflict(reason)) => {
                tracing::warn!(%feedback_id, case = case_id, into, %reason, "not merged")
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Assembles a feedback's clip once its envelope and every chunk are in.
    pub(super) async fn try_assemble(&self, feedback_id: Uuid) -> Result<bool, IngestError> {
        let Some((chunks, total_bytes)) = self.store.audio_expected(feedback_id).await? else {
            return Ok(false);
        };
        let paths = self.store.audio_chunk_paths(feedback_id).await?;
        if (paths.len() as u32) < chunks {
            return Ok(false);
        }
        let crc32 = self
            .store
            .audio_crc32(feedback_id)
            .await?
            .unwrap_or_default();
        let payload = AudioPayload::Chunked {
            chunks,
            total_bytes,
            crc32,
        };
        let limits = self.limits.clone();
        let assembled = self
            .audio
            .blocking(move |files| files.assemble(feedback_id, &payload, &paths, &limits))
            .await;
        match assembled {
            Ok((path, bytes)) => {
                self.store
                    .set_audio(
                        feedback_id,
                        "complete",
                        Some(&path.display().to_string()),
                        Some(bytes),
                    )
                    .await?;
                Ok(true)
            }
            Err(AudioError::Io { path, source }) => Err(AudioError::Io { path, source }.into()),
            Err(e) => {
                tracing::warn!(%feedback_id, error = %e, "audio marked corrupt");
                self.store
                    .set_audio(feedback_id, "corrupt", None, None)
                    .await?;
                Ok(false)
            }
        }
    }
}
