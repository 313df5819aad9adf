//! SLA clocks as values: started when a case opens (or a cycle restarts),
//! paused while the case waits on the customer, stopped when the metric is
//! met. The rules the scheduler and the lifecycle apply to a clock are here:
//! when it is breached, when a breach is imminent, when a case counts as
//! unresolved after N working days, how a pause moves the due instant, and
//! what a clock reads as at a given moment. The store loads a clock, calls
//! these, and saves it.

use serde::Serialize;
use utoipa::ToSchema;

use super::{calendar::WorkingTime, kinds::SlaMetric};

/// One stored SLA clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// What it measures.
    pub metric: SlaMetric,
    /// Which clock of its metric on the case, from 0 (the highest is current).
    pub cycle: i64,
    /// Working time allowed, ms.
    pub target_ms: i64,
    /// When it started, Unix ms.
    pub started_at_ms: i64,
    /// When it is due, Unix ms (moves when a pause ends).
    pub due_at_ms: i64,
    /// Working time spent in finished pauses, ms.
    pub paused_ms: i64,
    /// When the running pause began, if one is running.
    pub paused_since_ms: Option<i64>,
    /// Finished pauses, `(from, to)`.
    pub pauses: Vec<(i64, i64)>,
    /// When it stopped (the metric was met, or the case ended).
    pub stopped_at_ms: Option<i64>,
    /// When it was missed (its due instant).
    pub breached_at_ms: Option<i64>,
}

/// A clock as the API shows it at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SlaClock {
    /// What it measures.
    pub metric: SlaMetric,
    /// Which clock of its metric, from 0: a reopened case's resolution and
    /// every restarted next-update clock count up; the highest is current.
    pub cycle: i64,
    /// Working time allowed, ms.
    pub target_ms: i64,
    /// When the clock started, Unix ms.
    pub started_at_ms: i64,
    /// When it stopped (the metric was met), Unix ms.
    pub stopped_at_ms: Option<i64>,
    /// Intervals spent waiting on the customer, `[from, to]` (to absent while paused).
    pub paused: Vec<(i64, Option<i64>)>,
    /// Working time used so far (or until stopped), ms.
    pub elapsed_ms: i64,
    /// Working time left; negative once breached.
    pub remaining_ms: i64,
    /// When it is due, Unix ms (moves while paused).
    pub due_at_ms: i64,
    /// Whether the target was missed.
    pub breached: bool,
    /// When it was missed, Unix ms.
    pub breached_at_ms: Option<i64>,
}

/// What a scheduler tick finds about a running clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickFinding {
    /// Past due: record the breach (at `due_at_ms`, unless recorded) and
    /// raise a `breached` escalation with `detail`.
    Breached {
        /// The breach instant to record, when none is yet.
        mark_at_ms: Option<i64>,
        /// The escalation's text.
        detail: String,
    },
    /// Most of the target is used: raise `breach_imminent` with `detail`.
    Imminent {
        /// The escalation's text.
        detail: String,
    },
}

const MINUTE_MS: i64 = 60_000;

impl Clock {
    /// Clock `cycle` of `metric`, started at `at_ms` with `target_ms` of working time.
    pub fn start(
        metric: SlaMetric,
        cycle: i64,
        target_ms: i64,
        wt: &WorkingTime,
        at_ms: i64,
    ) -> Clock {
        Clock {
            metric,
            cycle,
            target_ms,
            started_at_ms: at_ms,
            due_at_ms: wt.add(at_ms, target_ms),
            paused_ms: 0,
            paused_since_ms: None,
            pauses: Vec::new(),
            stopped_at_ms: None,
            breached_at_ms: None,
        }
    }

    /// The next cycle of this clock's metric, started at `at_ms` with
    /// `target_ms` (a reopened case's resolution, a restarted next update);
    /// this one and its escalations stay as they are.
    pub fn next_cycle(&self, target_ms: i64, wt: &WorkingTime, at_ms: i64) -> Clock {
        Clock::start(self.metric, self.cycle + 1, target_ms, wt, at_ms)
    }

    /// Whether it still runs (not stopped, not paused).
    pub fn is_running(&self) -> bool {
        self.stopped_at_ms.is_none() && self.paused_since_ms.is_none()
    }

    /// Starts a pause at `at_ms` (waiting on the customer); a stopped or
    /// already paused clock is left as it is. True when it changed.
    pub fn pause(&mut self, at_ms: i64) -> bool {
        if self.stopped_at_ms.is_some() || self.paused_since_ms.is_some() {
            return false;
        }
        self.paused_since_ms = Some(at_ms);
        true
    }

    /// Ends the running pause at `at_ms`: the working time it took moves the
    /// due instant. True when there was a pause to end.
    pub fn resume(&mut self, wt: &WorkingTime, at_ms: i64) -> bool {
        let Some(since) = self.paused_since_ms.take() else {
            return false;
        };
        self.paused_ms += wt.between(since, at_ms);
        self.pauses.push((since, at_ms));
        self.due_at_ms = wt.add(self.started_at_ms, self.target_ms + self.paused_ms);
        true
    }

