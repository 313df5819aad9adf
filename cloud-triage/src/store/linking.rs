//! Fleet linking's rows: the open cases a new feedback may join, a case's
//! reports for its aggregates, the aggregates and centroid written back,
//! and the knowledge matches attached to a case. The rules are
//! [`crate::domain::fleet`] and `qloop_knowledge::linking::decide`; the use
//! cases that join them are in [`crate::app`].
//!
//! Everything here runs inside the caller's write transaction, so a case's
//! aggregates always agree with its `case_feedback` rows.

use std::collections::BTreeSet;

use qloop_knowledge::linking::OpenCase;
use sqlx::{Any, Row, Transaction};

use super::{
    rows::{enum_column, json_column, vector_column, vector_text, NullableDouble},
    CaseMatch, Store, StoreError,
};
use crate::domain::{
    fleet::aggregates::{Aggregates, Report},
    CaseStatus,
};

pub use crate::domain::fleet::{model_family, DIM};

type Tx = Transaction<'static, Any>;

/// Takes the linking lock: concurrent ingests (several workers on
/// PostgreSQL) decide one at a time, so two reports of one new issue never
/// open two cases.
pub(crate) async fn lock_linking(tx: &mut Tx) -> Result<(), StoreError> {
    sqlx::query("UPDATE sequences SET value = value + 1 WHERE name = 'link_lock'")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The open cases with a centroid last seen at or after `since_ms`: the
/// candidates `decide` judges (see [`crate::domain::fleet::candidates_since`]).
pub(crate) async fn link_candidates(
    tx: &mut Tx,
    since_ms: i64,
) -> Result<Vec<OpenCase>, StoreError> {
    let sql = format!(
        "SELECT id, category, model_families, vector, last_seen_ms FROM cases \
         WHERE vector IS NOT NULL AND last_seen_ms >= $1 AND status NOT IN ({})",
        CaseStatus::CLOSED
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let rows = sqlx::query(&sql)
        .bind(since_ms)
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
    Ok(open)
}

/// A case's reports as the aggregates read them; their embeddings only
/// `with_vectors`.
pub(crate) async fn case_reports(
    tx: &mut Tx,
    case_id: i64,
    with_vectors: bool,
) -> Result<Vec<Report>, StoreError> {
    let rows = sqlx::query(
        "SELECT f.vin, f.model, f.software_json, f.captured_at_ms, f.vector FROM feedback f \
         JOIN case_feedback cf ON cf.feedback_id = f.id WHERE cf.case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut reports = Vec::with_capacity(rows.len());
    for row in &rows {
        let sw = json_column(
            &row.try_get::<String, _>("software_json")?,
            "feedback.software_json",
        )?;
        let software = sw
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some((
                    s["ecu"].as_str()?.to_string(),
                    s["version"].as_str()?.to_string(),
                ))
            })
            .collect();
        let vector = match row.try_get::<Option<String>, _>("vector")? {
            Some(text) if with_vectors => Some(vector_column(&text, DIM, "feedback.vector")?),
            _ => None,
        };
        reports.push(Report {
            vin: row.try_get("vin")?,
            model: row.try_get("model")?,
            software,
            captured_at_ms: row.try_get("captured_at_ms")?,
            vector,
        });
    }
    Ok(reports)
}

/// Writes a case's aggregates; its centroid too when `with_centroid`.
pub(crate) async fn save_aggregates(
    tx: &mut Tx,
    case_id: i64,
    a: &Aggregates,
    with_centroid: bool,
) -> Result<(), StoreError> {
    let to_json = |set: &BTreeSet<String>| {
        serde_json::to_string(set).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    sqlx::query(
        "UPDATE cases SET occurrences = $1, vehicle_count = $2, software_json = $3, \
         model_families = $4, first_seen_ms = $5, last_seen_ms = $6 WHERE id = $7",
    )
    .bind(a.occurrences)
    .bind(a.vehicles)
    .bind(to_json(&a.software)?)
    .bind(to_json(&a.model_families)?)
    .bind(a.first_seen_ms)
    .bind(a.last_seen_ms)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    if with_centroid {
        save_centroid(tx, case_id, a.centroid.as_deref()).await?;
    }
    Ok(())
}

/// A case's centroid sum (`None` when it has none yet).
pub(crate) async fn centroid(tx: &mut Tx, case_id: i64) -> Result<Option<Vec<f32>>, StoreError> {
    let row = sqlx::query("SELECT vector FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    row.try_get::<Option<String>, _>("vector")?
        .map(|text| vector_column(&text, DIM, "cases.vector"))
        .transpose()
}

/// Writes a case's centroid sum.
pub(crate) async fn save_centroid(
    tx: &mut Tx,
    case_id: i64,
    sum: Option<&[f32]>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET vector = $1 WHERE id = $2")
        .bind(sum.map(vector_text))
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

impl Store {
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
    ) -> Result<Vec<crate::views::NotificationEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, case_id, payload_json, created_at_ms, delivered_at_ms FROM notification_events \
             WHERE ($1 = 0 OR delivered_at_ms IS NULL) ORDER BY created_at_ms, id",
        )
        .bind(i64::from(undelivered_only))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::views::NotificationEvent {
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
