//! Cloud speech recognition at ingest: when a feedback brings the driver's
//! clip but no transcript from the head unit (or one below the policy's
//! confidence), the clip is transcribed with Whisper (`qloop-speech`) before
//! triage, so the case is titled, classified and linked from the driver's
//! words. The model is loaded on the first clip that needs it, not at start:
//! most feedback carries a transcript, and a service that never sees a clip
//! never pays for the model. A failed load is retried at most once a minute;
//! meanwhile clips are stored untranscribed with the reason.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use qloop_protocol::{AudioPayload, FeedbackEnvelope, Limits, Utterance};
use qloop_speech::{model_dir, ModelKind, TranscribeOptions, Transcriber};
use tokio::sync::OnceCell;

use crate::{domain::AsrStatus, policy::SpeechPolicy, store::AsrRecord};

/// How long a failed model load is remembered before it is tried again.
const RELOAD_AFTER: Duration = Duration::from_secs(60);

/// The cloud's transcriber, loaded on first use.
pub struct Asr {
    kind: ModelKind,
    retranscribe_below: f32,
    max_transcript_bytes: usize,
    model: OnceCell<Transcriber>,
    last_failure: Mutex<Option<(Instant, String)>>,
}

impl std::fmt::Debug for Asr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asr")
            .field("kind", &self.kind)
            .field("loaded", &self.model.initialized())
            .finish_non_exhaustive()
    }
}

impl Asr {
    /// The transcriber the policy asks for, or `None` when it is `off`.
    pub fn from_policy(policy: &SpeechPolicy, limits: &Limits) -> anyhow::Result<Option<Asr>> {
        Ok(policy.model_kind()?.map(|kind| Asr {
            kind,
            retranscribe_below: policy.retranscribe_below,
            max_transcript_bytes: limits.max_transcript_bytes,
            model: OnceCell::new(),
            last_failure: Mutex::new(None),
        }))
    }

    /// The model this transcriber runs.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Whether the cloud should transcribe the clip of a feedback whose head
    /// unit said `utterance`: none, blank, or below the policy's confidence.
    /// A transcript without a confidence is trusted.
    pub fn wants(&self, utterance: Option<&Utterance>) -> bool {
        needs_transcript(utterance, self.retranscribe_below)
    }

