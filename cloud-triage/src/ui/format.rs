//! How the pages print times, durations, SLA clocks and hazards.

use qloop_models::Hazard;

use crate::domain::{clocks::SlaClock, Severity, SlaMetric};

/// A Unix-ms instant as `2026-12-07 19:43 UTC`.
pub fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// An optional instant, or a dash.
pub fn when_opt(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_string(), when)
}

/// A duration as the two largest units: `2 d 4 h`, `3 h 12 min`, `45 s`.
pub fn duration(ms: i64) -> String {
    let sign = if ms < 0 { "−" } else { "" };
    let s = ms.unsigned_abs() / 1000;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    let text = if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    };
    format!("{sign}{text}")
}

/// A major case's hazard in words (`loss of braking`), shown beside its
/// severity; `None` when the case is not major or names none.
pub fn hazard_words(severity: Severity, hazard: Option<Hazard>) -> Option<&'static str> {
    hazard.filter(|_| severity.is_major()).map(Hazard::label)
}

/// An SLA metric's name as people say it.
pub fn metric_label(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::Route => "Route",
        SlaMetric::FirstResponse => "First response",
        SlaMetric::Resolution => "Resolution",
        SlaMetric::NextUpdate => "Next update",
    }
}

/// One SLA badge: a metric's current clock as a word and a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaBadge {
    /// `route`, `first_response`, …
    pub metric: &'static str,
    /// `Route`, `First response`, …
    pub label: &'static str,
    /// `running`, `paused`, `breached` or `met`.
    pub state: &'static str,
    /// `3 h 12 min left`, `paused, 2 d left`, `breached 4 h ago`, `met`.
    pub text: String,
}

/// One badge per metric, from each metric's current (highest) cycle.
pub fn sla_badges(clocks: &[SlaClock]) -> Vec<SlaBadge> {
    let mut current: Vec<&SlaClock> = Vec::new();
    for clock in clocks {
        match current.iter_mut().find(|c| c.metric == clock.metric) {
            Some(c) if c.cycle < clock.cycle => *c = clock,
            Some(_) => {}
            None => current.push(clock),
        }
    }
    current.sort_by_key(|c| c.metric);
    current.into_iter().map(badge).collect()
}

fn badge(clock: &SlaClock) -> SlaBadge {
    let paused = clock.paused.last().is_some_and(|(_, to)| to.is_none());
    let (state, text) = if clock.breached {
        (
            "breached",
            format!("breached, {} over", duration(-clock.remaining_ms)),
        )
    } else if clock.stopped_at_ms.is_some() {
        ("met", format!("met in {}", duration(clock.elapsed_ms)))
    } else if paused {
        (
            "paused",
            format!("paused, {} left", duration(clock.remaining_ms)),
        )
    } else {
        ("running", format!("{} left", duration(clock.remaining_ms)))
    };
    SlaBadge {
        metric: clock.metric.as_str(),
        label: metric_label(clock.metric),
        state,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(metric: SlaMetric, cycle: i64) -> SlaClock {
        SlaClock {
            metric,
            cycle,
            target_ms: 3_600_000,
            started_at_ms: 0,
            stopped_at_ms: None,
            paused: vec![],
            elapsed_ms: 600_000,
            remaining_ms: 3_000_000,
            due_at_ms: 3_600_000,
            breached: false,
            breached_at_ms: None,
        }
    }

    #[test]
    fn only_a_major_case_shows_its_hazard_in_words() {
        let fire = Some(Hazard::FireOrSmoke);
        assert_eq!(hazard_words(Severity::Major, fire), Some("fire or smoke"));
        assert_eq!(hazard_words(Severity::Minor, fire), None);
        assert_eq!(hazard_words(Severity::Major, None), None);
    }

    #[test]
    fn each_metric_shows_its_current_cycle_as_running_paused_breached_or_met() {
        let mut old = clock(SlaMetric::Resolution, 0);
        old.breached = true;
        old.remaining_ms = -7_200_000;
        let mut paused = clock(SlaMetric::FirstResponse, 0);
        paused.paused = vec![(100, None)];
        let mut met = clock(SlaMetric::Route, 0);
        met.stopped_at_ms = Some(600_000);
        let badges = sla_badges(&[old, clock(SlaMetric::Resolution, 1), paused, met]);
        let got: Vec<(&str, &str, &str)> = badges
            .iter()
            .map(|b| (b.metric, b.state, b.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("route", "met", "met in 10 min"),
                ("first_response", "paused", "paused, 50 min left"),
                ("resolution", "running", "50 min left"),
            ]
        );
    }

    #[test]
    fn durations_and_instants_read_as_people_write_them() {
        assert_eq!(duration(45_000), "45 s");
        assert_eq!(duration(3 * 3_600_000 + 12 * 60_000), "3 h 12 min");
        assert_eq!(duration(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(duration(-90 * 60_000), "−1 h 30 min");
        assert_eq!(when(1_717_000_000_000), "2024-05-29 16:26 UTC");
        assert_eq!(when_opt(None), "—");
    }
}
