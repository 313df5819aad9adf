//! Ingest: store one feedback and open or join its case, in one transaction.
//!
//! Idempotent on `feedback_id` (see [`crate::store::ingest`]): a feedback
//! already stored returns its case with no new event, and only the winner
//! of a race allocates a case number. With triage's embedding the feedback
//! joins the most similar open case of its issue (`decide` judges the
//! store's candidates) or opens a new case whose suggested ICA and PCA come
//! from the best known issue. A major report escalates its case on the one
//! path every change of severity takes ([`crate::store::reassessment`]).

use qloop_knowledge::linking::{LinkDecision, NewFeedback};
use qloop_protocol::{EventKind, FeedbackEnvelope, VehicleEvent};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::fleet;
use crate::{
    domain::{
        escalation,
        fleet::{aggregates::Report, may_link, model_family, DIM},
        hazard::{self, major_detail},
        texts::{self, case_title},
        NotificationKind, Severity,
    },
    policy::Policy,
    store::{
        case_writes, downlink,
        hazard::keep as keep_hazard,
        ingest::{self as rows, IngestMeta, NewCase},
        linking, losses,
        reassessment::{self, Why},
        sla, CaseMatch, Store, StoreError,
    },
};

type Tx = Transaction<'static, Any>;

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
        ingest(self, env, meta, policy, None).await
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
            Some(t) => ingest(self, env, meta, t.policy, Some(t)).await,
            None => self.ingest_feedback(env, meta).await,
        }
    }
}

/// The one ingest transaction, under `policy`.
async fn ingest(
    store: &Store,
    env: &FeedbackEnvelope,
    meta: &IngestMeta,
    policy: &Policy,
    triage: Option<Triaged<'_>>,
) -> Result<IngestOutcome, StoreError> {
    let vector = triage
        .and_then(|t| t.assessment.vector.as_deref())
        .filter(|v| v.len() == DIM);
    let (_gate, mut tx) = store.begin_write().await?;
    let mut outcome = IngestOutcome {
        feedback_id: env.feedback_id,
        case_id: 0,
        created: false,
        linked: None,
        emerging: false,
        event: None,
    };
    if !rows::insert_feedback(&mut tx, env, meta, vector).await? {
        outcome.case_id = rows::existing_case(&mut tx, env.feedback_id).await?;
        tx.commit().await?;
        return Ok(outcome);
    }
    rows::record_cut_short(&mut tx, env).await?;
    losses::mark_audio_incomplete_if_lost(&mut tx, env.feedback_id).await?;
    let now = meta.received_at_ms;
    let decision = match (triage, vector) {
        (Some(t), Some(v)) if may_link(&t.assessment.category) => {
            linking::lock_linking(&mut tx).await?;
            let family = model_family(&env.vehicle.model);
            let new = NewFeedback {
                vector: v,
                category: &t.assessment.category,
                model_family: &family,
                at_ms: env.captured_at_ms,
            };
            fleet::find_case(&mut tx, t.policy, &new).await?
        }
        _ => LinkDecision::Open,
    };
    let mut reports = None;
    (outcome.case_id, outcome.linked) = match (decision, triage) {
        (
            LinkDecision::Link {
                case_id,
                similarity,
            },
            Some(t),
        ) => {
            let joined = Joined {
                case_id,
                similarity,
            };
            reports = Some(link(&mut tx, env, joined, vector, t, now).await?);
            (case_id, Some(similarity))
        }
        _ => (open_case(&mut tx, env, policy, triage, now).await?, None),
    };
    let case_id = outcome.case_id;
    if let Some(t) = triage {
        linking::save_matches(&mut tx, case_id, t.matches, now).await?;
        if let Some(reports) = &reports {
            outcome.emerging =
                fleet::check_emerging(&mut tx, t.policy, case_id, reports, env.captured_at_ms, now)
                    .await?;
        }
    }
    let event = queue_receipt(&mut tx, env, case_id, outcome.linked.is_some(), now).await?;
    tx.commit().await?;
    tracing::debug!(feedback_id = %env.feedback_id, case = case_id, linked = ?outcome.linked, "feedback committed");
    outcome.created = true;
    outcome.event = Some(event);
    Ok(outcome)
}

/// Queues the car's receipt for a new feedback: its case number, and
/// whether it joined a case engineers already work on.
async fn queue_receipt(
    tx: &mut Tx,
    env: &FeedbackEnvelope,
    case_id: i64,
    joined: bool,
    now: i64,
) -> Result<VehicleEvent, StoreError> {
    let event = VehicleEvent {
        event_id: Uuid::now_v7(),
        feedback_id: Some(env.feedback_id),
        case_number: Some(case_id),
        kind: EventKind::Received,
        message: texts::received(case_id, joined),
        sent_at_ms: now,
    };
    downlink::queue_event(tx, &env.vehicle.vin, &event).await?;
    Ok(event)
}

