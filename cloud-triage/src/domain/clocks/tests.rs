//! The SLA clock rules, without a database.

use super::*;
use crate::domain::calendar::{Calendar, CalendarKind};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Monday 2026-11-02 00:00 UTC.
const MONDAY: i64 = 1_793_577_600_000;

fn around_the_clock() -> WorkingTime {
    WorkingTime::default()
}

fn business() -> WorkingTime {
    Calendar {
        kind: CalendarKind::Business,
        ..Calendar::default()
    }
    .working_time()
    .unwrap()
}

fn first_response(wt: &WorkingTime, at: i64) -> Clock {
    Clock::start(SlaMetric::FirstResponse, 0, 2 * HOUR, wt, at)
}

#[test]
fn a_clock_is_due_after_its_target_in_working_time() {
    let c = first_response(&around_the_clock(), MONDAY);
    assert_eq!(c.due_at_ms, MONDAY + 2 * HOUR);
    // Business hours: Monday 17:00 + 2 h is Tuesday 09:00.
    let c = first_response(&business(), MONDAY + 17 * HOUR);
    assert_eq!(c.due_at_ms, MONDAY + 33 * HOUR);
}

#[test]
fn stopping_on_time_records_no_breach_and_late_records_one_once() {
    let wt = around_the_clock();
    let mut on_time = first_response(&wt, MONDAY);
    assert_eq!(
        on_time.stop(&wt, MONDAY + 2 * HOUR),
        None,
        "at the due instant"
    );
    assert_eq!(on_time.breached_at_ms, None);
    let mut late = first_response(&wt, MONDAY);
    assert_eq!(
        late.stop(&wt, MONDAY + 2 * HOUR + 1).as_deref(),
        Some("first_response met late")
    );
    assert_eq!(late.breached_at_ms, Some(MONDAY + 2 * HOUR));
    assert_eq!(late.stop(&wt, MONDAY + 3 * HOUR), None, "stopped once");
    assert_eq!(late.stopped_at_ms, Some(MONDAY + 2 * HOUR + 1));
    // A breach the scheduler already marked is not raised again.
    let mut marked = first_response(&wt, MONDAY);
    marked.breached_at_ms = Some(MONDAY + 2 * HOUR);
    assert_eq!(marked.stop(&wt, MONDAY + 5 * HOUR), None);
}

#[test]
fn a_pause_moves_the_due_instant_by_the_working_time_it_took() {
    let wt = around_the_clock();
    let mut c = first_response(&wt, MONDAY);
    assert!(c.pause(MONDAY + 30 * MIN));
    assert!(!c.pause(MONDAY + 40 * MIN), "already paused");
    assert!(!c.is_running());
    assert!(c.resume(&wt, MONDAY + 10 * HOUR));
    assert_eq!(c.paused_ms, 9 * HOUR + 30 * MIN);
    assert_eq!(c.due_at_ms, MONDAY + 11 * HOUR + 30 * MIN);
    assert_eq!(c.pauses, vec![(MONDAY + 30 * MIN, MONDAY + 10 * HOUR)]);
    assert!(!c.resume(&wt, MONDAY + 11 * HOUR), "nothing to resume");
    // First response at 11:00: 1.5 h of clock, on time.
    assert_eq!(c.stop(&wt, MONDAY + 11 * HOUR), None);
    assert_eq!(c.reading(&wt, MONDAY + 20 * HOUR).elapsed_ms, 90 * MIN);
}

#[test]
fn a_pause_outside_working_hours_moves_nothing() {
    let wt = business();
    // Paused Monday 19:00 to Tuesday 07:00: no working time passed.
    let mut c = first_response(&wt, MONDAY + 9 * HOUR);
    let due = c.due_at_ms;
    c.pause(MONDAY + 19 * HOUR);
    c.resume(&wt, MONDAY + 31 * HOUR);
    assert_eq!((c.paused_ms, c.due_at_ms), (0, due));
}

#[test]
fn stopping_a_paused_clock_ends_its_pause_first() {
    let wt = around_the_clock();
    let mut c = first_response(&wt, MONDAY);
    c.pause(MONDAY + HOUR);
    assert_eq!(
        c.stop(&wt, MONDAY + 5 * HOUR),
        None,
        "paused time is not late"
    );
    assert_eq!(c.paused_since_ms, None);
    assert_eq!(c.due_at_ms, MONDAY + 6 * HOUR);
}

