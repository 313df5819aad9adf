//! The tantivy index on disk: schema, upserts, and BM25 search with filters,
//! facets, highlights and pagination.
//!
//! # Layout
//! - this file: [`KnowledgeIndex`] itself, opening it and writing to it.
//! - `schema`: the fields, and a document as tantivy stores it.
//! - `query`: the words and filters of a request as a tantivy query.
//! - `read`: search, ids for fusion and filtered search, highlights, `get`.

mod query;
mod read;
mod schema;

use std::{path::Path, sync::Mutex};

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

pub use query::uses_query_syntax;
use schema::{schema, Fields};

use crate::{error::KnowledgeError, record::IndexDoc};

/// Heap for the index writer (tantivy's minimum is 15 MB).
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// The knowledge index. Cheap to share behind an `Arc`; writes are
/// serialised inside.
pub struct KnowledgeIndex {
    index: Index,
    reader: IndexReader,
    /// Taken on the first write: a process that only searches (the `search`
    /// command beside a running service) never holds the writer lock.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex").finish_non_exhaustive()
    }
}

impl KnowledgeIndex {
    /// Opens the index in `dir`, creating it (and the directory) when absent.
    pub fn open(dir: &Path) -> Result<Self, KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(|source| KnowledgeError::Io {
            context: format!("creating index directory {}", dir.display()),
            source,
        })?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| KnowledgeError::Index(e.into()))?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Err(tantivy::TantivyError::SchemaError(reason)) => {
                // An index written by an older qloop. It is derived data:
                // start it afresh (the service refills an empty index from
                // the database; `reindex` does it by hand).
                tracing::warn!(dir = %dir.display(), %reason, "knowledge index schema changed; starting it empty");
                remove_index_files(dir)?;
                let directory = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| KnowledgeError::Index(e.into()))?;
                Index::open_or_create(directory, schema)?
            }
            other => other?,
        };
        Self::from_index(index, fields)
    }

    /// An index held in memory only (tests, benchmarks of the search alone).
    pub fn in_memory() -> Result<Self, KnowledgeError> {
        let (schema, fields) = schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<Self, KnowledgeError> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
        })
    }

    /// Runs `f` with the index writer, taking it on first use.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, KnowledgeError>,
    ) -> Result<T, KnowledgeError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(self.index.writer(WRITER_HEAP_BYTES)?);
        }
        f(guard.as_mut().expect("writer just set"))
    }

    /// Adds or replaces documents (by id). Visible after [`Self::commit`].
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            for doc in docs {
                writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
                writer.add_document(self.to_tantivy(doc))?;
            }
            Ok(())
        })
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&self) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            writer.delete_all_documents()?;
            Ok(())
        })
    }

    /// Makes written documents durable and visible to searches.
    pub fn commit(&self) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            writer.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    /// Sees what other processes committed since the last look.
    pub fn refresh(&self) -> Result<(), KnowledgeError> {
        self.reader.reload()?;
        Ok(())
    }

    /// Documents searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// True when nothing is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes tantivy's files from an index directory, keeping other files
/// (the embeddings beside the index).
fn remove_index_files(dir: &Path) -> Result<(), KnowledgeError> {
    let io = |source| KnowledgeError::Io {
        context: format!("clearing the old index in {}", dir.display()),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("vectors.bin") {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io)?;
        } else {
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