/// The open case a feedback joins, and how similar it is.
#[derive(Debug, Clone, Copy)]
struct Joined {
    case_id: i64,
    similarity: f32,
}

/// Links the feedback to the case it joins: occurrence row, aggregates,
/// centroid, history, the report's hazard when it is major and the case
/// names none yet, and escalation when the feedback is major and the case
/// is not. Returns the case's reports (the emerging rule reads them).
async fn link(
    tx: &mut Tx,
    env: &FeedbackEnvelope,
    joined: Joined,
    vector: Option<&[f32]>,
    t: Triaged<'_>,
    now: i64,
) -> Result<Vec<Report>, StoreError> {
    let (case_id, feedback_id) = (joined.case_id, env.feedback_id.to_string());
    rows::attach(tx, &feedback_id, case_id, now).await?;
    case_writes::bump_updated(tx, case_id, now, None).await?;
    let reports = fleet::refresh_aggregates(tx, case_id, false).await?;
    if let Some(v) = vector {
        fleet::add_to_centroid(tx, case_id, v).await?;
    }
    let note = format!(
        "feedback {feedback_id} from {} linked (similarity {:.3})",
        env.vehicle.vin, joined.similarity
    );
    case_writes::history(tx, case_id, now, "triage", "occurrence", None, Some(&note)).await?;
    let a = t.assessment;
    let severity = a.severity.parse::<Severity>()?;
    let named = hazard::named(a.hazard.as_deref());
    let case_hazard = keep_hazard(tx, case_id, severity, named, "triage", now).await?;
    if severity.is_major() {
        let reasons = a.severity_reasons.join(", ");
        let why = major_detail("a major report joined", case_hazard, &reasons);
        let why = Why::same("triage", &why);
        reassessment::raise_to_major(tx, case_id, why, &t.policy.sla, now).await?;
    }
    Ok(reports)
}

/// Opens a new case for the feedback, with triage's findings (a major
/// one's hazard too) and the best known issue's containment and remedy as
/// suggested ICA and PCA; its SLA clocks start on `policy`, and a major
/// case is escalated at once, naming its hazard.
async fn open_case(
    tx: &mut Tx,
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
    let named = hazard::named(assessment.and_then(|a| a.hazard.as_deref()));
    let case_hazard = hazard::kept(None, severity, named);
    let case_id = case_writes::next_case_number(tx).await?;
    let title = case_title(env.transcript());
    let new = NewCase {
        id: case_id,
        category,
        severity,
        model_version: assessment.map_or(qloop_models::NO_MODEL, |t| t.model_version.as_str()),
        title: &title,
        captured_at_ms: env.captured_at_ms,
        opened_at_ms: now,
        department: assessment.and_then(|t| t.department.as_deref()),
        confidence: assessment.map(|t| t.confidence),
        hazard: case_hazard,
    };
    rows::insert_case(tx, &new).await?;
    let feedback_id = env.feedback_id.to_string();
    rows::attach(tx, &feedback_id, case_id, now).await?;
    fleet::refresh_aggregates(tx, case_id, true).await?;
    let note = format!("case {case_id} opened from feedback {feedback_id}");
    case_writes::history(tx, case_id, now, "system", "opened", None, Some(&note)).await?;
    if let Some(t) = triage {
        fleet::suggest_fixes(tx, case_id, t.matches, t.policy, now).await?;
    }
    let targets = policy.sla.targets(severity, category);
    sla::start_clocks(tx, case_id, &targets, policy.sla.working_time(), now).await?;
    sla::stop_route_if_routed(tx, case_id, now).await?;
    let reasons = assessment
        .map(|a| a.severity_reasons.join(", "))
        .unwrap_or_default();
    let detail = major_detail("major on arrival", case_hazard, &reasons);
    let why = Why {
        actor: "triage",
        reason: &reasons,
        detail: &detail,
    };
    let plan = escalation::on_open(severity);
    reassessment::apply(tx, case_id, &plan, why, policy.sla.working_time(), now).await?;
    let payload = serde_json::json!({
        "case_id": case_id,
        "title": title,
        "category": assessment.map(|a| a.category.as_str()),
        "severity": assessment.map(|a| a.severity.as_str()),
        "hazard": case_hazard.map(qloop_models::Hazard::name),
        "vin": env.vehicle.vin,
    });
    case_writes::notify(tx, NotificationKind::CaseOpened, case_id, payload, now).await?;
    Ok(case_id)
}
