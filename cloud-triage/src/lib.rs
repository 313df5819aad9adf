//! cloud-triage: takes driver feedback from MQTT, stores it durably, opens a
//! tracked case, answers the car, and serves the HTTP API.
//!
//! # Layout
//! - [`config`]: the service's settings (flags, environment, defaults).
//! - [`broker`]: the embedded rumqttd broker used when no external URL is given.
//! - [`mqtt`]: broker URLs and client options shared by ingest and downlink.
//! - [`ingest`]: the MQTT loop: decode, validate, commit, then acknowledge.
//! - [`audio`]: audio files on disk (inline clips and reassembled chunks).
//! - [`downlink`]: publishes queued events to cars and records their PUBACKs.
//! - [`app`]: the use cases, one transaction each (ingest, late transcript,
//!   merge, split, …): load through the store, plan with the domain, save.
//! - [`domain`]: the case rules and states as plain types and functions (no I/O).
//! - [`store`]: SQLite or PostgreSQL behind one schema and one code path.
//! - [`asr`]: transcribes clips that came without a (good) transcript.
//! - [`triage`]: category, department, severity and confidence for each feedback.
//! - [`knowledge`]: the knowledge index (import, rebuild) inside the service.
//! - [`api`]: the axum HTTP API and its OpenAPI document.
//! - [`service`]: wires everything together with an injectable shutdown.
//! - [`cmd`]: one file per command-line subcommand.

#![forbid(unsafe_code)]

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
pub mod views;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
