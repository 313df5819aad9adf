//! SLA targets by severity and category, with the defaults from the field
//! (DESIGN.md "Facts from the field"): routed within 30 minutes, first
//! response within 2 hours, resolution within 48 hours, major cases
//! escalated at once, unresolved after 3 working days reported upwards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    calendar::{Calendar, WorkingTime},
    Severity, SlaMetric,
};

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
///
/// Its calendar is checked once, when the policy is read (a bad one fails
/// the read, naming the key) or built with [`SlaPolicy::with_calendar`];
/// every clock then counts with [`SlaPolicy::working_time`], which cannot
/// fail. [`SlaPolicy::validate`] refuses a calendar changed afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SlaPolicyFile")]
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
    /// The calendar, checked.
    #[serde(skip)]
    working_time: WorkingTime,
}

/// The `[sla]` section as written, before its calendar is checked.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SlaPolicyFile {
    calendar: Calendar,
    default: SlaTargets,
    major: SlaTargets,
    categories: BTreeMap<String, SlaTargets>,
    imminent_at: f64,
    unresolved_working_days: u32,
    tick_seconds: u32,
}

impl Default for SlaPolicyFile {
    fn default() -> Self {
        let d = SlaPolicy::default();
        Self {
            calendar: d.calendar,
            default: d.default,
            major: d.major,
            categories: d.categories,
            imminent_at: d.imminent_at,
            unresolved_working_days: d.unresolved_working_days,
            tick_seconds: d.tick_seconds,
        }
    }
}

impl TryFrom<SlaPolicyFile> for SlaPolicy {
    type Error = String;

    fn try_from(file: SlaPolicyFile) -> Result<Self, String> {
        let policy = SlaPolicy {
            default: file.default,
            major: file.major,
            categories: file.categories,
            imminent_at: file.imminent_at,
            unresolved_working_days: file.unresolved_working_days,
            tick_seconds: file.tick_seconds,
            ..SlaPolicy::default()
        };
        policy
            .with_calendar(file.calendar)
            .map_err(|e| e.to_string())
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            working_time: WorkingTime::default(),
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
    /// This policy with another calendar, checked now; the error names the
    /// calendar's bad key.
    pub fn with_calendar(mut self, calendar: Calendar) -> anyhow::Result<SlaPolicy> {
        self.working_time = calendar.working_time()?;
        self.calendar = calendar;
        Ok(self)
    }

    /// The working time clocks count, from the calendar checked when the
    /// policy was read.
    pub fn working_time(&self) -> &WorkingTime {
        &self.working_time
    }

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
        if self.calendar.working_time()? != self.working_time {
            anyhow::bail!(
                "sla.calendar: changed after the policy was checked (build it with SlaPolicy::with_calendar)"
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::CalendarKind;

    const HOUR: i64 = 3_600_000;
    /// Monday 2026-11-02 00:00 UTC.
    const MONDAY: i64 = 1_793_577_600_000;

    /// A business calendar table, with one key replaced.
    fn calendar(key: &str, value: &str) -> String {
        let mut keys = [
            ("kind", "\"business\""),
            ("utc_offset_minutes", "0"),
            ("days", "[\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]"),
            ("start", "\"08:00\""),
            ("end", "\"18:00\""),
            ("holidays", "[]"),
        ];
        for (k, v) in keys.iter_mut() {
            if *k == key {
                *v = value;
            }
        }
        let lines: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("[calendar]\n{}\n", lines.join("\n"))
    }

    #[test]
    fn the_calendar_is_checked_when_the_policy_is_read_and_the_error_names_the_key() {
        let read = |text: &str| toml::from_str::<SlaPolicy>(text);
        for (key, value) in [
            ("days", "[\"funday\"]"),
            ("start", "\"25:00\""),
            ("holidays", "[\"someday\"]"),
        ] {
            let text = calendar(key, value);
            let err = read(&text).unwrap_err().to_string();
            assert!(
                err.contains(&format!("sla.calendar.{key}")),
                "{text:?} gave {err}"
            );
        }
        let err = read("[calendar]\nknd = \"24x7\"").unwrap_err().to_string();
        assert!(err.contains("knd"), "{err}");
        let err = read("imminent = 0.5").unwrap_err().to_string();
        assert!(err.contains("imminent"), "{err}");
    }

    #[test]
    fn a_read_policy_counts_with_its_calendar() {
        let text = format!(
            "{}[default]\nfirst_response_minutes = 90\n",
            calendar("kind", "\"business\"")
        );
        let policy: SlaPolicy = toml::from_str(&text).unwrap();
        assert_eq!(policy.default.first_response_minutes, 90);
        assert_eq!(policy.default.route_minutes, 30, "unset keys keep defaults");
        // Monday 17:00 + 2 working hours: Tuesday 09:00.
        assert_eq!(
            policy.working_time().add(MONDAY + 17 * HOUR, 2 * HOUR),
            MONDAY + 33 * HOUR
        );
        assert_eq!(
            *policy.working_time(),
            policy.calendar.working_time().unwrap()
        );
        policy.validate().unwrap();
        let empty: SlaPolicy = toml::from_str("").unwrap();
        assert_eq!(empty, SlaPolicy::default());
    }

    #[test]
    fn a_calendar_changed_after_the_check_is_refused_by_validate() {
        let business = Calendar {
            kind: CalendarKind::Business,
            ..Calendar::default()
        };
        // Outside this module only a field assignment can do this.
        let changed = SlaPolicy {
            calendar: business.clone(),
            ..SlaPolicy::default()
        };
        let err = changed.validate().unwrap_err().to_string();
        assert!(err.contains("sla.calendar"), "{err}");
        let built = SlaPolicy::default().with_calendar(business).unwrap();
        built.validate().unwrap();
        assert_ne!(built.working_time(), &WorkingTime::default());
        let bad = Calendar {
            kind: CalendarKind::Business,
            end: "7pm".into(),
            ..Calendar::default()
        };
        let err = SlaPolicy::default()
            .with_calendar(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sla.calendar.end"), "{err}");
    }

    #[test]
    fn category_targets_win_over_severity_targets() {
        let mut policy = SlaPolicy::default();
        let brakes = SlaTargets {
            first_response_minutes: 10,
            ..SlaTargets::default()
        };
        policy.categories.insert("brakes".into(), brakes);
        assert_eq!(policy.targets(Severity::Minor, "brakes"), brakes);
        assert_eq!(policy.targets(Severity::Major, "hvac"), policy.major);
        assert_eq!(policy.targets(Severity::Unassessed, "hvac"), policy.default);
        assert_eq!(policy.major.target_ms(SlaMetric::FirstResponse), HOUR);
    }
}
