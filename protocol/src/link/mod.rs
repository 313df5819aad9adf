//! How each end reaches the MQTT broker: the broker URL both configs take,
//! and the reconnect backoff both event loops wait by. The car
//! (`edge-agent`) and the cloud (`cloud-triage`) parse and retry the same
//! way, so a URL one accepts the other accepts too.
//!
//! # Layout
//! - [`broker_url`]: `mqtt://host[:port]` and `mqtts://host[:port]`.
//! - [`backoff`]: exponential delays with random jitter.

pub mod backoff;
pub mod broker_url;

pub use backoff::Backoff;
pub use broker_url::{BrokerUrl, BrokerUrlError};
