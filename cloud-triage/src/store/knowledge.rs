//! Known issues, and the rows the knowledge index is rebuilt from.

use qloop_knowledge::{DocKind, IndexDoc};
use sqlx::Row;

use super::{
    rows::{json_column, vector_column},
    Store, StoreError,
};

impl Store {
    /// Stores known issues (replacing any with the same id); returns how many.
    pub async fn save_known_issues(
        &self,
        docs: &[IndexDoc],
        source: &str,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        for doc in docs {
            let json =
                serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO known_issues (id, doc_json, source, imported_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET doc_json = excluded.doc_json, source = excluded.source, \
                 imported_at_ms = excluded.imported_at_ms",
            )
            .bind(&doc.id)
            .bind(json)
            .bind(source)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(docs.len())
    }

    /// Every known issue, oldest import first.
    pub async fn known_issues(&self) -> Result<Vec<IndexDoc>, StoreError> {
        let rows = sqlx::query("SELECT doc_json FROM known_issues ORDER BY imported_at_ms, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("doc_json")?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("known_issues.doc_json: {e}")))
            })
            .collect()
    }

    /// Embeddings triage stored for feedback received after `after_ms`.
    pub async fn feedback_vectors_since(
        &self,
        after_ms: i64,
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, vector FROM feedback WHERE received_at_ms > $1 AND vector IS NOT NULL",
        )
        .bind(after_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("vector")?;
                Ok((
                    row.try_get("id")?,
                    vector_column(&text, super::linking::DIM, "feedback.vector")?,
                ))
            })
            .collect()
    }

    /// The latest `received_at_ms` of any feedback.
    pub async fn max_feedback_received_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MAX(received_at_ms) AS m FROM feedback")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>("m")?)
    }

    /// The latest `updated_at_ms` of any case.
    pub async fn max_case_updated_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MAX(updated_at_ms) AS m FROM cases")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>("m")?)
    }

    /// Every case as an index document (`case-N`), with its feedback's words.
    pub async fn case_index_docs(&self) -> Result<Vec<IndexDoc>, StoreError> {
        self.case_index_docs_since(i64::MIN).await
    }

    /// Cases changed after `after_ms` (by `updated_at_ms`) as index documents.
    pub async fn case_index_docs_since(&self, after_ms: i64) -> Result<Vec<IndexDoc>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.status, c.category, c.severity, c.title, c.opened_at_ms, \
             c.ica_action, c.pca_action, c.root_cause \
             FROM cases c WHERE c.updated_at_ms > $1 ORDER BY c.id",
        )
        .bind(after_ms)
        .fetch_all(self.pool())
        .await?;
        let mut docs = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let feedback = self.feedback_index_docs_of_case(id).await?;
            let text = feedback
                .iter()
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
                .join(" \n");
            let mut doc = IndexDoc {
                id: format!("case-{id}"),
                kind: Some(DocKind::Case),
                title: row.try_get("title")?,
                text,
                category: Some(row.try_get("category")?),
                severity: Some(row.try_get("severity")?),
                date_ms: Some(row.try_get("opened_at_ms")?),
                status: Some(row.try_get("status")?),
                containment: row.try_get("ica_action")?,
                remedy: row.try_get("pca_action")?,
                consequence: row.try_get("root_cause")?,
                ..IndexDoc::default()
            };
            for f in &feedback {
                for (list, values) in [
                    (&mut doc.models, &f.models),
                    (&mut doc.software, &f.software),
                    (&mut doc.dtcs, &f.dtcs),
                ] {
                    for v in values {
                        if !list.contains(v) {
                            list.push(v.clone());
                        }
                    }
                }
                for y in &f.years {
                    if !doc.years.contains(y) {
                        doc.years.push(*y);
                    }
                }
                doc.make = doc.make.take().or_else(|| f.make.clone());
            }
            docs.push(doc);
        }
        Ok(docs)
    }

    /// Every feedback as an index document (its UUID as id).
    pub async fn feedback_index_docs(&self) -> Result<Vec<IndexDoc>, StoreError> {
        self.feedback_index_docs_since(i64::MIN).await
    }

    /// Feedback received after `after_ms` as index documents.
    pub async fn feedback_index_docs_since(
        &self,
        after_ms: i64,
    ) -> Result<Vec<IndexDoc>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.*, c.category AS case_category, c.severity AS case_severity, c.status AS case_status \
             FROM feedback f LEFT JOIN cases c ON c.id = f.case_id WHERE f.received_at_ms > $1 \
             ORDER BY f.received_at_ms",
        )
        .bind(after_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feedback_doc).collect()
    }

    async fn feedback_index_docs_of_case(&self, case_id: i64) -> Result<Vec<IndexDoc>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.*, c.category AS case_category, c.severity AS case_severity, c.status AS case_status \
             FROM feedback f JOIN case_feedback cf ON cf.feedback_id = f.id \
             JOIN cases c ON c.id = cf.case_id WHERE cf.case_id = $1 ORDER BY f.received_at_ms",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feedback_doc).collect()
    }
}

