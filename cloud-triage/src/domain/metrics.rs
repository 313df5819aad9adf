//! What operators watch, computed from plain figures: first-response and
//! resolution times (p50/p90, nearest rank, in working time), SLA breach
//! rates by metric, closure, on-time closed-loop and reopen rates, and the
//! open backlog by age and category. The store reads the cases opened in
//! a range and their clocks; [`response_times`] turns them into the
//! figures, so the monthly report and the API cannot disagree.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

pub mod series;

use super::{
    calendar::WorkingTime,
    kinds::{CaseStatus, SlaMetric},
};

const DAY_MS: i64 = 86_400_000;

/// Percentiles of a duration, ms of working time (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    /// How many were measured (clocks that stopped).
    pub n: usize,
    /// Median, ms.
    pub p50_ms: Option<i64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<i64>,
}

/// Breaches of one SLA metric.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BreachRate {
    /// Clocks that ran for cases in the range (stopped, or running and already due).
    pub measured: usize,
    /// Of those, breached.
    pub breached: usize,
    /// breached / measured (0 when none).
    pub rate: f64,
}

/// The operator's view of a date range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResponseTimes {
    /// Range start (cases opened at or after), Unix ms.
    pub from_ms: i64,
    /// Range end (cases opened before), Unix ms.
    pub to_ms: i64,
    /// Cases opened in the range (merged-away cases not counted).
    pub cases: usize,
    /// First response, working time.
    pub first_response: Durations,
    /// Resolution (effectiveness verified), working time.
    pub resolution: Durations,
    /// Breaches by metric (`route`, `first_response`, `resolution`,
    /// `next_update`); a finished earlier cycle of a clock (a reopened
    /// case's first resolution, an earlier next-update) counts under
    /// `metric#N`, N from 1.
    pub breaches: BTreeMap<String, BreachRate>,
    /// Closed / cases that are not cancelled.
    pub closure_rate: f64,
    /// Closed cases whose first response and resolution were both on time / closed cases.
    pub on_time_closed_loop_rate: f64,
    /// Cases reopened at least once / cases resolved at least once.
    pub reopen_rate: f64,
    /// Open cases by age at `to_ms` (`<1d`, `1-3d`, `3-7d`, `>7d`) and category.
    pub backlog: BTreeMap<String, BTreeMap<String, usize>>,
}

/// A case opened in the range, as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFigures {
    /// Case number.
    pub id: i64,
    /// Its status (never `merged`: merged-away cases are not counted).
    pub status: CaseStatus,
    /// Its category.
    pub category: String,
    /// When it was opened, Unix ms.
    pub opened_at_ms: i64,
    /// How often it was reopened.
    pub reopen_count: i64,
    /// When it was last resolved, if it is resolved now.
    pub resolved_at_ms: Option<i64>,
}

/// A clock of a case opened in the range (not of a merged or cancelled case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockFigures {
    /// The case.
    pub case_id: i64,
    /// What it measures.
    pub metric: SlaMetric,
    /// Which cycle of its metric, from 0.
    pub cycle: i64,
    /// When it started, Unix ms.
    pub started_at_ms: i64,
    /// When it stopped, if it did.
    pub stopped_at_ms: Option<i64>,
    /// Working time spent in finished pauses, ms.
    pub paused_ms: i64,
    /// When it is due, Unix ms.
    pub due_at_ms: i64,
    /// When it was missed, if recorded.
    pub breached_at_ms: Option<i64>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// The p50 and p90 of some durations.
pub fn durations(mut v: Vec<i64>) -> Durations {
    v.sort_unstable();
    Durations {
        n: v.len(),
        p50_ms: percentile(&v, 0.5),
        p90_ms: percentile(&v, 0.9),
    }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The age bucket of an open case.
pub fn age_bucket(age_ms: i64) -> &'static str {
    match age_ms {
        a if a < DAY_MS => "<1d",
        a if a < 3 * DAY_MS => "1-3d",
        a if a < 7 * DAY_MS => "3-7d",
        _ => ">7d",
    }
}

/// What the clocks say: stopped durations by metric (current cycles of
/// route, first response and resolution only), breach rates by metric key,
/// and the cases with a late first response or resolution.
struct ClockTotals {
    elapsed: HashMap<SlaMetric, Vec<i64>>,
    breaches: BTreeMap<String, BreachRate>,
    late: HashSet<i64>,
}

