//! Storing one feedback and opening its case, in one transaction.
//!
//! Idempotent on `feedback_id`: the feedback row is inserted first with
//! `ON CONFLICT (id) DO NOTHING`. When nothing was inserted the feedback is
//! already stored (a retry, or another worker won a race: on PostgreSQL the
//! second insert waits for the first transaction and then sees its row), and
//! the existing case is returned with no new event. Only the winner allocates
//! a case number, so duplicates never burn numbers.

use qloop_protocol::{AudioPayload, EventKind, FeedbackEnvelope, VehicleEvent};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use qloop_knowledge::linking::{LinkDecision, NewFeedback};

use super::{
    case_writes, linking,
    records::{AsrRecord, CaseMatch},
    rows::{to_bigint, vector_text, NullableDouble},
    Store, StoreError,
};
use crate::{
    domain::{
        texts, AsrStatus, AudioStatus, MatchKind, NotificationKind, Severity, TranscriptSource,
        Trigger,
    },
    policy::Policy,
};

pub use crate::domain::texts::{case_title, TITLE_CHARS, UNTITLED};

/// Facts about a feedback the envelope itself does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestMeta {
    /// When the cloud received it, Unix ms.
    pub received_at_ms: i64,
    /// Size of the message on the wire.
    pub envelope_bytes: usize,
    /// Where the audio stands.
    pub audio: AudioState,
    /// The cloud's speech recognition, when it ran. With status
    /// `transcribed` the envelope's utterance is the cloud's transcript.
    pub asr: Option<AsrRecord>,
}

/// Where a feedback's audio stands when the envelope is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioState {
    /// No usable audio.
    None,
    /// The inline clip is on disk.
    Stored {
        /// Where.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// The clip travels in chunks that have not all arrived.
    Pending {
        /// How many chunks.
        chunks: u32,
        /// Total bytes once reassembled.
        total_bytes: u32,
    },
}

/// What [`Store::ingest_feedback`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    /// The feedback.
    pub feedback_id: Uuid,
    /// Its case number.
    pub case_id: i64,
    /// False when the feedback was already stored.
    pub created: bool,
    /// When it joined an open case of the same issue: the similarity that decided.
    pub linked: Option<f32>,
    /// True when this feedback made its case an emerging issue.
    pub emerging: bool,
    /// The queued `Received` event for the car, when the feedback is new.
    pub event: Option<VehicleEvent>,
}

/// Triage's findings for a feedback, which decide its case.
#[derive(Debug, Clone, Copy)]
pub struct Triaged<'a> {
    /// Category, severity, confidence, model and embedding.
    pub assessment: &'a crate::triage::Assessment,
    /// Known issues and similar cases found for it.
    pub matches: &'a [CaseMatch],
    /// Linking, emerging and suggestion thresholds.
    pub policy: &'a Policy,
}

impl Store {
    /// Stores `env` and opens its case, or returns the case it already has.
    /// The caller acknowledges the MQTT message only after this returns `Ok`.
    /// The case runs on the store's policy ([`Store::set_policy`]).
    pub async fn ingest_feedback(
        &self,
        env: &FeedbackEnvelope,
        meta: &IngestMeta,
    ) -> Result<IngestOutcome, StoreError> {
        self.ingest_untriaged_feedback(env, meta, &self.policy())
            .await
    }

    /// [`Self::ingest_feedback`] without triage's findings (there is no
    /// model, or it failed): the case is `untriaged`/`unassessed`, and its
    /// SLA clocks run on `policy`'s targets and calendar.
    pub async fn ingest_untriaged_feedback(
        &self,
        env: &FeedbackEnvelope,
        meta: &IngestMeta,
        policy: &Policy,
    ) -> Result<IngestOutcome, StoreError> {
        self.ingest_with(env, meta, policy, None).await
    }

    /// [`Self::ingest_feedback`] with triage's findings. With an embedding,
    /// the feedback joins the most similar open case of its category and
    /// model within the policy's window (the case counts its occurrences,
    /// vehicles, software versions and first/last seen), or opens a new
    /// case whose suggested ICA and PCA come from the best known issue.
    /// Without triage the case is `untriaged`/`unassessed` and runs on the
    /// store's policy.
    pub async fn ingest_triaged_feedback(
        &self,
        env: &FeedbackEnvelope,
        meta: &IngestMeta,
        triage: Option<Triaged<'_>>,
    ) -> Result<IngestOutcome, StoreError> {
        match triage {
            Some(t) => self.ingest_with(env, meta, t.policy, Some(t)).await,
            None => self.ingest_feedback(env, meta).await,
        }
    }

