//! The knowledge index inside the service: where it lives, importing known
//! issues into database and index, and rebuilding the index from the
//! database.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use qloop_knowledge::{import::parse_known_issues, KnowledgeIndex};

use crate::{
    domain::MatchKind,
    now_ms,
    store::{CaseMatch, Store},
};

/// The index folder inside a data directory.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}

/// Opens (creating when absent) the index of a data directory.
pub fn open_index(data_dir: &Path) -> anyhow::Result<Arc<KnowledgeIndex>> {
    let dir = index_dir(data_dir);
    Ok(Arc::new(KnowledgeIndex::open(&dir).with_context(|| {
        format!("opening the knowledge index in {}", dir.display())
    })?))
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Known issues stored and indexed.
    pub imported: usize,
    /// Lines refused, with their reasons (`line N: …`).
    pub rejected: Vec<String>,
}

/// Reads a JSON-lines file of known issues, stores them in the database (the
/// source of truth for `reindex`) and indexes them.
pub async fn import_file(
    store: &Store,
    index: &KnowledgeIndex,
    vectors: Option<&Vectors>,
    path: &Path,
) -> anyhow::Result<ImportReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading known issues from {}", path.display()))?;
    let parsed = parse_known_issues(&text);
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    store
        .save_known_issues(&parsed.docs, &source, now_ms())
        .await?;
    index.upsert(&parsed.docs)?;
    index.commit()?;
    if let Some(v) = vectors {
        v.add(&parsed.docs).await?;
        v.flush()?;
    }
    Ok(ImportReport {
        imported: parsed.docs.len(),
        rejected: parsed.rejected.iter().map(ToString::to_string).collect(),
    })
}

/// Counts of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReindexReport {
    /// Known issues indexed.
    pub known_issues: usize,
    /// Cases indexed.
    pub cases: usize,
    /// Feedback indexed.
    pub feedback: usize,
}

/// Empties the index and fills it again from the database.
pub async fn reindex(
    store: &Store,
    index: &KnowledgeIndex,
    vectors: Option<&Vectors>,
) -> anyhow::Result<ReindexReport> {
    let known = store.known_issues().await?;
    let cases = store.case_index_docs().await?;
    let feedback = store.feedback_index_docs().await?;
    index.clear()?;
    index.upsert(&known)?;
    index.upsert(&cases)?;
    index.upsert(&feedback)?;
    index.commit()?;
    if let Some(v) = vectors {
        for docs in [&known, &cases, &feedback] {
            v.add(docs).await?;
        }
        v.flush()?;
    }
    Ok(ReindexReport {
        known_issues: known.len(),
        cases: cases.len(),
        feedback: feedback.len(),
    })
}

