//! SLA targets by severity and category, with the defaults from the field
//! (DESIGN.md "Facts from the field"): routed within 30 minutes, first
//! response within 2 hours, resolution within 48 hours, major cases
//! escalated at once, unresolved after 3 working days reported upwards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{calendar::Calendar, Severity, SlaMetric};

/// Targets for one class of case, in minutes of working time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaTargets {
    /// Registered and routed to a department.
    pub route_minutes: u32,
    /// First response to the driver.
    pub first_response_minutes: u32,
    /// Resolution (effectiveness verified).
    pub resolution_minutes: u32,
    /// Longest silence towards the driver between the first response and
    /// the resolution.
    pub next_update_minutes: u32,
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            route_minutes: 30,
            first_response_minutes: 120,
            resolution_minutes: 48 * 60,
            next_update_minutes: 24 * 60,
        }
    }
}

impl SlaTargets {
    /// The target of `metric`, ms.
    pub fn target_ms(&self, metric: SlaMetric) -> i64 {
        let minutes = match metric {
            SlaMetric::Route => self.route_minutes,
            SlaMetric::FirstResponse => self.first_response_minutes,
            SlaMetric::Resolution => self.resolution_minutes,
            SlaMetric::NextUpdate => self.next_update_minutes,
        };
        i64::from(minutes) * 60_000
    }
}

/// The `[sla]` section of the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaPolicy {
    /// When clocks run.
    pub calendar: Calendar,
    /// Targets of minor (and not yet assessed) cases.
    pub default: SlaTargets,
    /// Targets of major cases.
    pub major: SlaTargets,
    /// Targets for a category, over the severity's (e.g. `brakes`).
    pub categories: BTreeMap<String, SlaTargets>,
    /// Share of a target used when "breach imminent" is raised (0..1).
    pub imminent_at: f64,
    /// Working days after which an unresolved case is reported upwards.
    pub unresolved_working_days: u32,
    /// Seconds between scheduler ticks.
    pub tick_seconds: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            calendar: Calendar::default(),
            default: SlaTargets::default(),
            major: SlaTargets {
                route_minutes: 15,
                first_response_minutes: 60,
                resolution_minutes: 24 * 60,
                next_update_minutes: 12 * 60,
            },
            categories: BTreeMap::new(),
            imminent_at: 0.8,
            unresolved_working_days: 3,
            tick_seconds: 30,
        }
    }
}

impl SlaPolicy {
    /// The targets of a case.
    pub fn targets(&self, severity: Severity, category: &str) -> SlaTargets {
        if let Some(t) = self.categories.get(category) {
            return *t;
        }
        if severity.is_major() {
            self.major
        } else {
            self.default
        }
    }

    /// Checks values types cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.calendar.working_time()?;
        if !(self.imminent_at > 0.0 && self.imminent_at < 1.0) {
            anyhow::bail!("sla.imminent_at must be between 0 and 1");
        }
        if self.unresolved_working_days == 0 {
            anyhow::bail!("sla.unresolved_working_days must be at least 1");
        }
        if self.tick_seconds == 0 || self.tick_seconds > 3600 {
            anyhow::bail!("sla.tick_seconds must be 1..=3600");
        }
        for (name, t) in std::iter::once(("default", &self.default))
            .chain(std::iter::once(("major", &self.major)))
            .chain(self.categories.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if t.route_minutes == 0
                || t.first_response_minutes == 0
                || t.resolution_minutes == 0
                || t.next_update_minutes == 0
            {
                anyhow::bail!("sla targets of {name}: every target must be at least one minute");
            }
        }
        Ok(())
    }
}
