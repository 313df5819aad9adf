//! The knowledge index inside the service: where it lives, importing known
//! issues into database and index, and rebuilding the index from the
//! database.
//!
//! # Layout
//! - this file: the index folder, import, `reindex`, restoring known issues.
//! - [`indexer`]: the background task that keeps the index in step.
//! - [`vectors`]: the embeddings beside the index and hybrid search.

mod indexer;
mod vectors;

pub use indexer::run_indexer;
pub use vectors::Vectors;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use qloop_knowledge::{import::parse_known_issues, KnowledgeIndex};

use crate::{now_ms, store::Store};

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
