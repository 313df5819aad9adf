//! SLA clocks: per case and metric, a target in working time, started when
//! the case opens, paused while the case waits on the customer, stopped
//! when the metric is met; the scheduler raises escalations (breach
//! imminent, breached, unresolved after N working days) exactly once each.
//!
//! The rules (working time, targets, when a clock breaches) are pure and
//! live in [`crate::domain`]; they are re-exported here under their old
//! paths.
//!
//! # Layout
//! - [`calendar`]: working time (24x7 or business hours with holidays),
//!   from [`crate::domain::calendar`].
//! - [`policy`]: targets by severity and category, from the policy file,
//!   from [`crate::domain::sla_policy`].
//! - [`scheduler`]: the periodic tick that raises escalations (the pass
//!   itself is the use case [`crate::app::sla_tick`]).

pub mod scheduler;

pub use crate::domain::{calendar, sla_policy as policy};
pub use calendar::{Calendar, CalendarKind, WorkingTime};
pub use policy::{SlaPolicy, SlaTargets};

pub use crate::domain::SlaMetric;

/// The driver hears an update: started by the first response, restarted by
/// every later message, stopped by the resolution.
pub const NEXT_UPDATE: &str = SlaMetric::NextUpdate.as_str();
/// Registered and routed to the responsible department.
pub const ROUTE: &str = SlaMetric::Route.as_str();
/// The driver got a first answer.
pub const FIRST_RESPONSE: &str = SlaMetric::FirstResponse.as_str();
/// The issue was resolved (effectiveness verified).
pub const RESOLUTION: &str = SlaMetric::Resolution.as_str();
