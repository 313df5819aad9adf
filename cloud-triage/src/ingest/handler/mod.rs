//! What happens to one uplink message. The caller acknowledges the MQTT
//! message when this returns `Ok` — including `Outcome::Rejected`, because a
//! message that can never be valid is recorded and must not be redelivered
//! forever. `Err` means a transient failure (the database is down): the
//! message is not acknowledged and is tried again.

use std::sync::Arc;

use tokio::sync::Notify;
use uuid::Uuid;

use qloop_protocol::{AudioPayload, FeedbackEnvelope, Limits, Message};

mod checks;
mod chunked;

use crate::{
    app::ingest::Triaged,
    audio::{check_wav, AudioError, AudioFiles},
    now_ms,
    store::{AudioState, IngestMeta, Store, StoreError},
};

/// A transient failure: retry, do not acknowledge.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Writing audio to disk failed.
    #[error("{0}")]
    Audio(#[from] AudioError),
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new feedback, stored with its new case.
    Stored {
        /// The feedback.
        feedback_id: Uuid,
        /// Its case number.
        case_id: i64,
    },
    /// A feedback already stored (a redelivery or a retry from the car).
    Duplicate {
        /// The feedback.
        feedback_id: Uuid,
    },
    /// An audio chunk, stored.
    Chunk {
        /// The feedback it belongs to.
        feedback_id: Uuid,
        /// Whether the clip is now complete.
        complete: bool,
    },
    /// A driver's satisfaction answer, recorded on its case.
    Satisfaction {
        /// The case.
        case_id: i64,
        /// Its status after the answer (`closed` or `reopened`).
        status: crate::domain::CaseStatus,
    },
    /// A car's receipt of a downlink event.
    Receipt {
        /// Whether the event was known.
        known: bool,
    },
    /// A car's report of an outbox record it lost.
    Loss {
        /// False when the same report came before.
        recorded: bool,
    },
    /// Invalid input, recorded in `rejected_messages` with this reason.
    Rejected(String),
}

/// Turns uplink messages into committed rows.
#[derive(Clone)]
pub struct IngestHandler {
    store: Store,
    audio: AudioFiles,
    limits: Limits,
    downlink_wake: Arc<Notify>,
    triage: Option<crate::triage::Triage>,
    asr: Option<Arc<crate::asr::Asr>>,
    knowledge: Option<(
        Arc<qloop_knowledge::KnowledgeIndex>,
        Arc<crate::knowledge::Vectors>,
    )>,
    policy: crate::policy::Policy,
}

impl IngestHandler {
    /// A handler over a store and an audio directory; `downlink_wake` is
    /// notified when a commit queued an event for a car.
    pub fn new(store: Store, audio: AudioFiles, downlink_wake: Arc<Notify>) -> Self {
        Self {
            store,
            audio,
            limits: Limits::default(),
            downlink_wake,
            triage: None,
            asr: None,
            knowledge: None,
            policy: crate::policy::Policy::default(),
        }
    }

    /// Classifies every new feedback with `triage` before it is committed.
    pub fn with_triage(mut self, triage: crate::triage::Triage) -> Self {
        self.triage = Some(triage);
        self
    }

    /// Transcribes clips that came without a transcript (or with a poor
    /// one) before triage, with `asr`.
    pub fn with_asr(mut self, asr: Arc<crate::asr::Asr>) -> Self {
        self.asr = Some(asr);
        self
    }

    /// Attaches known issues and similar cases from this index to each
    /// new feedback's case, and suggests fixes from them.
    pub fn with_knowledge(
        mut self,
        index: Arc<qloop_knowledge::KnowledgeIndex>,
        vectors: Arc<crate::knowledge::Vectors>,
    ) -> Self {
        self.knowledge = Some((index, vectors));
        self
    }

