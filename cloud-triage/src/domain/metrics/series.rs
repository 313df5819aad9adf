//! The operators' figures over time: a range cut into buckets (days or
//! weeks), each bucket's cases (by when they were opened) measured by
//! [`super::response_times`] as of the range's end, so a case opened late
//! in a bucket is judged on the same day as one opened early.

use std::collections::HashMap;

use serde::Serialize;

use super::{response_times, CaseFigures, ClockFigures, Durations, DAY_MS};
use crate::domain::calendar::WorkingTime;

/// One bucket of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Bucket start (cases opened at or after), Unix ms.
    pub from_ms: i64,
    /// Bucket end (cases opened before), Unix ms.
    pub to_ms: i64,
    /// Cases opened in the bucket (merged-away cases not counted).
    pub cases: usize,
    /// Their first-response times, working time.
    pub first_response: Durations,
    /// Their resolution times, working time.
    pub resolution: Durations,
    /// Their first-response clocks breached (current cycle).
    pub first_response_breached: usize,
    /// Their resolution clocks breached (current cycle).
    pub resolution_breached: usize,
}

/// The bucket width for a range `span_ms` long: a day up to a month, a
/// week up to a year, thirty days beyond (at most about sixty points for
/// the periods people pick).
pub fn bucket_ms(span_ms: i64) -> i64 {
    if span_ms <= 31 * DAY_MS {
        DAY_MS
    } else if span_ms <= 366 * DAY_MS {
        7 * DAY_MS
    } else {
        30 * DAY_MS
    }
}

/// The figures of `[from_ms, to_ms)` in buckets of `bucket_ms` (the last
/// one cut at `to_ms`), oldest first, every bucket present even when empty.
pub fn series(
    from_ms: i64,
    to_ms: i64,
    bucket_ms: i64,
    cases: &[CaseFigures],
    clocks: &[ClockFigures],
    wt: &WorkingTime,
) -> Vec<SeriesPoint> {
    let bucket_ms = bucket_ms.max(1);
    let span = (to_ms - from_ms).max(0);
    let count = usize::try_from((span + bucket_ms - 1) / bucket_ms).unwrap_or(0);
    let bucket_of = |ms: i64| usize::try_from((ms - from_ms) / bucket_ms).ok();
    let mut case_buckets: Vec<Vec<CaseFigures>> = vec![Vec::new(); count];
    let mut bucket_of_case = HashMap::new();
    for case in cases {
        if let Some(b) = bucket_of(case.opened_at_ms).filter(|b| *b < count) {
            case_buckets[b].push(case.clone());
            bucket_of_case.insert(case.id, b);
        }
    }
    let mut clock_buckets: Vec<Vec<ClockFigures>> = vec![Vec::new(); count];
    for clock in clocks {
        if let Some(b) = bucket_of_case.get(&clock.case_id) {
            clock_buckets[*b].push(clock.clone());
        }
    }
    case_buckets
        .iter()
        .zip(&clock_buckets)
        .enumerate()
        .map(|(b, (cases, clocks))| {
            let start = from_ms + b as i64 * bucket_ms;
            let figures = response_times(start, to_ms, cases, clocks, wt);
            let breached = |metric: &str| figures.breaches.get(metric).map_or(0, |r| r.breached);
            SeriesPoint {
                from_ms: start,
                to_ms: (start + bucket_ms).min(to_ms),
                cases: figures.cases,
                first_response_breached: breached("first_response"),
                resolution_breached: breached("resolution"),
                first_response: figures.first_response,
                resolution: figures.resolution,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::{CaseStatus, SlaMetric};

    const HOUR: i64 = 3_600_000;
    const T0: i64 = 1_793_577_600_000;

    fn case(id: i64, opened_at_ms: i64) -> CaseFigures {
        CaseFigures {
            id,
            status: CaseStatus::Acknowledged,
            category: "brakes".into(),
            opened_at_ms,
            reopen_count: 0,
            resolved_at_ms: None,
        }
    }

    fn first_response(case_id: i64, started: i64, took: Option<i64>) -> ClockFigures {
        ClockFigures {
            case_id,
            metric: SlaMetric::FirstResponse,
            cycle: 0,
            started_at_ms: started,
            stopped_at_ms: took.map(|t| started + t),
            paused_ms: 0,
            due_at_ms: started + 4 * HOUR,
            breached_at_ms: None,
        }
    }

    #[test]
    fn each_day_holds_the_cases_opened_that_day_with_their_own_percentiles() {
        let day2 = T0 + DAY_MS;
        let cases = [
            case(1, T0 + HOUR),
            case(2, T0 + 2 * HOUR),
            case(3, day2 + HOUR),
        ];
        let clocks = [
            first_response(1, T0 + HOUR, Some(HOUR)),
            first_response(2, T0 + 2 * HOUR, Some(3 * HOUR)),
            first_response(3, day2 + HOUR, None),
        ];
        let to = T0 + 3 * DAY_MS;
        let points = series(T0, to, DAY_MS, &cases, &clocks, &WorkingTime::default());
        assert_eq!(points.len(), 3, "every day, the empty third one too");
        assert_eq!((points[0].cases, points[0].first_response.n), (2, 2));
        assert_eq!(points[0].first_response.p50_ms, Some(HOUR));
        assert_eq!(points[0].first_response.p90_ms, Some(3 * HOUR));
        assert_eq!(points[0].first_response_breached, 0);
        assert_eq!(points[1].cases, 1);
        assert_eq!(points[1].first_response.p50_ms, None, "not answered yet");
        assert_eq!(
            points[1].first_response_breached, 1,
            "still running past due at the range's end"
        );
        assert_eq!((points[2].cases, points[2].from_ms), (0, T0 + 2 * DAY_MS));
    }

    #[test]
    fn the_last_bucket_is_cut_at_the_range_end_and_widths_follow_the_span() {
        let to = T0 + 10 * DAY_MS;
        let points = series(T0, to, 7 * DAY_MS, &[], &[], &WorkingTime::default());
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].to_ms, to);
        assert_eq!(bucket_ms(7 * DAY_MS), DAY_MS);
        assert_eq!(bucket_ms(90 * DAY_MS), 7 * DAY_MS);
        assert_eq!(bucket_ms(800 * DAY_MS), 30 * DAY_MS);
    }
}
