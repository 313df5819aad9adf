//! The operators' figures from plain cases and clocks, without a database.

use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const T0: i64 = 1_793_577_600_000;

fn case(id: i64, status: CaseStatus) -> CaseFigures {
    CaseFigures {
        id,
        status,
        category: "brakes".into(),
        opened_at_ms: T0,
        reopen_count: 0,
        resolved_at_ms: None,
    }
}

fn clock(case_id: i64, metric: SlaMetric, cycle: i64, stopped_after: Option<i64>) -> ClockFigures {
    ClockFigures {
        case_id,
        metric,
        cycle,
        started_at_ms: T0,
        stopped_at_ms: stopped_after.map(|d| T0 + d),
        paused_ms: 0,
        due_at_ms: T0 + 2 * HOUR,
        breached_at_ms: None,
    }
}

fn figures(cases: &[CaseFigures], clocks: &[ClockFigures], to_ms: i64) -> ResponseTimes {
    response_times(T0 - 1, to_ms, cases, clocks, &WorkingTime::default())
}

#[test]
fn nearest_rank_percentiles() {
    let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    assert_eq!(percentile(&v, 0.5), Some(50));
    assert_eq!(percentile(&v, 0.9), Some(90));
    assert_eq!(percentile(&[7], 0.9), Some(7));
    assert_eq!(percentile(&[], 0.5), None);
    assert_eq!(
        durations(vec![30, 10, 20]),
        Durations {
            n: 3,
            p50_ms: Some(20),
            p90_ms: Some(30)
        }
    );
}

#[test]
fn ages_fall_in_their_buckets() {
    assert_eq!(age_bucket(23 * HOUR), "<1d");
    assert_eq!(age_bucket(24 * HOUR), "1-3d");
    assert_eq!(age_bucket(100 * HOUR), "3-7d");
    assert_eq!(age_bucket(200 * HOUR), ">7d");
}

#[test]
fn a_rate_of_nothing_is_zero() {
    assert_eq!(ratio(0, 0), 0.0);
    assert_eq!(ratio(1, 4), 0.25);
}

#[test]
fn durations_are_working_time_less_the_pauses_of_stopped_clocks() {
    let mut paused = clock(1, SlaMetric::FirstResponse, 0, Some(HOUR));
    paused.paused_ms = 20 * MIN;
    let clocks = [
        paused,
        clock(2, SlaMetric::FirstResponse, 0, Some(30 * MIN)),
        clock(3, SlaMetric::FirstResponse, 0, None),
        clock(1, SlaMetric::Resolution, 0, Some(5 * HOUR)),
    ];
    let m = figures(&[], &clocks, T0 + HOUR);
    assert_eq!(m.first_response.n, 2);
    assert_eq!(m.first_response.p50_ms, Some(30 * MIN));
    assert_eq!(m.first_response.p90_ms, Some(40 * MIN));
    assert_eq!(m.resolution.p50_ms, Some(5 * HOUR));
}

#[test]
fn a_clock_breaches_when_recorded_or_running_past_due_and_counts_once_measured() {
    let mut recorded = clock(1, SlaMetric::Route, 0, Some(3 * HOUR));
    recorded.breached_at_ms = Some(T0 + 2 * HOUR);
    let clocks = [
        recorded,
        clock(2, SlaMetric::Route, 0, None), // running, past due at to
        clock(3, SlaMetric::Route, 0, Some(HOUR)), // on time
        clock(4, SlaMetric::NextUpdate, 0, None), // running, past due
    ];
    let m = figures(&[], &clocks, T0 + 3 * HOUR);
    let route = &m.breaches["route"];
    assert_eq!((route.measured, route.breached), (3, 2));
    assert!((route.rate - 2.0 / 3.0).abs() < 1e-9);
    // Before it is due a running clock is not measured yet.
    let early = figures(&[], &[clock(2, SlaMetric::Route, 0, None)], T0 + HOUR);
    assert_eq!(early.breaches["route"].measured, 0);
}

#[test]
fn a_finished_cycle_counts_under_its_own_key_and_not_in_the_durations() {
    let mut first = clock(1, SlaMetric::Resolution, 0, Some(3 * HOUR));
    first.breached_at_ms = Some(T0 + 2 * HOUR);
    let clocks = [first, clock(1, SlaMetric::Resolution, 1, Some(HOUR))];
    let m = figures(&[], &clocks, T0 + 4 * HOUR);
    assert_eq!(m.breaches["resolution#1"].breached, 1);
    assert_eq!(m.breaches["resolution"].breached, 0);
    assert_eq!(m.resolution.n, 1);
    assert_eq!(m.resolution.p50_ms, Some(HOUR));
}

#[test]
fn closure_on_time_and_reopen_rates_count_their_cases() {
    let mut reopened = case(3, CaseStatus::Closed);
    reopened.reopen_count = 1;
    let mut resolved = case(4, CaseStatus::FollowUp);
    resolved.resolved_at_ms = Some(T0 + HOUR);
    let cases = [
        case(1, CaseStatus::Closed),
        case(2, CaseStatus::Closed),
        reopened,
        resolved,
        case(5, CaseStatus::Cancelled),
    ];
    let mut late = clock(2, SlaMetric::FirstResponse, 0, Some(3 * HOUR));
    late.breached_at_ms = Some(T0 + 2 * HOUR);
    // A late next update does not make a closed loop late.
    let mut silent = clock(1, SlaMetric::NextUpdate, 0, Some(3 * HOUR));
    silent.breached_at_ms = Some(T0 + 2 * HOUR);
    let m = figures(&cases, &[late, silent], T0 + 4 * HOUR);
    assert_eq!(m.cases, 5);
    assert_eq!(m.closure_rate, 3.0 / 4.0);
    assert_eq!(m.on_time_closed_loop_rate, 2.0 / 3.0);
    assert_eq!(m.reopen_rate, 1.0 / 2.0);
}

#[test]
fn the_backlog_holds_open_cases_by_age_at_the_range_end_and_category() {
    let mut old = case(2, CaseStatus::Contained);
    old.category = "hvac".into();
    old.opened_at_ms = T0 - 4 * 24 * HOUR;
    let cases = [
        case(1, CaseStatus::New),
        old,
        case(3, CaseStatus::Closed),
        case(4, CaseStatus::Cancelled),
    ];
    let m = figures(&cases, &[], T0 + HOUR);
    assert_eq!(m.backlog.len(), 2);
    assert_eq!(m.backlog["<1d"]["brakes"], 1);
    assert_eq!(m.backlog["3-7d"]["hvac"], 1);
}