#[test]
fn a_cancelled_clock_stops_without_a_breach() {
    let wt = around_the_clock();
    let mut c = first_response(&wt, MONDAY);
    c.pause(MONDAY + HOUR);
    assert!(c.cancel(MONDAY + 50 * HOUR));
    assert_eq!(
        (c.stopped_at_ms, c.paused_since_ms, c.breached_at_ms),
        (Some(MONDAY + 50 * HOUR), None, None)
    );
    assert!(!c.cancel(MONDAY + 51 * HOUR));
    assert_eq!(c.tick(&wt, 0.8, MONDAY + 100 * HOUR), None);
}

#[test]
fn a_tick_finds_nothing_then_imminent_then_breached() {
    let wt = around_the_clock();
    let c = first_response(&wt, MONDAY);
    assert_eq!(c.tick(&wt, 0.8, MONDAY + 95 * MIN), None, "79 % used");
    assert_eq!(
        c.tick(&wt, 0.8, MONDAY + 96 * MIN),
        Some(TickFinding::Imminent {
            detail: "first_response due in 24 min".into()
        }),
        "80 % used"
    );
    assert_eq!(
        c.tick(&wt, 0.8, MONDAY + 2 * HOUR),
        Some(TickFinding::Breached {
            mark_at_ms: Some(MONDAY + 2 * HOUR),
            detail: "first_response target of 120 min missed".into()
        }),
        "due"
    );
    let mut marked = c.clone();
    marked.breached_at_ms = Some(MONDAY + 2 * HOUR);
    assert!(matches!(
        marked.tick(&wt, 0.8, MONDAY + 3 * HOUR),
        Some(TickFinding::Breached {
            mark_at_ms: None,
            ..
        })
    ));
}

#[test]
fn a_paused_or_stopped_clock_never_breaches_on_a_tick() {
    let wt = around_the_clock();
    let mut paused = first_response(&wt, MONDAY);
    paused.pause(MONDAY + HOUR);
    assert_eq!(paused.tick(&wt, 0.8, MONDAY + 100 * HOUR), None);
    let mut stopped = first_response(&wt, MONDAY);
    stopped.stop(&wt, MONDAY + HOUR);
    assert_eq!(stopped.tick(&wt, 0.8, MONDAY + 100 * HOUR), None);
}

#[test]
fn imminence_counts_working_time_without_pauses() {
    let wt = around_the_clock();
    let mut c = first_response(&wt, MONDAY);
    c.pause(MONDAY + HOUR);
    c.resume(&wt, MONDAY + 5 * HOUR);
    // 4 h paused: at 5:30 only 90 min of 120 are used (75 %).
    assert_eq!(c.tick(&wt, 0.8, MONDAY + 5 * HOUR + 30 * MIN), None);
    assert!(matches!(
        c.tick(&wt, 0.8, MONDAY + 5 * HOUR + 36 * MIN),
        Some(TickFinding::Imminent { .. })
    ));
}

#[test]
fn unresolved_after_n_working_days_skips_pauses_and_stopped_clocks() {
    let wt = around_the_clock();
    let resolution = |at| Clock::start(SlaMetric::Resolution, 0, 48 * HOUR, &wt, at);
    let c = resolution(MONDAY);
    assert!(!c.unresolved_after(&wt, 3, MONDAY + 72 * HOUR - 1));
    assert!(c.unresolved_after(&wt, 3, MONDAY + 72 * HOUR));
    // Waiting on the customer since day 2 stops the count.
    let mut waiting = resolution(MONDAY);
    waiting.pause(MONDAY + 48 * HOUR);
    assert!(!waiting.unresolved_after(&wt, 3, MONDAY + 200 * HOUR));
    waiting.resume(&wt, MONDAY + 100 * HOUR);
    assert!(!waiting.unresolved_after(&wt, 3, MONDAY + 123 * HOUR));
    assert!(waiting.unresolved_after(&wt, 3, MONDAY + 124 * HOUR));
    let mut resolved = resolution(MONDAY);
    resolved.stop(&wt, MONDAY + HOUR);
    assert!(!resolved.unresolved_after(&wt, 3, MONDAY + 500 * HOUR));
    // Only resolution clocks count.
    assert!(!first_response(&wt, MONDAY).unresolved_after(&wt, 3, MONDAY + 500 * HOUR));
    assert_eq!(unresolved_detail(3), "unresolved after 3 working days");
}

