//! The use cases: one use case, one transaction. Each opens one write
//! transaction, loads what it needs through [`crate::store`], asks
//! [`crate::domain`] for a plan, applies the plan through the store, and
//! commits. The HTTP API, the web UI and the MQTT ingest loop call these;
//! none of them writes a case another way.
//!
//! The use cases are methods of [`crate::store::Store`] (`store.ingest_feedback(..)`)
//! so their many callers read as before, but they are defined here: the
//! store modules only map rows to domain types and back, and never call up
//! into this layer.
//!
//! # Layout
//! - [`ingest`]: store one feedback, link it to an open case of the same
//!   issue or open its case, and queue the car's receipt.
//! - [`late_transcript`]: the cloud's words for a clip that came in chunks.
//! - [`merge`], [`split`]: an engineer's merge and split of fleet cases.
//! - [`transition`], [`patch`], [`send_update`]: an engineer moves a case
//!   through its 8D lifecycle, changes its fields, tells the driver how it
//!   is going.
//! - [`satisfaction`]: the driver's answer closes or reopens a case.
//! - [`sla_tick`]: one pass of the SLA scheduler (breaches, escalations,
//!   follow-up questions).
//! - [`fleet`]: the steps these share (aggregates, centroid, linking,
//!   emerging, suggested fixes).

pub mod fleet;
pub mod ingest;
pub mod late_transcript;
pub mod merge;
pub mod patch;
pub mod satisfaction;
pub mod send_update;
pub mod sla_tick;
pub mod split;
pub mod transition;