/// Puts the database's known issues back into an empty index (a new data
/// directory on an existing database, or an index started afresh after a
/// schema change); feedback and cases come back through the indexer.
/// Embeddings already beside the index are kept, not recomputed.
pub async fn restore_known_issues(
    store: &Store,
    index: &KnowledgeIndex,
    vectors: &Vectors,
) -> anyhow::Result<usize> {
    let known = store.known_issues().await?;
    if known.is_empty() {
        return Ok(0);
    }
    index.upsert(&known)?;
    index.commit()?;
    let missing: Vec<_> = known
        .iter()
        .filter(|d| !vectors.contains(&d.id))
        .cloned()
        .collect();
    vectors.add(&missing).await?;
    vectors.flush()?;
    Ok(known.len())
}

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
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(INDEX_EVERY) => {}
        }
    }
    if let Some(v) = &vectors {
        if let Err(e) = v.flush() {
            tracing::warn!(error = %e, "could not write the embeddings file at shutdown");
        }
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

/// Embeddings beside the index (`DATA_DIR/index/vectors.bin`), with the
/// embedder that makes them: what hybrid search needs besides BM25.
pub struct Vectors {
    vectors: std::sync::RwLock<qloop_knowledge::VectorIndex>,
    embedder: qloop_models::Embedder,
    path: PathBuf,
    /// Changed since the file was last written.
    dirty: std::sync::atomic::AtomicBool,
    /// When the file was last written.
    saved_at: std::sync::Mutex<std::time::Instant>,
}

/// How often the vectors file is rewritten while changes arrive. The file
/// holds every vector (150 MB at 100,000 documents), so it is not rewritten
/// on every indexer pass; what a crash loses in between is rebuilt from the
/// database (feedback vectors are stored there; `reindex` redoes the rest).
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for Vectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vectors")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Vectors {
    /// Loads the vectors of a data directory (none yet is fine).
    pub fn open(data_dir: &Path, embedder: qloop_models::Embedder) -> anyhow::Result<Self> {
        let path = index_dir(data_dir).join("vectors.bin");
        let vectors = qloop_knowledge::VectorIndex::load(&path, qloop_models::EMBEDDING_DIM)?;
        Ok(Self {
            vectors: std::sync::RwLock::new(vectors),
            embedder,
            path,
            dirty: std::sync::atomic::AtomicBool::new(false),
            saved_at: std::sync::Mutex::new(std::time::Instant::now()),
        })
    }

    /// Notes a change; writes the file when the last write is old enough.
    fn changed(&self, v: &qloop_knowledge::VectorIndex) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        self.dirty.store(true, Ordering::SeqCst);
        let mut saved_at = self.saved_at.lock().unwrap_or_else(|p| p.into_inner());
        if saved_at.elapsed() >= SAVE_EVERY {
            v.save(&self.path)?;
            self.dirty.store(false, Ordering::SeqCst);
            *saved_at = std::time::Instant::now();
        }
        Ok(())
    }

    /// Writes the file if anything changed since the last write.
    pub fn flush(&self) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        if self.dirty.swap(false, Ordering::SeqCst) {
            let v = self.vectors.read().unwrap_or_else(|p| p.into_inner());
            v.save(&self.path)?;
            *self.saved_at.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        }
        Ok(())
    }

    /// Embeds documents (title and text) and stores their vectors.
    pub async fn add(&self, docs: &[qloop_knowledge::IndexDoc]) -> anyhow::Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let texts = docs
            .iter()
            .map(|d| format!("{}. {}", d.title, d.text))
            .collect();
        let embedded = self.embedder.embed(texts).await?;
        let mut v = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        for (d, e) in docs.iter().zip(&embedded) {
            v.upsert(&d.id, e)?;
        }
        self.changed(&v)?;
        Ok(())
    }

    /// Whether `id` has a vector.
    pub fn contains(&self, id: &str) -> bool {
        self.vectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .is_some()
    }

    /// Stores vectors made elsewhere (triage's embedding of a feedback).
    pub fn put(&self, vectors: &[(String, Vec<f32>)]) -> anyhow::Result<()> {
        if vectors.is_empty() {
            return Ok(());
        }
        let mut v = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        for (id, e) in vectors {
            v.upsert(id, e)?;
        }
        self.changed(&v)?;
        Ok(())
    }

    /// Known issues and similar cases for a feedback's words and embedding:
    /// hybrid search per kind, each hit with its cosine similarity to the
    /// feedback. Search failures are logged and give no matches: knowledge
    /// helps triage but never stops it.
    pub fn find_matches(
        &self,
        index: &KnowledgeIndex,
        text: &str,
        vector: &[f32],
        policy: &crate::policy::MatchPolicy,
    ) -> Vec<CaseMatch> {
        use qloop_knowledge::{eval::Mode, DocKind, Filters, SearchRequest};
        let q = qloop_knowledge::search::plain_query(text);
        let mut out = Vec::new();
        for (kind, limit, label) in [
            (
                DocKind::KnownIssue,
                policy.known_issues,
                MatchKind::KnownIssue,
            ),
            (DocKind::Case, policy.similar_cases, MatchKind::SimilarCase),
        ] {
            if limit == 0 {
                continue;
            }
            let req = SearchRequest {
                q: q.clone(),
                filters: Filters {
                    kind: Some(kind),
                    ..Filters::default()
                },
                limit,
                offset: 0,
            };
            let v = self.vectors.read().unwrap_or_else(|p| p.into_inner());
            match qloop_knowledge::hybrid::search(index, &v, &req, Some(vector), Mode::Hybrid) {
                Ok(results) => out.extend(results.hits.into_iter().map(|h| {
                    CaseMatch {
                        similarity: v
                            .get(&h.id)
                            .map(|d| f64::from(qloop_knowledge::linking::cosine(d, vector))),
                        doc_id: h.id,
                        kind: label,
                        score: f64::from(h.score),
                        title: h.title,
                        containment: h.doc.containment,
                        remedy: h.doc.remedy,
                    }
                })),
                Err(e) => {
                    tracing::warn!(error = %e, kind = %label, "knowledge search for triage failed")
                }
            }
        }
        out
    }

    /// Hybrid (or embedding-only) search for `req`.
    pub async fn search(
        &self,
        index: &KnowledgeIndex,
        req: &qloop_knowledge::SearchRequest,
        mode: qloop_knowledge::eval::Mode,
    ) -> Result<qloop_knowledge::SearchResults, qloop_knowledge::KnowledgeError> {
        req.validate()?;
        let qv = self
            .embedder
            .embed(vec![req.q.clone()])
            .await
            .map_err(|e| qloop_knowledge::KnowledgeError::Index(tantivy_internal(e.to_string())))?
            .pop();
        let v = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        qloop_knowledge::hybrid::search(index, &v, req, qv.as_deref(), mode)
    }
}

fn tantivy_internal(message: String) -> qloop_knowledge::error::TantivyError {
    qloop_knowledge::error::TantivyError::InternalError(message)
}
