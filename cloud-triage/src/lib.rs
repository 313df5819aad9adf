//! cloud-triage: takes driver feedback from MQTT, stores it durably, opens a
//! tracked case, answers the car, and serves the HTTP API.
//!
//! # Layout
//! The layers, from the wire inwards (ARCHITECTURE.md walks the data path):
//! - Transport at the edge: [`ingest`] (the MQTT loop: decode, validate,
//!   run the use case, then acknowledge), [`downlink`] (queued events to cars,
//!   their PUBACKs), [`api`] (axum routes, request bodies, the OpenAPI
//!   document), [`ui`] (the web pages for engineers and operators, on the
//!   same use cases and read models as the API), [`notify`] (webhook delivery), [`sla`] (the scheduler that
//!   ticks the SLA clocks), [`broker`] (the embedded rumqttd broker) and
//!   [`mqtt`] (client options for both connections).
//! - [`app`]: the use cases, one transaction each (ingest, late transcript,
//!   transition, patch, merge, split, satisfaction, send update, SLA tick).
//! - [`domain`]: the case rules and states as plain types and functions (no I/O).
//! - [`store`]: maps rows of SQLite or PostgreSQL to domain types and back,
//!   behind one schema and one code path.
//! - [`views`]: the read models the store fills and the API serves as JSON.
//! - Services the use cases call: [`triage`] (category, department, severity),
//!   [`asr`] (clips without a good transcript), [`knowledge`] (the knowledge
//!   index inside the service), [`audio`] (clips on disk).
//! - Wiring: [`config`] (flags, environment, defaults), [`policy`]
//!   (`policy.toml`, read and checked once at start), [`service`] (starts
//!   everything with an injectable shutdown), [`cmd`] (one file per
//!   subcommand).

pub mod api;
pub mod app;
pub mod asr;
pub mod audio;
pub mod broker;
pub mod cmd;
pub mod config;
pub mod domain;
pub mod downlink;
pub mod ingest;
pub mod knowledge;
pub mod mqtt;
pub mod notify;
pub mod policy;
pub mod service;
pub mod sla;
pub mod store;
pub mod triage;
pub mod ui;
pub mod views;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