    /// Stops the clock at `at_ms` (the metric is met), ending a running
    /// pause first. Returns the escalation text when stopping past the due
    /// instant records a breach for the first time; a stopped clock is left
    /// as it is.
    pub fn stop(&mut self, wt: &WorkingTime, at_ms: i64) -> Option<String> {
        if self.stopped_at_ms.is_some() {
            return None;
        }
        self.resume(wt, at_ms);
        self.stopped_at_ms = Some(at_ms);
        if at_ms > self.due_at_ms && self.breached_at_ms.is_none() {
            self.breached_at_ms = Some(self.due_at_ms);
            return Some(format!("{} met late", self.metric));
        }
        None
    }

    /// Stops the clock without judging it (a cancelled or merged case): no
    /// breach, and a running pause simply ends.
    pub fn cancel(&mut self, at_ms: i64) -> bool {
        if self.stopped_at_ms.is_some() {
            return false;
        }
        self.stopped_at_ms = Some(at_ms);
        self.paused_since_ms = None;
        true
    }

    /// Gives an open clock another target (the case's severity or category
    /// changed): its due instant moves with it, paused time still counted.
    /// A stopped clock keeps the target it was measured against. True when
    /// it changed.
    pub fn retarget(&mut self, target_ms: i64, wt: &WorkingTime) -> bool {
        if self.stopped_at_ms.is_some() || self.target_ms == target_ms {
            return false;
        }
        self.target_ms = target_ms;
        self.due_at_ms = wt.add(self.started_at_ms, target_ms + self.paused_ms);
        true
    }

    /// Working time used by `at_ms` (up to the stop, without pauses).
    pub fn used_ms(&self, wt: &WorkingTime, at_ms: i64) -> i64 {
        let end = self.stopped_at_ms.unwrap_or(at_ms);
        let mut paused = self.paused_ms;
        if let Some(since) = self.paused_since_ms {
            paused += wt.between(since, end);
        }
        wt.between(self.started_at_ms, end) - paused
    }

    /// What a scheduler tick at `now_ms` raises for a running clock: a
    /// breach once it is due, else "breach imminent" once `imminent_at` of
    /// the target is used; nothing for a stopped or paused clock.
    pub fn tick(&self, wt: &WorkingTime, imminent_at: f64, now_ms: i64) -> Option<TickFinding> {
        if !self.is_running() {
            return None;
        }
        if now_ms >= self.due_at_ms {
            return Some(TickFinding::Breached {
                mark_at_ms: self.breached_at_ms.is_none().then_some(self.due_at_ms),
                detail: format!(
                    "{} target of {} min missed",
                    self.metric,
                    self.target_ms / MINUTE_MS
                ),
            });
        }
        let used = wt.between(self.started_at_ms, now_ms) - self.paused_ms;
        (used as f64 >= imminent_at * self.target_ms as f64).then(|| TickFinding::Imminent {
            detail: format!(
                "{} due in {} min",
                self.metric,
                wt.between(now_ms, self.due_at_ms) / MINUTE_MS
            ),
        })
    }

    /// Whether a resolution clock that has not stopped shows the case
    /// unresolved after `working_days` working days at `now_ms` (time
    /// waiting on the customer does not count).
    pub fn unresolved_after(&self, wt: &WorkingTime, working_days: u32, now_ms: i64) -> bool {
        if self.metric != SlaMetric::Resolution || self.stopped_at_ms.is_some() {
            return false;
        }
        let until = self.paused_since_ms.unwrap_or(now_ms);
        let worked = wt.between(self.started_at_ms, until) - self.paused_ms;
        worked >= i64::from(working_days) * wt.day_ms()
    }

    /// The clock as it reads at `now_ms`.
    pub fn reading(&self, wt: &WorkingTime, now_ms: i64) -> SlaClock {
        let elapsed = self.used_ms(wt, now_ms);
        let mut paused: Vec<(i64, Option<i64>)> =
            self.pauses.iter().map(|(a, b)| (*a, Some(*b))).collect();
        if let Some(since) = self.paused_since_ms {
            paused.push((since, None));
        }
        SlaClock {
            metric: self.metric,
            cycle: self.cycle,
            target_ms: self.target_ms,
            started_at_ms: self.started_at_ms,
            stopped_at_ms: self.stopped_at_ms,
            paused,
            elapsed_ms: elapsed,
            remaining_ms: self.target_ms - elapsed,
            due_at_ms: self.due_at_ms,
            breached: self.breached_at_ms.is_some() || elapsed > self.target_ms,
            breached_at_ms: self.breached_at_ms,
        }
    }
}

/// The text of an "unresolved after N working days" escalation.
pub fn unresolved_detail(working_days: u32) -> String {
    format!("unresolved after {working_days} working days")
}

/// The working time a route clock is stopped in: routing counts around the
/// clock (a routed case is routed, whatever the calendar says).
pub fn route_stop_time() -> WorkingTime {
    WorkingTime::default()
}

/// Whether a case with this department counts as routed (the route clock stops).
pub fn is_routed(department: Option<&str>) -> bool {
    department.is_some_and(|d| !d.trim().is_empty())
}

#[cfg(test)]
mod tests;