#[test]
fn working_days_are_business_days_on_a_business_calendar() {
    let wt = business();
    // Three ten-hour days from Monday 08:00 end Wednesday 18:00.
    let c = Clock::start(SlaMetric::Resolution, 0, 48 * HOUR, &wt, MONDAY + 8 * HOUR);
    assert!(!c.unresolved_after(&wt, 3, MONDAY + 2 * 24 * HOUR + 18 * HOUR - 1));
    assert!(c.unresolved_after(&wt, 3, MONDAY + 2 * 24 * HOUR + 18 * HOUR));
}

#[test]
fn a_reading_shows_elapsed_remaining_and_breached() {
    let wt = around_the_clock();
    let mut c = first_response(&wt, MONDAY);
    let r = c.reading(&wt, MONDAY + 3 * HOUR);
    assert_eq!(
        (r.elapsed_ms, r.remaining_ms, r.breached),
        (3 * HOUR, -HOUR, true)
    );
    assert_eq!(
        r.breached_at_ms, None,
        "the scheduler has not marked it yet"
    );
    c.pause(MONDAY + HOUR);
    let r = c.reading(&wt, MONDAY + 3 * HOUR);
    assert_eq!((r.elapsed_ms, r.breached), (HOUR, false));
    assert_eq!(r.paused, vec![(MONDAY + HOUR, None)]);
    c.stop(&wt, MONDAY + 4 * HOUR);
    let r = c.reading(&wt, MONDAY + 30 * HOUR);
    assert_eq!(
        (r.elapsed_ms, r.stopped_at_ms),
        (HOUR, Some(MONDAY + 4 * HOUR))
    );
    assert_eq!(r.paused, vec![(MONDAY + HOUR, Some(MONDAY + 4 * HOUR))]);
}

#[test]
fn a_new_target_moves_an_open_clocks_due_instant_and_leaves_a_stopped_one() {
    let wt = around_the_clock();
    let mut open = first_response(&wt, MONDAY);
    open.pause(MONDAY + 10 * MIN);
    open.resume(&wt, MONDAY + 40 * MIN);
    assert!(open.retarget(HOUR, &wt));
    assert_eq!(
        (open.target_ms, open.due_at_ms),
        (HOUR, MONDAY + HOUR + 30 * MIN),
        "the half hour waiting on the customer still counts"
    );
    assert!(!open.retarget(HOUR, &wt), "same target");
    // Already past the new due instant: the next tick breaches it.
    assert!(matches!(
        open.tick(&wt, 0.8, MONDAY + 2 * HOUR),
        Some(TickFinding::Breached { .. })
    ));
    let mut stopped = first_response(&wt, MONDAY);
    stopped.stop(&wt, MONDAY + 90 * MIN);
    assert!(!stopped.retarget(HOUR, &wt));
    assert_eq!(stopped.target_ms, 2 * HOUR);
    // Business hours: the new target counts working time from the start.
    let wt = business();
    let mut c = first_response(&wt, MONDAY + 17 * HOUR);
    c.retarget(HOUR, &wt);
    assert_eq!(c.due_at_ms, MONDAY + 18 * HOUR);
}

#[test]
fn a_case_is_routed_once_it_has_a_department() {
    assert!(is_routed(Some("Chassis")));
    assert!(!is_routed(Some("  ")));
    assert!(!is_routed(None));
}

#[test]
fn a_restarted_clock_is_the_next_cycle_of_its_metric() {
    let wt = around_the_clock();
    let mut first = first_response(&wt, MONDAY);
    first.stop(&wt, MONDAY + HOUR);
    let next = first.next_cycle(3 * HOUR, &wt, MONDAY + 5 * HOUR);
    assert_eq!((next.metric, next.cycle), (SlaMetric::FirstResponse, 1));
    assert_eq!(next.due_at_ms, MONDAY + 8 * HOUR);
    assert!(next.is_running() && next.breached_at_ms.is_none());
}

#[test]
fn routing_is_stopped_around_the_clock_and_needs_a_department() {
    assert_eq!(route_stop_time().day_ms(), 24 * HOUR);
    let wt = business();
    let mut route = Clock::start(SlaMetric::Route, 0, 30 * MIN, &wt, MONDAY + 17 * HOUR);
    assert!(route.pause(MONDAY + 17 * HOUR + 10 * MIN));
    // Paused over the night: counted around the clock, not in business hours.
    route.stop(&route_stop_time(), MONDAY + 20 * HOUR);
    assert_eq!(route.paused_ms, 3 * HOUR - 10 * MIN);
    assert!(is_routed(Some("Chassis")));
    assert!(!is_routed(Some("  ")) && !is_routed(None));
}
