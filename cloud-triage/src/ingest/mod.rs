//! Ingest: every MQTT message from a car is decoded, validated, stored and
//! committed before it is acknowledged.
//!
//! # Layout
//! - [`handler`]: what happens to one message (pure of MQTT).
//! - [`mqtt_loop`]: the one task that owns the MQTT event loop, and the
//!   pipeline that processes messages concurrently but acknowledges them in
//!   arrival order, each only after its commit.

pub mod handler;
pub mod mqtt_loop;

pub use handler::{IngestError, IngestHandler, Outcome};