    /// The envelope's inline clip, when the cloud should transcribe it (see
    /// [`Self::wants`]).
    pub fn clip_to_transcribe<'a>(&self, env: &'a FeedbackEnvelope) -> Option<&'a [u8]> {
        let Some(AudioPayload::Inline(bytes)) = env.audio.as_ref().map(|a| &a.payload) else {
            return None;
        };
        needs_transcript(env.utterance.as_ref(), self.retranscribe_below)
            .then_some(bytes.as_slice())
    }

    /// Transcribes `wav` (the envelope's clip) and, when the cloud's text is
    /// better than the head unit's, makes it the envelope's utterance.
    /// Returns what happened, for the feedback's row; never fails, since the
    /// feedback counts with or without its words.
    pub async fn transcribe_into(&self, env: &mut FeedbackEnvelope, wav: Vec<u8>) -> AsrRecord {
        let (record, words) = self
            .transcribe_clip(wav, &env.locale, env.utterance.as_ref())
            .await;
        if let Some(words) = words {
            env.utterance = Some(words);
        }
        tracing::info!(feedback_id = %env.feedback_id, status = %record.status, model = %record.model,
            ms = record.elapsed_ms, error = ?record.error, "clip recognised");
        record
    }

    /// Transcribes a clip spoken in `locale`. Returns what happened and, when
    /// the cloud's words beat the head unit's (`head_unit`: none, blank, or
    /// less confident), those words.
    pub async fn transcribe_clip(
        &self,
        wav: Vec<u8>,
        locale: &str,
        head_unit: Option<&Utterance>,
    ) -> (AsrRecord, Option<Utterance>) {
        let started = Instant::now();
        let mut record = AsrRecord {
            status: AsrStatus::Failed,
            model: format!("whisper-{}", self.kind),
            language: None,
            elapsed_ms: 0,
            error: None,
            head_unit_transcript: None,
            head_unit_confidence: None,
        };
        let result = match self.transcriber().await {
            Ok(t) => {
                record.model = t.model_version().to_string();
                t.transcribe(wav, Some(locale.to_string()))
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        record.elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let transcript = match result {
            Ok(t) => t,
            Err(e) => {
                record.error = Some(e);
                return (record, None);
            }
        };
        record.language = Some(transcript.language.clone());
        let text = cut_to_bytes(transcript.text.trim(), self.max_transcript_bytes);
        if transcript.no_speech || text.is_empty() {
            record.status = AsrStatus::NoSpeech;
            return (record, None);
        }
        let cloud_confidence = transcript.confidence.unwrap_or(0.0);
        if let Some(u) = head_unit.filter(|u| !u.transcript.trim().is_empty()) {
            if u.confidence.unwrap_or(1.0) >= cloud_confidence {
                record.status = AsrStatus::KeptHeadUnit;
                return (record, None);
            }
            record.head_unit_transcript = Some(u.transcript.clone());
            record.head_unit_confidence = u.confidence.map(f64::from);
        }
        record.status = AsrStatus::Transcribed;
        let words = Utterance {
            transcript: text.to_string(),
            confidence: Some(cloud_confidence),
        };
        (record, Some(words))
    }

    /// The loaded model, loading (and fetching) it on first use.
    async fn transcriber(&self) -> Result<&Transcriber, String> {
        if let Some(t) = self.model.get() {
            return Ok(t);
        }
        {
            let failure = self.last_failure.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, reason)) = failure.as_ref() {
                if at.elapsed() < RELOAD_AFTER {
                    return Err(reason.clone());
                }
            }
        }
        let kind = self.kind;
        let loaded = self
            .model
            .get_or_try_init(|| async move {
                tracing::info!(model = %kind, "loading the speech model");
                tokio::task::spawn_blocking(move || {
                    let dir = model_dir(kind)?;
                    Transcriber::load(&dir, TranscribeOptions::default())
                })
                .await
                .map_err(|e| format!("loading the speech model: {e}"))?
                .map_err(|e| format!("loading the speech model {kind}: {e}"))
            })
            .await;
        if let Err(reason) = &loaded {
            tracing::error!(model = %kind, error = %reason, "speech model unavailable; clips stay untranscribed");
            *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((Instant::now(), reason.clone()));
        }
        loaded
    }
}

/// Whether the head unit's `utterance` leaves the words to the cloud: none,
/// blank, or rated below `threshold`. An unrated transcript is trusted.
fn needs_transcript(utterance: Option<&Utterance>, threshold: f32) -> bool {
    match utterance {
        None => true,
        Some(u) if u.transcript.trim().is_empty() => true,
        Some(u) => u.confidence.is_some_and(|c| c < threshold),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut_to_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transcript longer than the protocol allows is cut, never mid-character.
    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let text = "é".repeat(10);
        assert_eq!(cut_to_bytes(&text, 5), "éé");
        assert_eq!(cut_to_bytes(&text, 100), text);
        assert_eq!(cut_to_bytes("", 0), "");
    }

    /// Which transcripts the cloud redoes: missing, blank or unconfident;
    /// never a confident or unrated one. `off` builds no transcriber.
    #[test]
    fn only_missing_blank_or_unconfident_transcripts_are_redone() {
        let said = |transcript: &str, confidence: Option<f32>| Utterance {
            transcript: transcript.into(),
            confidence,
        };
        assert!(needs_transcript(None, 0.6));
        assert!(needs_transcript(Some(&said("   ", Some(0.99))), 0.6));
        assert!(needs_transcript(Some(&said("the brakes", Some(0.3))), 0.6));
        assert!(!needs_transcript(Some(&said("the brakes", Some(0.9))), 0.6));
        assert!(!needs_transcript(Some(&said("the brakes", None)), 0.6));
        let off = SpeechPolicy {
            model: "off".into(),
            ..SpeechPolicy::default()
        };
        assert!(Asr::from_policy(&off, &Limits::default())
            .unwrap()
            .is_none());
    }
}
