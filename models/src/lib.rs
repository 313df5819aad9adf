//! Inference for qloop: the embedder, the classifier and speech recognition.
//!
//! # Layout
//! Until the models issue lands this crate only names the triage state a case
//! is in before any model has looked at it.

/// Category of a case no model has classified yet: a real, visible state.
pub const UNTRIAGED: &str = "untriaged";

/// Severity of a case no model has assessed yet.
pub const UNASSESSED: &str = "unassessed";

/// Version string stored on cases triaged without a model.
pub const NO_MODEL: &str = "none";
