//! Vehicle telemetry on the edge: from CAN frames to the snapshot that rides
//! in a feedback envelope.
//!
//! # Layout
//! - [`candump`]: parse `candump -l` log lines into [`candump::CanFrame`]s.
//! - [`dbc`]: load a DBC database and decode frames into physical signals.
//! - [`vss`]: map DBC signals to COVESA VSS paths and units.
//! - [`ring`]: bounded per-signal ring buffers.
//! - [`snapshot`]: the recorder that feeds the rings and cuts a
//!   [`qloop_protocol::TelemetrySnapshot`] around a trigger.
//! - [`replay`]: replay a candump log through a DBC into a recorder.

pub mod candump;
pub mod dbc;
pub mod replay;
pub mod ring;
pub mod snapshot;
pub mod vss;

pub use replay::replay_candump;
