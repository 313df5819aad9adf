//! Embeddings beside the index (`DATA_DIR/index/vectors.bin`), with the
//! embedder that makes them, and the hybrid searches that use them.

use std::path::{Path, PathBuf};

use qloop_knowledge::KnowledgeIndex;

use super::index_dir;
use crate::{domain::MatchKind, store::CaseMatch};

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

    /// Notes a change. The file is written by [`Vectors::flush`] or
    /// [`Vectors::flush_if_due`], which callers run off the async threads:
    /// never here, under the write lock, inside an async caller.
    fn changed(&self) -> anyhow::Result<()> {
        self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Writes the file when something changed and the last write is at
    /// least [`SAVE_EVERY`] old. Blocking: run it in `spawn_blocking`.
    pub fn flush_if_due(&self) -> anyhow::Result<()> {
        let due = self
            .saved_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
            >= SAVE_EVERY;
        if due {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the file if anything changed since the last write. Blocking.
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
        drop(v);
        self.changed()?;
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
        drop(v);
        self.changed()?;
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