    /// The one ingest transaction, under `policy`.
    async fn ingest_with(
        &self,
        env: &FeedbackEnvelope,
        meta: &IngestMeta,
        policy: &Policy,
        triage: Option<Triaged<'_>>,
    ) -> Result<IngestOutcome, StoreError> {
        let vector = triage
            .and_then(|t| t.assessment.vector.as_deref())
            .filter(|v| v.len() == linking::DIM);
        let (_gate, mut tx) = self.begin_write().await?;
        if !insert_feedback(&mut tx, env, meta, vector).await? {
            let case_id = existing_case(&mut tx, env.feedback_id).await?;
            tx.commit().await?;
            return Ok(IngestOutcome {
                feedback_id: env.feedback_id,
                case_id,
                created: false,
                linked: None,
                emerging: false,
                event: None,
            });
        }
        record_cut_short(&mut tx, env).await?;
        super::losses::mark_audio_incomplete_if_lost(&mut tx, env.feedback_id).await?;
        let now = meta.received_at_ms;
        let feedback_id = env.feedback_id.to_string();
        let family = linking::model_family(&env.vehicle.model);
        let decision = match (triage, vector) {
            (Some(t), Some(v)) if t.assessment.category != qloop_models::NEEDS_HUMAN_TRIAGE => {
                linking::lock_linking(&mut tx).await?;
                linking::find_case(
                    &mut tx,
                    t.policy,
                    &NewFeedback {
                        vector: v,
                        category: &t.assessment.category,
                        model_family: &family,
                        at_ms: env.captured_at_ms,
                    },
                )
                .await?
            }
            _ => LinkDecision::Open,
        };
        let (case_id, linked) = match decision {
            LinkDecision::Link {
                case_id,
                similarity,
            } => {
                link(&mut tx, env, case_id, similarity, vector, triage, now).await?;
                (case_id, Some(similarity))
            }
            LinkDecision::Open => (open_case(&mut tx, env, policy, triage, now).await?, None),
        };
        if let Some(t) = triage {
            linking::save_matches(&mut tx, case_id, t.matches, now).await?;
        }
        let emerging = match (triage, linked) {
            (Some(t), Some(_)) => {
                linking::check_emerging(&mut tx, t.policy, case_id, env.captured_at_ms, now).await?
            }
            _ => false,
        };
        let event = VehicleEvent {
            event_id: Uuid::now_v7(),
            feedback_id: Some(env.feedback_id),
            case_number: Some(case_id),
            kind: EventKind::Received,
            message: texts::received(case_id, linked.is_some()),
            sent_at_ms: now,
        };
        super::downlink::queue_event(&mut tx, &env.vehicle.vin, &event).await?;
        tx.commit().await?;
        tracing::debug!(%feedback_id, case = case_id, ?linked, "feedback committed");
        Ok(IngestOutcome {
            feedback_id: env.feedback_id,
            case_id,
            created: true,
            linked,
            emerging,
            event: Some(event),
        })
    }
}

/// Links the feedback to `case_id`: occurrence row, aggregates, centroid,
/// history, and escalation when the feedback is major and the case is not.
async fn link(
    tx: &mut Transaction<'static, Any>,
    env: &FeedbackEnvelope,
    case_id: i64,
    similarity: f32,
    vector: Option<&[f32]>,
    triage: Option<Triaged<'_>>,
    now: i64,
) -> Result<(), StoreError> {
    let feedback_id = env.feedback_id.to_string();
    attach(tx, &feedback_id, case_id, now).await?;
    case_writes::bump_updated(tx, case_id, now, None).await?;
    linking::refresh_aggregates(tx, case_id, false).await?;
    if let Some(v) = vector {
        linking::add_to_centroid(tx, case_id, v).await?;
    }
    case_writes::history(
        tx,
        case_id,
        now,
        "triage",
        "occurrence",
        None,
        Some(&format!(
            "feedback {feedback_id} from {} linked (similarity {similarity:.3})",
            env.vehicle.vin
        )),
    )
    .await?;
    if let Some(t) = triage.filter(|t| t.assessment.severity == Severity::Major.as_str()) {
        linking::escalate(
            tx,
            case_id,
            now,
            "triage",
            &format!(
                "a major report joined: {}",
                t.assessment.severity_reasons.join(", ")
            ),
            &t.policy.sla,
        )
        .await?;
    }
    Ok(())
}

