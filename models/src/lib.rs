//! Inference for qloop: sentence embeddings, triage classification and
//! severity. Speech recognition lives in the `speech` crate.
//!
//! # Layout
//! - [`weights`]: where the model folder is; fetched on first use.
//! - [`embed`]: all-MiniLM-L6-v2 on its own thread.
//! - [`bert`]: the encoder itself (unpadded, fused CPU forward pass); its
//!   linear layers, GELU and layer norm are `qloop_kernels`'.
//! - [`taxonomy`]: categories, departments, exemplars, outside-label mapping.
//! - [`classify`]: kNN over labelled examples (corrections count at once).
//! - [`head`]: a trained, calibrated softmax head on embeddings.
//! - [`trained`]: the category, major and hazard heads together.
//! - [`hazard`]: the hazards a safety complaint names.
//! - [`training`]: training data, with the evaluation holdout skipped.
//! - [`severity`]: `major`/`minor` from words and telemetry.
//! - [`eval`]: accuracy, macro-F1, per category, safety recall/precision.
//! - [`error`]: what can go wrong.

// The one unsafe kind here is memory-mapping the weights file (candle's
// `VarBuilder::from_mmaped_safetensors`); each says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bert;
pub mod classify;
pub mod corpus;
pub mod embed;
pub mod error;
pub mod eval;
pub mod hazard;
pub mod head;
pub mod severity;
pub mod taxonomy;
pub mod trained;
pub mod training;
pub mod weights;

pub use classify::{Classifier, ClassifierConfig, Prediction, Votes, NEEDS_HUMAN_TRIAGE};
pub use embed::{Embedder, EMBEDDING_DIM};
pub use error::ModelError;
pub use hazard::{Hazard, HazardCall};
pub use taxonomy::Taxonomy;
pub use trained::TriageHeads;

/// Category of a case no model has classified yet: a real, visible state.
pub const UNTRIAGED: &str = "untriaged";

/// Severity of a case no model has assessed yet.
pub const UNASSESSED: &str = "unassessed";

/// Version string stored on cases triaged without a model.
pub const NO_MODEL: &str = "none";
