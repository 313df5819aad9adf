//! qloop edge agent: the daemon on a car's Linux head unit that turns a
//! driver's spoken feedback and a telemetry snapshot into durable, acknowledged
//! MQTT messages for the cloud.
//!
//! # Layout
//! - [`config`]: TOML config with an embedded default, env overrides, validation.
//! - [`audio`]: WAV clip validation.
//! - [`telemetry`]: CAN frames → DBC signals → VSS → snapshot around a trigger.
//! - [`capture`]: building the feedback envelope and its messages.
//! - [`outbox`]: the crash-safe on-disk queue (one file per message).
//! - [`uplink`]: the MQTT event-loop owner: publish, PUBACK, reconnect, downlink.
//! - [`control`]: the Unix control socket for the voice assistant and HMI.
//! - [`lock`]: locking the shared outbox and hub so a panic does not poison them.
//! - [`cmd`]: one module per CLI command; [`cmd::send::send_once`] is the
//!   in-process entry point for tests and demos.
//!
//! Data path: trigger → [`capture`] → [`outbox::Outbox::commit_all`] →
//! [`uplink`] publish (QoS 1) → PUBACK → [`outbox::Outbox::remove`].

#![forbid(unsafe_code)]

pub mod audio;
pub mod capture;
pub mod cmd;
pub mod config;
pub mod control;
pub mod lock;
pub mod outbox;
pub mod recorder;
pub mod telemetry;
pub mod uplink;

pub use capture::{CaptureInput, CaptureRequest};
pub use cmd::send::{send_captures, send_once, SendReport};
pub use config::{Config, FixtureVehicle};
