//! The store's one error type.

/// What can go wrong reading or writing the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement, or the connection broke.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed or the stored schema does not match this build.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that this build cannot read back (bad JSON, bad uuid, ...).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The write contradicts what is already stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's values break a rule (unknown field, wrong type, bad status).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL names a backend qloop does not support.
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
}

impl From<crate::domain::Refusal> for StoreError {
    fn from(refusal: crate::domain::Refusal) -> Self {
        Self::Invalid(refusal.to_string())
    }
}

impl From<crate::domain::UnknownValue> for StoreError {
    /// A caller's value that is none of the allowed ones.
    fn from(unknown: crate::domain::UnknownValue) -> Self {
        Self::Invalid(unknown.to_string())
    }
}
