//! The emerging-issue rule: a case reported by at least `min_vehicles`
//! distinct vehicles within `window_days` (up to the newest report) is an
//! emerging issue, once. Becoming one asks for a severity review over every
//! report ([`super::severity_review`]) and an `emerging_issue` event.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{aggregates::Report, DAY_MS};

/// A case that has just become an emerging issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emerging {
    /// Distinct vehicles within the window.
    pub vehicles: usize,
    /// The window, days.
    pub window_days: u32,
}

/// Whether a case becomes emerging with a report captured at `at_ms`:
/// `None` when it already is one (`flagged`) or too few distinct vehicles
/// reported it within `window_days` up to `at_ms`.
pub fn check(
    flagged: bool,
    reports: &[Report],
    at_ms: i64,
    min_vehicles: u32,
    window_days: u32,
) -> Option<Emerging> {
    if flagged {
        return None;
    }
    let since = at_ms.saturating_sub(i64::from(window_days) * DAY_MS);
    let vehicles = reports
        .iter()
        .filter(|r| (since..=at_ms).contains(&r.captured_at_ms))
        .map(|r| r.vin.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    (vehicles >= min_vehicles as usize).then_some(Emerging {
        vehicles,
        window_days,
    })
}

impl Emerging {
    /// The history entry's text.
    pub fn summary(&self) -> String {
        format!(
            "{} vehicles within {} days",
            self.vehicles, self.window_days
        )
    }

    /// Why the review escalates the case, when it finds it major.
    pub fn escalation_reason(reasons: &[String]) -> String {
        format!("emerging issue; {}", reasons.join(", "))
    }

    /// The severity review's history text: the severity the case has after
    /// it, with the signs found (or that none was).
    pub fn review_history(severity: &str, reasons: &[String]) -> String {
        let why = if reasons.is_empty() {
            " (no safety sign in any report)".to_string()
        } else {
            format!(" ({})", reasons.join(", "))
        };
        format!("reviewed over every report: {severity}{why}")
    }

    /// The `emerging_issue` event's payload.
    pub fn payload(&self, case_id: i64, title: &str, category: &str, severity: &str) -> Value {
        json!({
            "case_id": case_id,
            "title": title,
            "category": category,
            "vehicles": self.vehicles,
            "window_days": self.window_days,
            "severity": severity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(vin: &str, at: i64) -> Report {
        Report {
            vin: vin.into(),
            captured_at_ms: at,
            ..Report::default()
        }
    }

    #[test]
    fn enough_distinct_vehicles_within_the_window_make_a_case_emerging() {
        let at = 30 * DAY_MS;
        let reports: Vec<_> = (0..3).map(|i| report(&format!("V{i}"), at - i)).collect();
        assert_eq!(
            check(false, &reports, at, 3, 7),
            Some(Emerging {
                vehicles: 3,
                window_days: 7
            })
        );
        assert_eq!(check(false, &reports, at, 4, 7), None);
    }

    #[test]
    fn repeats_from_one_car_count_once() {
        let at = 10 * DAY_MS;
        let reports = vec![report("V1", at), report("V1", at - 1), report("V2", at)];
        assert_eq!(check(false, &reports, at, 3, 7), None);
        assert_eq!(check(false, &reports, at, 2, 7).unwrap().vehicles, 2);
    }

    #[test]
    fn reports_outside_the_window_do_not_count() {
        let at = 30 * DAY_MS;
        let since = at - 7 * DAY_MS;
        let reports = vec![
            report("OLD", since - 1),
            report("EDGE", since),
            report("NOW", at),
            report("LATER", at + 1),
        ];
        assert_eq!(check(false, &reports, at, 2, 7).unwrap().vehicles, 2);
        assert_eq!(check(false, &reports, at, 3, 7), None);
    }

    #[test]
    fn a_case_is_emerging_once() {
        let reports = vec![report("V1", 0), report("V2", 0)];
        assert_eq!(check(true, &reports, 0, 1, 7), None);
    }

    #[test]
    fn the_texts_name_the_vehicles_window_and_signs() {
        let e = Emerging {
            vehicles: 5,
            window_days: 7,
        };
        assert_eq!(e.summary(), "5 vehicles within 7 days");
        assert_eq!(
            Emerging::review_history("minor", &[]),
            "reviewed over every report: minor (no safety sign in any report)"
        );
        let reasons = vec!["brakes".to_string(), "dtc C0045".to_string()];
        assert_eq!(
            Emerging::review_history("major", &reasons),
            "reviewed over every report: major (brakes, dtc C0045)"
        );
        assert_eq!(
            Emerging::escalation_reason(&reasons),
            "emerging issue; brakes, dtc C0045"
        );
        let p = e.payload(4, "t", "brakes", "major");
        assert_eq!(p["vehicles"], 5);
        assert_eq!(p["window_days"], 7);
        assert_eq!(p["severity"], "major");
    }
}
