//! Fleet-wide cases: linking a feedback to an open case of the same issue,
//! the case's aggregates over its occurrences (distinct vehicles, software
//! versions, first/last seen, centroid), the emerging-issue rule, attached
//! knowledge matches, notification events, and an engineer's merge or split.
//!
//! Everything here runs inside the caller's write transaction, so a case's
//! aggregates always agree with its `case_feedback` rows.

use std::collections::BTreeSet;

use qloop_knowledge::linking::{decide, LinkDecision, NewFeedback, OpenCase};
use serde_json::json;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{
    case_writes::{self, history, notify},
    records::CaseMatch,
    rows::{enum_column, json_column, vector_column, vector_text, NullableDouble},
    Store, StoreError,
};
use crate::{
    domain::{CaseStatus, NotificationKind, Severity},
    policy::Policy,
    sla::SlaPolicy,
};

/// Embedding length the store accepts.
pub const DIM: usize = qloop_models::EMBEDDING_DIM;

type Tx = Transaction<'static, Any>;

/// The model family linking compares: the model name, upper case, spaces collapsed.
pub fn model_family(model: &str) -> String {
    model
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Takes the linking lock: concurrent ingests (several workers on
/// PostgreSQL) decide one at a time, so two reports of one new issue never
/// open two cases.
pub(crate) async fn lock_linking(tx: &mut Tx) -> Result<(), StoreError> {
    sqlx::query("UPDATE sequences SET value = value + 1 WHERE name = 'link_lock'")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The open case a new feedback joins under `policy`, if any.
pub(crate) async fn find_case(
    tx: &mut Tx,
    policy: &Policy,
    new: &NewFeedback<'_>,
) -> Result<LinkDecision, StoreError> {
    let since = new
        .at_ms
        .saturating_sub(i64::from(policy.linking.window_days) * 86_400_000);
    let sql = format!(
        "SELECT id, category, model_families, vector, last_seen_ms FROM cases \
         WHERE vector IS NOT NULL AND last_seen_ms >= $1 AND status NOT IN ({}){}",
        CaseStatus::CLOSED
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        if policy.linking.same_category {
            " AND category = $2"
        } else {
            " AND $2 = $2"
        }
    );
    let rows = sqlx::query(&sql)
        .bind(since)
        .bind(new.category)
        .fetch_all(&mut **tx)
        .await?;
    let mut open = Vec::with_capacity(rows.len());
    for row in &rows {
        let families: Vec<String> = serde_json::from_value(json_column(
            &row.try_get::<String, _>("model_families")?,
            "cases.model_families",
        )?)
        .map_err(|e| StoreError::Corrupt(format!("cases.model_families: {e}")))?;
        let vector: String = row.try_get("vector")?;
        open.push(OpenCase {
            id: row.try_get("id")?,
            vector: vector_column(&vector, DIM, "cases.vector")?,
            category: row.try_get("category")?,
            model_families: families,
            last_seen_ms: row.try_get("last_seen_ms")?,
        });
    }
    Ok(decide(&policy.linking, new, &open))
}

/// Recomputes a case's occurrence count, distinct vehicles, software
/// versions, model families and first/last seen from its linked feedback;
/// with `vector`, also its centroid (the sum of its feedbacks' embeddings).
pub(crate) async fn refresh_aggregates(
    tx: &mut Tx,
    case_id: i64,
    vector: bool,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT f.vin, f.model, f.software_json, f.captured_at_ms, f.vector FROM feedback f \
         JOIN case_feedback cf ON cf.feedback_id = f.id WHERE cf.case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut vins = BTreeSet::new();
    let mut software = BTreeSet::new();
    let mut families = BTreeSet::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut sum: Option<Vec<f32>> = None;
    for row in &rows {
        vins.insert(row.try_get::<String, _>("vin")?);
        families.insert(model_family(&row.try_get::<String, _>("model")?));
        let at: i64 = row.try_get("captured_at_ms")?;
        first = first.min(at);
        last = last.max(at);
        let sw = json_column(
            &row.try_get::<String, _>("software_json")?,
            "feedback.software_json",
        )?;
        for s in sw.as_array().into_iter().flatten() {
            if let (Some(ecu), Some(version)) = (s["ecu"].as_str(), s["version"].as_str()) {
                software.insert(format!("{ecu} {version}"));
            }
        }
        if vector {
            if let Some(text) = row.try_get::<Option<String>, _>("vector")? {
                let v = vector_column(&text, DIM, "feedback.vector")?;
                let acc = sum.get_or_insert_with(|| vec![0.0; DIM]);
                acc.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
            }
        }
    }
    if rows.is_empty() {
        return Err(StoreError::Invalid(format!(
            "case {case_id} would hold no feedback"
        )));
    }
    let to_json = |set: BTreeSet<String>| {
        serde_json::to_string(&set).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    sqlx::query(
        "UPDATE cases SET occurrences = $1, vehicle_count = $2, software_json = $3, \
         model_families = $4, first_seen_ms = $5, last_seen_ms = $6 WHERE id = $7",
    )
    .bind(rows.len() as i64)
    .bind(vins.len() as i64)
    .bind(to_json(software)?)
    .bind(to_json(families)?)
    .bind(first)
    .bind(last)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    if vector {
        sqlx::query("UPDATE cases SET vector = $1 WHERE id = $2")
            .bind(sum.as_deref().map(vector_text))
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Adds one embedding to a case's centroid sum.
pub(crate) async fn add_to_centroid(
    tx: &mut Tx,
    case_id: i64,
    v: &[f32],
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT vector FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    let mut sum = match row.try_get::<Option<String>, _>("vector")? {
        Some(text) => vector_column(&text, DIM, "cases.vector")?,
        None => vec![0.0; DIM],
    };
    sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    sqlx::query("UPDATE cases SET vector = $1 WHERE id = $2")
        .bind(vector_text(&sum))
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records knowledge matches for a case, keeping each document's best score.
pub(crate) async fn save_matches(
    tx: &mut Tx,
    case_id: i64,
    matches: &[CaseMatch],
    at_ms: i64,
) -> Result<(), StoreError> {
    for m in matches {
        sqlx::query(
            "INSERT INTO case_matches (case_id, doc_id, kind, score, similarity, title, containment, remedy, found_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (case_id, doc_id) DO UPDATE SET \
             score = CASE WHEN excluded.score > case_matches.score THEN excluded.score ELSE case_matches.score END, \
             similarity = CASE WHEN case_matches.similarity IS NULL OR excluded.similarity > case_matches.similarity \
                          THEN excluded.similarity ELSE case_matches.similarity END",
        )
        .bind(case_id)
        .bind(&m.doc_id)
        .bind(m.kind.as_str())
        .bind(m.score)
        .bind(NullableDouble(m.similarity))
        .bind(&m.title)
        .bind(&m.containment)
        .bind(&m.remedy)
        .bind(at_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Raises a case to `major` (with its history), escalates it once and
/// re-targets its open clocks under `sla`, unless it already is major.
pub(crate) async fn escalate(
    tx: &mut Tx,
    case_id: i64,
    at_ms: i64,
    actor: &str,
    why: &str,
    sla: &SlaPolicy,
) -> Result<bool, StoreError> {
    let (old, category) = super::sla::assessed(tx, case_id).await?;
    if old.is_major() {
        return Ok(false);
    }
    sqlx::query("UPDATE cases SET severity = $1 WHERE id = $2")
        .bind(Severity::Major.as_str())
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    history(
        tx,
        case_id,
        at_ms,
        actor,
        "severity",
        Some(old.as_str()),
        Some(Severity::Major.as_str()),
    )
    .await?;
    super::sla::reassess(tx, case_id, (old, &category), actor, why, why, sla, at_ms).await?;
    Ok(true)
}

/// Marks a case emerging when `policy.min_vehicles` distinct vehicles
/// reported it within `policy.window_days` up to `at_ms`: history, a
/// severity review over every report, and an `emerging_issue` event.
/// Returns whether it became emerging now.
pub(crate) async fn check_emerging(
    tx: &mut Tx,
    policy: &Policy,
    case_id: i64,
    at_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let (sla, policy) = (&policy.sla, &policy.emerging);
    let row = sqlx::query("SELECT emerging_at_ms, title, category FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    if row.try_get::<Option<i64>, _>("emerging_at_ms")?.is_some() {
        return Ok(false);
    }
    let since = at_ms.saturating_sub(i64::from(policy.window_days) * 86_400_000);
    let vehicles: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT f.vin) AS n FROM feedback f JOIN case_feedback cf ON cf.feedback_id = f.id \
         WHERE cf.case_id = $1 AND f.captured_at_ms >= $2 AND f.captured_at_ms <= $3",
    )
    .bind(case_id)
    .bind(since)
    .bind(at_ms)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    if vehicles < i64::from(policy.min_vehicles) {
        return Ok(false);
    }
    sqlx::query("UPDATE cases SET emerging_at_ms = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    let summary = format!("{vehicles} vehicles within {} days", policy.window_days);
    history(
        tx,
        case_id,
        now_ms,
        "triage",
        "emerging",
        None,
        Some(&summary),
    )
    .await?;
    let review = review_severity(tx, case_id).await?;
    let severity = if review.level == qloop_models::severity::MAJOR {
        escalate(
            tx,
            case_id,
            now_ms,
            "triage",
            &format!("emerging issue; {}", review.reasons.join(", ")),
            sla,
        )
        .await?;
        review.level.clone()
    } else {
        sqlx::query("SELECT severity FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("severity")?
    };
    history(
        tx,
        case_id,
        now_ms,
        "triage",
        "severity_review",
        None,
        Some(&format!(
            "reviewed over every report: {severity}{}",
            if review.reasons.is_empty() {
                " (no safety sign in any report)".to_string()
            } else {
                format!(" ({})", review.reasons.join(", "))
            }
        )),
    )
    .await?;
    notify(
        tx,
        NotificationKind::EmergingIssue,
        case_id,
        json!({
            "case_id": case_id,
            "title": row.try_get::<String, _>("title")?,
            "category": row.try_get::<String, _>("category")?,
            "vehicles": vehicles,
            "window_days": policy.window_days,
            "severity": severity,
        }),
        now_ms,
    )
    .await?;
    Ok(true)
}

/// Severity over all of a case's reports: every transcript, trouble code
/// and active signal together.
async fn review_severity(
    tx: &mut Tx,
    case_id: i64,
) -> Result<qloop_models::severity::Severity, StoreError> {
    let rows = sqlx::query(
        "SELECT f.transcript, f.telemetry_json FROM feedback f \
         JOIN case_feedback cf ON cf.feedback_id = f.id WHERE cf.case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut text = String::new();
    let mut dtcs = BTreeSet::new();
    let mut signals = BTreeSet::new();
    for row in &rows {
        if let Some(t) = row.try_get::<Option<String>, _>("transcript")? {
            text.push_str(&t);
            text.push_str(". ");
        }
        let telemetry = json_column(
            &row.try_get::<String, _>("telemetry_json")?,
            "feedback.telemetry_json",
        )?;
        for d in telemetry["dtcs"].as_array().into_iter().flatten() {
            if let Some(code) = d["code"].as_str() {
                dtcs.insert(code.to_string());
            }
        }
        for s in telemetry["signals"].as_array().into_iter().flatten() {
            let active = s["samples"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["value"].as_f64().is_some_and(|v| v != 0.0));
            if let (true, Some(name)) = (active, s["name"].as_str()) {
                signals.insert(name.to_string());
            }
        }
    }
    let evidence = qloop_models::severity::TelemetryEvidence {
        dtcs: dtcs.iter().map(String::as_str).collect(),
        active_signals: signals.iter().map(String::as_str).collect(),
    };
    Ok(qloop_models::severity::assess(&text, &evidence))
}

/// Moves feedback rows to `to` (feedback.case_id and case_feedback).
async fn move_feedback(tx: &mut Tx, ids: &[String], to: i64, at_ms: i64) -> Result<(), StoreError> {
    for id in ids {
        sqlx::query(
            "UPDATE case_feedback SET case_id = $1, linked_at_ms = $2 WHERE feedback_id = $3",
        )
        .bind(to)
        .bind(at_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE feedback SET case_id = $1 WHERE id = $2")
            .bind(to)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Feedback ids linked to a case.
async fn feedback_of(tx: &mut Tx, case_id: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT feedback_id FROM case_feedback WHERE case_id = $1 ORDER BY feedback_id",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("feedback_id")?))
        .collect()
}

/// Locks a case row for the change (bumping `updated_at_ms`) and returns its status.
async fn touch(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<CaseStatus, StoreError> {
    if !case_writes::bump_updated(tx, case_id, at_ms, None).await? {
        return Err(StoreError::NotFound);
    }
    let status: String = sqlx::query("SELECT status FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("status")?;
    enum_column(&status, "cases.status")
}

fn check_actor(actor: &str) -> Result<&str, StoreError> {
    let actor = actor.trim();
    if actor.is_empty() || actor.chars().count() > 200 {
        return Err(StoreError::Invalid(
            "actor: must be 1 to 200 characters".into(),
        ));
    }
    Ok(actor)
}

impl Store {
    /// Merges case `from` into case `into`: every occurrence and knowledge
    /// match moves, `from` becomes `merged` (pointing at `into`), `into`
    /// keeps the higher severity, and both histories say so.
    pub async fn merge_cases(
        &self,
        from: i64,
        into: i64,
        actor: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let actor = check_actor(actor)?;
        if from == into {
            return Err(StoreError::Invalid(
                "into: a case cannot be merged into itself".into(),
            ));
        }
        let (_gate, mut tx) = self.begin_write().await?;
        // Lock in id order so two opposite merges cannot deadlock.
        let (a, b) = (from.min(into), from.max(into));
        let status_a = touch(&mut tx, a, at_ms).await?;
        let status_b = touch(&mut tx, b, at_ms).await?;
        let (from_status, into_status) = if a == from {
            (status_a, status_b)
        } else {
            (status_b, status_a)
        };
        for (id, status) in [(from, &from_status), (into, &into_status)] {
            if status.is_closed() {
                return Err(StoreError::Invalid(format!(
                    "case {id} is {status}; only open cases can be merged"
                )));
            }
        }
        let moved = feedback_of(&mut tx, from).await?;
        move_feedback(&mut tx, &moved, into, at_ms).await?;
        sqlx::query(
            "INSERT INTO case_matches (case_id, doc_id, kind, score, similarity, title, containment, remedy, found_at_ms) \
             SELECT $1, doc_id, kind, score, similarity, title, containment, remedy, found_at_ms FROM case_matches m \
             WHERE m.case_id = $2 AND NOT EXISTS (SELECT 1 FROM case_matches o WHERE o.case_id = $1 AND o.doc_id = m.doc_id)",
        )
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        refresh_aggregates(&mut tx, into, true).await?;
        let severity: String = sqlx::query("SELECT severity FROM cases WHERE id = $1")
            .bind(from)
            .fetch_one(&mut *tx)
            .await?
            .try_get("severity")?;
        if enum_column::<Severity>(&severity, "cases.severity")?.is_major() {
            escalate(
                &mut tx,
                into,
                at_ms,
                actor,
                &format!("merged from major case {from}"),
                &self.policy().sla,
            )
            .await?;
        }
        super::sla::cancel_clocks(&mut tx, from, at_ms).await?;
        sqlx::query("UPDATE cases SET merged_into = $1, occurrences = 0 WHERE id = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        let merged = CaseStatus::Merged;
        case_writes::set_status(
            &mut tx,
            from,
            from_status,
            merged,
            actor,
            merged.as_str(),
            at_ms,
        )
        .await?;
        history(
            &mut tx,
            from,
            at_ms,
            actor,
            "merged_into",
            None,
            Some(&format!("case {into} ({} occurrences moved)", moved.len())),
        )
        .await?;
        history(
            &mut tx,
            into,
            at_ms,
            actor,
            "merged_from",
            None,
            Some(&format!(
                "case {from} ({} occurrences: {})",
                moved.len(),
                moved.join(", ")
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Splits `feedback_ids` out of case `from` into a new case (same
    /// category, department and severity; its own title, aggregates,
    /// centroid and SLA clocks, on the store's policy); returns the new case
    /// number. At least one feedback must stay.
    pub async fn split_case(
        &self,
        from: i64,
        feedback_ids: &[Uuid],
        actor: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let actor = check_actor(actor)?;
        if feedback_ids.is_empty() {
            return Err(StoreError::Invalid(
                "feedback_ids: names no feedback to split out".into(),
            ));
        }
        let (_gate, mut tx) = self.begin_write().await?;
        let status = touch(&mut tx, from, at_ms).await?;
        if status.is_closed() {
            return Err(StoreError::Invalid(format!(
                "case {from} is {status}; only open cases can be split"
            )));
        }
        let held = feedback_of(&mut tx, from).await?;
        let mut moving: Vec<String> = feedback_ids.iter().map(Uuid::to_string).collect();
        moving.sort();
        moving.dedup();
        if let Some(stranger) = moving.iter().find(|id| !held.contains(id)) {
            return Err(StoreError::Invalid(format!(
                "feedback_ids: {stranger} is not linked to case {from}"
            )));
        }
        if moving.len() == held.len() {
            return Err(StoreError::Invalid(
                "feedback_ids: at least one feedback must stay in the case".into(),
            ));
        }
        let new_id = case_writes::next_case_number(&mut tx).await?;
        let transcript: Option<String> =
            sqlx::query("SELECT transcript FROM feedback WHERE id = $1")
                .bind(&moving[0])
                .fetch_one(&mut *tx)
                .await?
                .try_get("transcript")?;
        sqlx::query(
            "INSERT INTO cases (id, status, category, department, severity, confidence, model_version, title, \
             vehicle_count, first_seen_ms, last_seen_ms, opened_at_ms, updated_at_ms) \
             SELECT $1, 'new', category, department, severity, confidence, model_version, $2, 1, first_seen_ms, \
             last_seen_ms, $3, $3 FROM cases WHERE id = $4",
        )
        .bind(new_id)
        .bind(crate::domain::texts::case_title(transcript.as_deref()))
        .bind(at_ms)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        move_feedback(&mut tx, &moving, new_id, at_ms).await?;
        refresh_aggregates(&mut tx, new_id, true).await?;
        refresh_aggregates(&mut tx, from, true).await?;
        history(
            &mut tx,
            new_id,
            at_ms,
            actor,
            "opened",
            None,
            Some(&format!(
                "case {new_id} split from case {from}: {}",
                moving.join(", ")
            )),
        )
        .await?;
        history(
            &mut tx,
            from,
            at_ms,
            actor,
            "split",
            None,
            Some(&format!(
                "{} occurrences moved to case {new_id}: {}",
                moving.len(),
                moving.join(", ")
            )),
        )
        .await?;
        // A case opened by a split runs on the policy like any other: its
        // clocks start now, and a major one is escalated (once).
        let policy = self.policy();
        let (severity, category) = super::sla::assessed(&mut tx, new_id).await?;
        let targets = policy.sla.targets(severity, &category);
        super::sla::start_clocks(&mut tx, new_id, &targets, policy.sla.working_time(), at_ms)
            .await?;
        super::sla::stop_route_if_routed(&mut tx, new_id, at_ms).await?;
        if severity.is_major() {
            let why = format!("split from major case {from}");
            super::sla::escalate_major(&mut tx, new_id, actor, &why, &why, at_ms).await?;
        }
        notify(
            &mut tx,
            NotificationKind::CaseOpened,
            new_id,
            json!({ "case_id": new_id, "split_from": from }),
            at_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(new_id)
    }

    /// Knowledge matches attached to case `id`, best score first.
    pub async fn case_matches(&self, id: i64) -> Result<Vec<CaseMatch>, StoreError> {
        let rows = sqlx::query(
            "SELECT doc_id, kind, score, similarity, title, containment, remedy FROM case_matches \
             WHERE case_id = $1 ORDER BY kind DESC, score DESC, doc_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CaseMatch {
                    doc_id: r.try_get("doc_id")?,
                    kind: enum_column(r.try_get("kind")?, "case_matches.kind")?,
                    score: r.try_get("score")?,
                    similarity: r.try_get("similarity")?,
                    title: r.try_get("title")?,
                    containment: r.try_get("containment")?,
                    remedy: r.try_get("remedy")?,
                })
            })
            .collect()
    }

    /// Notification events, oldest first (all, or only undelivered).
    pub async fn notification_events(
        &self,
        undelivered_only: bool,
    ) -> Result<Vec<NotificationEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, case_id, payload_json, created_at_ms, delivered_at_ms FROM notification_events \
             WHERE ($1 = 0 OR delivered_at_ms IS NULL) ORDER BY created_at_ms, id",
        )
        .bind(i64::from(undelivered_only))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationEvent {
                    id: super::rows::uuid_column(r.try_get("id")?, "notification_events.id")?,
                    kind: enum_column(r.try_get("kind")?, "notification_events.kind")?,
                    case_id: r.try_get("case_id")?,
                    payload: json_column(
                        &r.try_get::<String, _>("payload_json")?,
                        "notification_events.payload_json",
                    )?,
                    created_at_ms: r.try_get("created_at_ms")?,
                    delivered_at_ms: r.try_get("delivered_at_ms")?,
                })
            })
            .collect()
    }
}

/// An event for people outside the service (sent as a webhook).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct NotificationEvent {
    /// Event id.
    pub id: Uuid,
    /// `case_opened`, `escalated`, `emerging_issue`, …
    pub kind: NotificationKind,
    /// The case it concerns.
    pub case_id: Option<i64>,
    /// What happened.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was raised, Unix ms.
    pub created_at_ms: i64,
    /// When it was delivered, Unix ms.
    pub delivered_at_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_families_ignore_case_and_spacing() {
        assert_eq!(model_family(" Model  3 "), "MODEL 3");
        assert_eq!(model_family("model 3"), model_family("MODEL 3"));
    }
}