fn feedback_doc(row: &sqlx::any::AnyRow) -> Result<IndexDoc, StoreError> {
    let software = json_column(
        &row.try_get::<String, _>("software_json")?,
        "feedback.software_json",
    )?;
    let telemetry = json_column(
        &row.try_get::<String, _>("telemetry_json")?,
        "feedback.telemetry_json",
    )?;
    let versions = software
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    s.get("version")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let dtcs = telemetry["dtcs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| {
                    d.get("code")
                        .and_then(|c| c.as_str())
                        .map(str::to_uppercase)
                })
                .collect()
        })
        .unwrap_or_default();
    let model: String = row.try_get("model")?;
    let year: i64 = row.try_get("model_year")?;
    let transcript: Option<String> = row.try_get("transcript")?;
    let text = transcript.unwrap_or_default();
    Ok(IndexDoc {
        id: row.try_get("id")?,
        kind: Some(DocKind::Feedback),
        title: text
            .split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" "),
        text,
        category: row.try_get("case_category")?,
        severity: row.try_get("case_severity")?,
        make: None,
        models: vec![model.to_uppercase()],
        years: u16::try_from(year).ok().into_iter().collect(),
        software: versions,
        dtcs,
        date_ms: Some(row.try_get("captured_at_ms")?),
        status: row.try_get("case_status")?,
        ..IndexDoc::default()
    })
}

/// A stored known issue with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKnownIssue {
    /// The document as imported.
    pub doc: IndexDoc,
    /// The file or feed it was imported from.
    pub source: String,
    /// When it was imported, Unix ms.
    pub imported_at_ms: i64,
}

/// A case whose feedback matched a knowledge document.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchingCase {
    /// Case number.
    pub case_id: i64,
    /// The case's title.
    pub title: String,
    /// The case's status, e.g. `new`.
    pub status: String,
    /// The match's hybrid rank score.
    pub score: f64,
    /// When the match was found, Unix ms.
    pub found_at_ms: i64,
}

impl Store {
    /// The known issue `id` (a recall's campaign number, a bulletin id), if stored.
    pub async fn known_issue(&self, id: &str) -> Result<Option<StoredKnownIssue>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT doc_json, source, imported_at_ms FROM known_issues WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let text: String = row.try_get("doc_json")?;
        Ok(Some(StoredKnownIssue {
            doc: serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("known_issues.doc_json: {e}")))?,
            source: row.try_get("source")?,
            imported_at_ms: row.try_get("imported_at_ms")?,
        }))
    }

    /// The cases whose feedback matched document `doc_id`, best score first.
    pub async fn cases_matching(&self, doc_id: &str) -> Result<Vec<MatchingCase>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.case_id, c.title, c.status, m.score, m.found_at_ms FROM case_matches m \
             JOIN cases c ON c.id = m.case_id WHERE m.doc_id = $1 ORDER BY m.score DESC, m.case_id",
        )
        .bind(doc_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MatchingCase {
                    case_id: r.try_get("case_id")?,
                    title: r.try_get("title")?,
                    status: r.try_get("status")?,
                    score: r.try_get("score")?,
                    found_at_ms: r.try_get("found_at_ms")?,
                })
            })
            .collect()
    }

    /// The case each of these feedback ids belongs to (ids without a case,
    /// or not stored, are left out).
    pub async fn cases_of_feedback(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let mut cases = std::collections::HashMap::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT case_id FROM feedback WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
            if let Some(case_id) = row
                .map(|r| r.try_get::<Option<i64>, _>("case_id"))
                .transpose()?
                .flatten()
            {
                cases.insert(id.clone(), case_id);
            }
        }
        Ok(cases)
    }
}