    /// Links, marks emerging issues and suggests fixes by `policy`.
    pub fn with_policy(mut self, policy: crate::policy::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Handles one message received on `topic`.
    pub async fn handle(&self, topic: &str, payload: &[u8]) -> Result<Outcome, IngestError> {
        let now = now_ms();
        match self.classify(topic, payload, now) {
            Ok(Message::Feedback(env)) => self.feedback(*env, payload.len(), now).await,
            Ok(Message::AudioChunk(chunk)) => self.chunk(chunk, now).await,
            Ok(Message::Satisfaction(reply)) => {
                self.satisfaction(topic, payload.len(), reply, now).await
            }
            Ok(Message::Receipt(receipt)) => {
                let known = self.store.record_receipt(&receipt).await?;
                Ok(Outcome::Receipt { known })
            }
            Ok(Message::Loss(report)) => {
                tracing::warn!(vin = %report.vin, feedback_id = ?report.feedback_id,
                    lost = report.lost.as_str(), resent = report.resent, reason = %report.reason,
                    "a car reports an outbox record it lost");
                let recorded = self.store.record_loss(&report, now).await?;
                Ok(Outcome::Loss { recorded })
            }
            Ok(Message::Event(_)) => {
                self.reject(
                    topic,
                    payload.len(),
                    "a downlink event sent uplink".into(),
                    now,
                )
                .await
            }
            Err(reason) => self.reject(topic, payload.len(), reason, now).await,
        }
    }

    async fn feedback(
        &self,
        mut env: FeedbackEnvelope,
        len: usize,
        now: i64,
    ) -> Result<Outcome, IngestError> {
        let audio = self.store_audio(&env).await?;
        // The driver's words before triage: the cloud transcribes a clip the
        // head unit did not (or did poorly). A redelivered duplicate is
        // transcribed again and then found stored; that costs time, not data.
        let asr = match (&self.asr, &audio) {
            (Some(asr), AudioState::Stored { .. }) => match asr.clip_to_transcribe(&env) {
                Some(wav) => {
                    let wav = wav.to_vec();
                    Some(asr.transcribe_into(&mut env, wav).await)
                }
                None => None,
            },
            _ => None,
        };
        let meta = IngestMeta {
            received_at_ms: now,
            envelope_bytes: len,
            audio,
            asr,
        };
        let assessment = self.assess(&env).await;
        let matches = self.knowledge_matches(assessment.as_ref(), env.transcript());
        let triaged = assessment.as_ref().map(|a| Triaged {
            assessment: a,
            matches: &matches,
            policy: &self.policy,
        });
        // Untriaged (no model, or it failed), the case still runs on the
        // policy's SLA targets and calendar.
        let outcome = match triaged {
            Some(t) => {
                self.store
                    .ingest_triaged_feedback(&env, &meta, Some(t))
                    .await?
            }
            None => {
                self.store
                    .ingest_untriaged_feedback(&env, &meta, &self.policy)
                    .await?
            }
        };
        if outcome.event.is_some() {
            self.downlink_wake.notify_one();
        }
        if let Some(AudioPayload::Chunked { .. }) = env.audio.as_ref().map(|a| &a.payload) {
            self.try_assemble(env.feedback_id).await?;
            self.transcribe_late(env.feedback_id, now).await?;
        }
        if outcome.created {
            tracing::info!(feedback_id = %env.feedback_id, case = outcome.case_id, vin = %env.vehicle.vin,
                linked = ?outcome.linked, emerging = outcome.emerging, "feedback stored");
            Ok(Outcome::Stored {
                feedback_id: env.feedback_id,
                case_id: outcome.case_id,
            })
        } else {
            tracing::debug!(feedback_id = %env.feedback_id, "duplicate feedback acknowledged");
            Ok(Outcome::Duplicate {
                feedback_id: env.feedback_id,
            })
        }
    }

    /// Stores an inline clip that is a valid WAV file (a bad one is dropped:
    /// the words and telemetry still count); a chunked clip is pending.
    async fn store_audio(&self, env: &FeedbackEnvelope) -> Result<AudioState, IngestError> {
        let state = match env.audio.as_ref().map(|a| &a.payload) {
            None => AudioState::None,
            Some(AudioPayload::Inline(bytes)) => match check_wav(env.feedback_id, bytes) {
                Ok(()) => {
                    let (id, clip) = (env.feedback_id, bytes.clone());
                    let path = self
                        .audio
                        .blocking(move |files| files.write_clip(id, &clip))
                        .await?;
                    AudioState::Stored {
                        path: path.display().to_string(),
                        bytes: bytes.len() as u64,
                    }
                }
                Err(e) => {
                    // The words and telemetry still count: keep the feedback, drop the clip.
                    tracing::warn!(feedback_id = %env.feedback_id, error = %e, "inline audio discarded");
                    AudioState::None
                }
            },
            Some(AudioPayload::Chunked {
                chunks,
                total_bytes,
                ..
            }) => AudioState::Pending {
                chunks: *chunks,
                total_bytes: *total_bytes,
            },
        };
        Ok(state)
    }

    /// Triage's assessment, or `None` when there is no model or it failed:
    /// the feedback still counts and is stored untriaged, visibly.
    async fn assess(&self, env: &FeedbackEnvelope) -> Option<crate::triage::Assessment> {
        let triage = self.triage.as_ref()?;
        match triage.assess(env).await {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(feedback_id = %env.feedback_id, error = %e, "triage failed; case stays untriaged");
                None
            }
        }
    }

    /// Records a driver's answer from the car. It must come from a car that
    /// reported the case, about a case awaiting it; anything else is
    /// recorded as rejected, with the reason.
    async fn satisfaction(
        &self,
        topic: &str,
        len: usize,
        reply: qloop_protocol::SatisfactionReply,
        now: i64,
    ) -> Result<Outcome, IngestError> {
        if !self
            .store
            .vehicle_reported_case(&reply.vin, reply.case_number)
            .await?
        {
            let reason = format!(
                "satisfaction from {} about case {}, which it did not report",
                reply.vin, reply.case_number
            );
            return self.reject(topic, len, reason, now).await;
        }
        let actor = format!("driver ({})", reply.vin);
        match self
            .store
            .record_satisfaction(
                reply.case_number,
                i64::from(reply.score),
                reply.comment.as_deref(),
                &actor,
                &self.policy,
                now,
            )
            .await
        {
            Ok(case) => Ok(Outcome::Satisfaction {
                case_id: reply.case_number,
                status: case.summary.status,
            }),
            Err(StoreError::Invalid(reason)) => self.reject(topic, len, reason, now).await,
            Err(StoreError::NotFound) => {
                self.reject(topic, len, format!("no case {}", reply.case_number), now)
                    .await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Known issues and similar cases for words triage embedded.
    fn knowledge_matches(
        &self,
        assessment: Option<&crate::triage::Assessment>,
        text: Option<&str>,
    ) -> Vec<crate::store::CaseMatch> {
        match (
            assessment.and_then(|a| a.vector.as_ref()),
            text,
            &self.knowledge,
        ) {
            (Some(v), Some(text), Some((index, vectors))) => {
                vectors.find_matches(index, text, v, &self.policy.matches)
            }
            _ => Vec::new(),
        }
    }
}
