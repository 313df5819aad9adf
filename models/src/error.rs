//! Errors of the inference layer.

use std::path::PathBuf;

use thiserror::Error;

/// Why loading or running a model failed.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A model file is missing or unreadable.
    #[error("model file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model folder could not be found or fetched.
    #[error("embedding model not available: {0}")]
    Missing(String),
    /// Tokenisation failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor computation failed.
    #[error("inference: {0}")]
    Inference(#[from] candle_core::Error),
    /// The inference thread is gone.
    #[error("the embedding thread stopped")]
    Stopped,
    /// Bad input data (taxonomy, labelled examples).
    #[error("{0}")]
    Data(String),
}