/// Opens a new case for the feedback, with triage's findings and the best
/// known issue's containment and remedy as suggested ICA and PCA.
async fn open_case(
    tx: &mut Transaction<'static, Any>,
    env: &FeedbackEnvelope,
    policy: &Policy,
    triage: Option<Triaged<'_>>,
    now: i64,
) -> Result<i64, StoreError> {
    let assessment = triage.map(|t| t.assessment);
    let severity = match assessment {
        Some(a) => a.severity.parse::<Severity>()?,
        None => Severity::Unassessed,
    };
    let category = assessment.map_or(qloop_models::UNTRIAGED, |t| t.category.as_str());
    let case_id = case_writes::next_case_number(tx).await?;
    let title = case_title(env.transcript());
    sqlx::query(
        "INSERT INTO cases (id, status, category, severity, model_version, title, vehicle_count, \
         first_seen_ms, last_seen_ms, opened_at_ms, updated_at_ms, department, confidence) \
         VALUES ($1, 'new', $2, $3, $4, $5, 1, $6, $6, $7, $7, $8, $9)",
    )
    .bind(case_id)
    .bind(category)
    .bind(severity.as_str())
    .bind(assessment.map_or(qloop_models::NO_MODEL, |t| t.model_version.as_str()))
    .bind(&title)
    .bind(env.captured_at_ms)
    .bind(now)
    .bind(assessment.and_then(|t| t.department.clone()))
    .bind(NullableDouble(assessment.map(|t| t.confidence)))
    .execute(&mut **tx)
    .await?;
    let feedback_id = env.feedback_id.to_string();
    attach(tx, &feedback_id, case_id, now).await?;
    linking::refresh_aggregates(tx, case_id, true).await?;
    case_writes::history(
        tx,
        case_id,
        now,
        "system",
        "opened",
        None,
        Some(&format!(
            "case {case_id} opened from feedback {feedback_id}"
        )),
    )
    .await?;
    if let Some(t) = triage {
        suggest_fixes(tx, case_id, t, now).await?;
    }
    let targets = policy.sla.targets(severity, category);
    super::sla::start_clocks(tx, case_id, &targets, policy.sla.working_time(), now).await?;
    super::sla::stop_route_if_routed(tx, case_id, now).await?;
    if let Some(a) = assessment.filter(|_| severity.is_major()) {
        let reasons = a.severity_reasons.join(", ");
        super::sla::escalate_major(
            tx,
            case_id,
            "triage",
            &reasons,
            &format!("major on arrival ({reasons})"),
            now,
        )
        .await?;
    }
    case_writes::notify(
        tx,
        NotificationKind::CaseOpened,
        case_id,
        serde_json::json!({
            "case_id": case_id,
            "title": title,
            "category": assessment.map(|a| a.category.as_str()),
            "severity": assessment.map(|a| a.severity.as_str()),
            "vin": env.vehicle.vin,
        }),
        now,
    )
    .await?;
    Ok(case_id)
}

/// Suggests the most similar known issue's containment as ICA and remedy
/// as PCA (flagged `suggested` until an engineer accepts or replaces them).
pub(super) async fn suggest_fixes(
    tx: &mut Transaction<'static, Any>,
    case_id: i64,
    t: Triaged<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let min = f64::from(t.policy.matches.suggest_min_similarity);
    let best = t
        .matches
        .iter()
        .filter(|m| m.kind == MatchKind::KnownIssue)
        .filter(|m| m.containment.is_some() || m.remedy.is_some())
        .filter(|m| m.similarity.is_some_and(|s| s >= min))
        .max_by(|a, b| {
            a.similarity
                .unwrap_or(0.0)
                .total_cmp(&b.similarity.unwrap_or(0.0))
        });
    let Some(best) = best else {
        return Ok(());
    };
    let source = format!(
        "suggested from known issue {} (similarity {:.3})",
        best.doc_id,
        best.similarity.unwrap_or(0.0)
    );
    for (column, flag, value) in [
        ("ica_action", "ica_suggested", &best.containment),
        ("pca_action", "pca_suggested", &best.remedy),
    ] {
        let Some(value) = value else { continue };
        sqlx::query(&format!(
            "UPDATE cases SET {column} = $1, {flag} = 1 WHERE id = $2"
        ))
        .bind(value)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
        case_writes::history(
            tx,
            case_id,
            now,
            "triage",
            column,
            None,
            Some(&format!("{value} [{source}]")),
        )
        .await?;
    }
    Ok(())
}

