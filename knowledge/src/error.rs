//! Errors of the knowledge layer.

use thiserror::Error;

/// Why an index operation or a search failed. Variants up to `TooLong` are
/// the caller's fault (an HTTP 4xx); the rest are the server's.
#[derive(Debug, Error)]
pub enum KnowledgeError {
    /// The query text does not parse.
    #[error("query does not parse: {0}")]
    Query(String),
    /// A filter value is out of range or malformed.
    #[error("bad filter {name}: {reason}")]
    Filter {
        /// The filter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The query text is longer than allowed.
    #[error("query is {len} characters; at most {max} are allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// One line of an import file is unusable.
    #[error("line {line}: {reason}")]
    Import {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// File system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// tantivy failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl KnowledgeError {
    /// True when the caller sent something wrong (HTTP 4xx), false when the
    /// server failed.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::Query(_) | Self::Filter { .. } | Self::TooLong { .. } | Self::Import { .. }
        )
    }
}
pub use tantivy::TantivyError;
