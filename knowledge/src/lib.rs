//! qloop's quality knowledge index: known issues (recalls, service
//! bulletins, closed cases), cases and feedback in one tantivy index on
//! disk, searched with BM25, filters, facets, highlights and pagination,
//! and fused with embedding similarity by reciprocal rank.
//!
//! # Layout
//! - [`record`]: the document every kind becomes ([`IndexDoc`]).
//! - [`import`]: known issues from JSON lines (NHTSA recall shapes and qloop's own).
//! - [`index`]: the tantivy index: schema, upserts, BM25 search.
//! - [`search`]: requests, validation, results, reciprocal-rank fusion.
//! - [`linking`]: joining feedback to an open case of the same issue, and scoring it.
//! - [`hybrid`]: BM25 and embeddings fused by reciprocal rank, with filters and facets.
//! - [`eval`]: recall@5 and MRR of BM25, embeddings and hybrid on labelled queries.
//! - [`vectors`]: embeddings beside the index, brute-force cosine search.
//! - [`error`]: what can go wrong, split into the caller's fault and ours.

#![forbid(unsafe_code)]

pub mod error;
pub mod eval;
pub mod hybrid;
pub mod import;
pub mod index;
pub mod linking;
pub mod record;
pub mod search;
pub mod vectors;

pub use error::KnowledgeError;
pub use index::KnowledgeIndex;
pub use record::{DocKind, IndexDoc};
pub use search::{Filters, SearchHit, SearchRequest, SearchResults};
pub use vectors::VectorIndex;