/// Records that the feedback belongs to `case_id`.
async fn attach(
    tx: &mut Transaction<'static, Any>,
    feedback_id: &str,
    case_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE feedback SET case_id = $1 WHERE id = $2")
        .bind(case_id)
        .bind(feedback_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO case_feedback (feedback_id, case_id, linked_at_ms) VALUES ($1, $2, $3)",
    )
    .bind(feedback_id)
    .bind(case_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the feedback row; false when a row with its id already exists.
async fn insert_feedback(
    tx: &mut Transaction<'static, Any>,
    env: &FeedbackEnvelope,
    meta: &IngestMeta,
    vector: Option<&[f32]>,
) -> Result<bool, StoreError> {
    let software = serde_json::to_string(&env.vehicle.software)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let telemetry =
        serde_json::to_string(&env.telemetry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (audio_status, audio_path, audio_bytes, audio_chunks) = match &meta.audio {
        AudioState::None => (AudioStatus::NoAudio, None, None, None),
        AudioState::Stored { path, bytes } => (
            AudioStatus::Complete,
            Some(path.as_str()),
            Some(to_bigint(*bytes)),
            None,
        ),
        AudioState::Pending {
            chunks,
            total_bytes,
        } => (
            AudioStatus::Partial,
            None,
            Some(i64::from(*total_bytes)),
            Some(i64::from(*chunks)),
        ),
    };
    let clip = env.audio.as_ref();
    let asr = meta.asr.as_ref();
    let crc32 = match clip.map(|a| &a.payload) {
        Some(AudioPayload::Chunked { crc32, .. }) => Some(i64::from(*crc32)),
        _ => None,
    };
    let result = sqlx::query(
        "INSERT INTO feedback (id, vin, model, model_year, captured_at_ms, received_at_ms, trigger_kind, locale, \
         transcript, transcript_source, transcript_confidence, software_json, telemetry_json, consent_audio, \
         consent_location, audio_status, audio_path, audio_codec, audio_sample_rate, audio_channels, \
         audio_duration_ms, audio_bytes, audio_chunks, audio_crc32, envelope_bytes, case_id, vector, \
         asr_status, asr_model, asr_language, asr_ms, asr_error, head_unit_transcript, head_unit_confidence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, NULL, $26, $27, $28, $29, $30, $31, $32, $33) ON CONFLICT (id) DO NOTHING",
    )
    .bind(env.feedback_id.to_string())
    .bind(&env.vehicle.vin)
    .bind(&env.vehicle.model)
    .bind(i64::from(env.vehicle.year))
    .bind(env.captured_at_ms)
    .bind(meta.received_at_ms)
    .bind(Trigger::from(env.trigger).as_str())
    .bind(&env.locale)
    .bind(env.transcript())
    .bind(env.utterance.as_ref().map(|_| match asr {
        Some(a) if a.status == AsrStatus::Transcribed => TranscriptSource::CloudAsr.as_str(),
        _ => TranscriptSource::HeadUnit.as_str(),
    }))
    .bind(NullableDouble(
        env.utterance
            .as_ref()
            .and_then(|u| u.confidence)
            .map(f64::from),
    ))
    .bind(software)
    .bind(telemetry)
    .bind(i64::from(env.consent.audio))
    .bind(i64::from(env.consent.location))
    .bind(audio_status.as_str())
    .bind(audio_path)
    .bind(clip.map(|_| "wav"))
    .bind(clip.map(|a| i64::from(a.sample_rate)))
    .bind(clip.map(|a| i64::from(a.channels)))
    .bind(clip.map(|a| i64::from(a.duration_ms)))
    .bind(audio_bytes)
    .bind(audio_chunks)
    .bind(crc32)
    .bind(to_bigint(meta.envelope_bytes as u64))
    .bind(vector.map(vector_text))
    .bind(asr.map(|a| a.status.as_str()))
    .bind(asr.map(|a| a.model.as_str()))
    .bind(asr.and_then(|a| a.language.as_deref()))
    .bind(asr.map(|a| a.elapsed_ms))
    .bind(asr.and_then(|a| a.error.as_deref()))
    .bind(asr.and_then(|a| a.head_unit_transcript.as_deref()))
    .bind(NullableDouble(asr.and_then(|a| a.head_unit_confidence)))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records that the car completed this capture after a stop, so its
/// telemetry ends at the trigger.
async fn record_cut_short(
    tx: &mut Transaction<'static, Any>,
    env: &FeedbackEnvelope,
) -> Result<(), StoreError> {
    let Some(cut) = env.cut_short else {
        return Ok(());
    };
    sqlx::query("UPDATE feedback SET cut_short_reason = $1, cut_short_at_ms = $2 WHERE id = $3")
        .bind(cut.reason.as_str())
        .bind(cut.completed_at_ms)
        .bind(env.feedback_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The case of a feedback that is already stored.
async fn existing_case(
    tx: &mut Transaction<'static, Any>,
    feedback_id: Uuid,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT case_id FROM feedback WHERE id = $1")
        .bind(feedback_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "feedback {feedback_id} conflicted but is not stored"
            ))
        })?;
    row.try_get::<Option<i64>, _>("case_id")?.ok_or_else(|| {
        StoreError::Corrupt(format!("feedback {feedback_id} is stored without a case"))
    })
}
