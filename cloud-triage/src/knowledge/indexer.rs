//! The indexer: a background task that keeps the knowledge index in step
//! with the database (new feedback, changed cases, closed cases as known
//! issues).

use std::sync::Arc;

use qloop_knowledge::KnowledgeIndex;

use super::Vectors;
use crate::store::Store;

/// How far back each indexer pass looks again, so a feedback committed just
/// after a pass read the database (with an earlier timestamp) is not missed.
const INDEX_OVERLAP_MS: i64 = 30_000;

/// How often the indexer looks for new feedback and changed cases.
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the index in step with the database until `shutdown`: new feedback
/// and changed cases are (re)indexed, and a closed case also becomes a known
/// issue (`case-N-closed`) carrying its containment and remedy.
pub async fn run_indexer(
    store: Store,
    index: Arc<KnowledgeIndex>,
    vectors: Option<Arc<Vectors>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (mut feedback_mark, mut case_mark) = (i64::MIN, i64::MIN);
    loop {
        match index_pass(&store, &index, vectors.as_deref(), feedback_mark, case_mark).await {
            Ok((f, c)) => {
                feedback_mark = f;
                case_mark = c;
            }
            Err(e) => tracing::warn!(error = %e, "knowledge indexer pass failed; retrying"),
        }
        if let Some(v) = &vectors {
            save_vectors(v, Vectors::flush_if_due).await;
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(INDEX_EVERY) => {}
        }
    }
    if let Some(v) = &vectors {
        save_vectors(v, Vectors::flush).await;
    }
}

/// Writes the embeddings file (up to 150 MB) on a blocking thread, so the
/// runtime's threads keep serving ingest and the API meanwhile.
async fn save_vectors(vectors: &Arc<Vectors>, save: fn(&Vectors) -> anyhow::Result<()>) {
    let v = vectors.clone();
    match tokio::task::spawn_blocking(move || save(&v)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write the embeddings file"),
        Err(e) => tracing::error!(error = %e, "writing the embeddings file panicked"),
    }
}

async fn index_pass(
    store: &Store,
    index: &Arc<KnowledgeIndex>,
    vectors: Option<&Vectors>,
    feedback_mark: i64,
    case_mark: i64,
) -> anyhow::Result<(i64, i64)> {
    let feedback = store.feedback_index_docs_since(feedback_mark).await?;
    let cases = store.case_index_docs_since(case_mark).await?;
    if feedback.is_empty() && cases.is_empty() {
        return Ok((feedback_mark, case_mark));
    }
    let next_feedback = store
        .max_feedback_received_at()
        .await?
        .map_or(feedback_mark, |m| {
            m.saturating_sub(INDEX_OVERLAP_MS).max(feedback_mark)
        });
    let next_case = store.max_case_updated_at().await?.map_or(case_mark, |m| {
        m.saturating_sub(INDEX_OVERLAP_MS).max(case_mark)
    });
    let closed: Vec<_> = cases
        .iter()
        .filter(|c| c.status.as_deref() == Some("closed"))
        .map(|c| qloop_knowledge::IndexDoc {
            id: format!("{}-closed", c.id),
            kind: Some(qloop_knowledge::DocKind::KnownIssue),
            ..c.clone()
        })
        .collect();
    if let Some(v) = vectors {
        // Triage already embedded most feedback; embed only the rest.
        let stored = store.feedback_vectors_since(feedback_mark).await?;
        let have: std::collections::HashSet<&str> =
            stored.iter().map(|(id, _)| id.as_str()).collect();
        let missing: Vec<_> = feedback
            .iter()
            .filter(|d| !have.contains(d.id.as_str()))
            .cloned()
            .collect();
        v.put(&stored)?;
        v.add(&missing).await?;
        v.add(&cases).await?;
        v.add(&closed).await?;
    }
    let index = index.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        index.upsert(&feedback)?;
        index.upsert(&cases)?;
        index.upsert(&closed)?;
        index.commit()?;
        Ok(())
    })
    .await??;
    Ok((next_feedback, next_case))
}