/// Sums the clocks as of `to_ms`. A clock counts as breached when its
/// breach is recorded, or it is running and past due at `to_ms`; it is
/// measured when it stopped or breached. A finished cycle (a reopened
/// case's first resolution, an earlier next-update clock) counts in the
/// breaches under `metric#N`, N from 1, and not in the durations.
fn clock_totals(clocks: &[ClockFigures], to_ms: i64, wt: &WorkingTime) -> ClockTotals {
    let mut current: HashMap<(i64, SlaMetric), i64> = HashMap::new();
    for c in clocks {
        let cycle = current.entry((c.case_id, c.metric)).or_insert(c.cycle);
        *cycle = (*cycle).max(c.cycle);
    }
    let mut totals = ClockTotals {
        elapsed: HashMap::new(),
        breaches: BTreeMap::new(),
        late: HashSet::new(),
    };
    for c in clocks {
        let finished = current
            .get(&(c.case_id, c.metric))
            .is_some_and(|cycle| c.cycle < *cycle);
        let key = if finished {
            format!("{}#{}", c.metric, c.cycle + 1)
        } else {
            c.metric.to_string()
        };
        let breached =
            c.breached_at_ms.is_some() || (c.stopped_at_ms.is_none() && to_ms >= c.due_at_ms);
        if let Some(stop) = c.stopped_at_ms {
            let counted = matches!(
                c.metric,
                SlaMetric::FirstResponse | SlaMetric::Resolution | SlaMetric::Route
            );
            if counted && !finished {
                let e = wt.between(c.started_at_ms, stop) - c.paused_ms;
                totals.elapsed.entry(c.metric).or_default().push(e);
            }
        }
        let b = totals.breaches.entry(key).or_insert(BreachRate {
            measured: 0,
            breached: 0,
            rate: 0.0,
        });
        if c.stopped_at_ms.is_some() || breached {
            b.measured += 1;
        }
        if breached {
            b.breached += 1;
            if matches!(c.metric, SlaMetric::FirstResponse | SlaMetric::Resolution) {
                totals.late.insert(c.case_id);
            }
        }
    }
    for b in totals.breaches.values_mut() {
        b.rate = ratio(b.breached, b.measured);
    }
    totals
}

/// The case rates and the backlog, as of `to_ms`.
struct CaseTotals {
    closure_rate: f64,
    on_time_closed_loop_rate: f64,
    reopen_rate: f64,
    backlog: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Closure (closed / not cancelled), on-time closed loop (closed without a
/// late first response or resolution / closed), reopen (reopened / ever
/// resolved), and the open cases by age bucket and category.
fn case_totals(cases: &[CaseFigures], late: &HashSet<i64>, to_ms: i64) -> CaseTotals {
    let (mut closed, mut not_cancelled, mut closed_on_time, mut resolved, mut reopened) =
        (0, 0, 0, 0, 0);
    let mut backlog: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for case in cases {
        if case.status != CaseStatus::Cancelled {
            not_cancelled += 1;
        }
        if case.status == CaseStatus::Closed {
            closed += 1;
            if !late.contains(&case.id) {
                closed_on_time += 1;
            }
        }
        if case.resolved_at_ms.is_some() || case.reopen_count > 0 {
            resolved += 1;
        }
        if case.reopen_count > 0 {
            reopened += 1;
        }
        if !matches!(case.status, CaseStatus::Closed | CaseStatus::Cancelled) {
            *backlog
                .entry(age_bucket(to_ms - case.opened_at_ms).to_string())
                .or_default()
                .entry(case.category.clone())
                .or_default() += 1;
        }
    }
    CaseTotals {
        closure_rate: ratio(closed, not_cancelled),
        on_time_closed_loop_rate: ratio(closed_on_time, closed),
        reopen_rate: ratio(reopened, resolved),
        backlog,
    }
}

/// The figures of the cases opened in `[from_ms, to_ms)` and their clocks,
/// as of `to_ms`, with durations in the working time `wt`.
pub fn response_times(
    from_ms: i64,
    to_ms: i64,
    cases: &[CaseFigures],
    clocks: &[ClockFigures],
    wt: &WorkingTime,
) -> ResponseTimes {
    let mut clock = clock_totals(clocks, to_ms, wt);
    let case = case_totals(cases, &clock.late, to_ms);
    let mut took = |metric| durations(clock.elapsed.remove(&metric).unwrap_or_default());
    ResponseTimes {
        from_ms,
        to_ms,
        cases: cases.len(),
        first_response: took(SlaMetric::FirstResponse),
        resolution: took(SlaMetric::Resolution),
        breaches: clock.breaches,
        closure_rate: case.closure_rate,
        on_time_closed_loop_rate: case.on_time_closed_loop_rate,
        reopen_rate: case.reopen_rate,
        backlog: case.backlog,
    }
}

#[cfg(test)]
mod tests;
