//! One pass of the SLA scheduler as a plan: for every clock that has not
//! stopped, which breaches to mark and which escalations to raise (breach
//! imminent, breached, unresolved after N working days). Each escalation
//! is raised once, by its key (see [`super::escalation_record`]); a plan
//! may name one again, and the store's insert decides whether it is new.
//! What a pass counts is a [`TickReport`].

use super::{
    calendar::WorkingTime,
    clocks::{unresolved_detail, Clock, TickFinding},
    escalation_record::Raise,
    kinds::EscalationKind,
    sla_policy::SlaPolicy,
};

/// One step of a pass, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickStep {
    /// Save the clock of case `case_id` with its breach instant recorded.
    MarkBreached {
        /// The case.
        case_id: i64,
        /// The clock as it is to be saved.
        clock: Clock,
    },
    /// Raise an escalation (once).
    Raise(Raise),
}

/// What one scheduler pass raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// New "breach imminent" escalations.
    pub imminent: usize,
    /// New breaches.
    pub breached: usize,
    /// New "unresolved after N working days" escalations.
    pub unresolved: usize,
    /// Follow-up questions sent to cars.
    pub follow_ups: usize,
}

impl TickReport {
    /// Counts a new escalation of `kind` (a `major` one is not the tick's).
    pub fn count(&mut self, kind: EscalationKind) {
        match kind {
            EscalationKind::BreachImminent => self.imminent += 1,
            EscalationKind::Breached => self.breached += 1,
            EscalationKind::Unresolved => self.unresolved += 1,
            EscalationKind::Major => {}
        }
    }
}

/// The steps of a pass at `now_ms` over the clocks that have not stopped,
/// `(case, clock)`: first each clock's breach or imminent breach, then the
/// cases unresolved after the policy's working days (waiting on the
/// customer does not count).
pub fn plan_tick(open: &[(i64, Clock)], policy: &SlaPolicy, now_ms: i64) -> Vec<TickStep> {
    let wt: &WorkingTime = policy.working_time();
    let mut steps = Vec::new();
    for (case_id, clock) in open {
        let raise = |kind, detail| {
            TickStep::Raise(Raise {
                case_id: *case_id,
                kind,
                clock: Some((clock.metric, clock.cycle)),
                detail,
                hazard: None,
            })
        };
        match clock.tick(wt, policy.imminent_at, now_ms) {
            Some(TickFinding::Breached { mark_at_ms, detail }) => {
                if mark_at_ms.is_some() {
                    let mut marked = clock.clone();
                    marked.breached_at_ms = mark_at_ms;
                    steps.push(TickStep::MarkBreached {
                        case_id: *case_id,
                        clock: marked,
                    });
                }
                steps.push(raise(EscalationKind::Breached, detail));
            }
            Some(TickFinding::Imminent { detail }) => {
                steps.push(raise(EscalationKind::BreachImminent, detail))
            }
            None => {}
        }
    }
    let days = policy.unresolved_working_days;
    for (case_id, clock) in open {
        if clock.unresolved_after(wt, days, now_ms) {
            steps.push(TickStep::Raise(Raise {
                case_id: *case_id,
                kind: EscalationKind::Unresolved,
                clock: Some((clock.metric, clock.cycle)),
                detail: unresolved_detail(days),
                hazard: None,
            }));
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::SlaMetric;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const T0: i64 = 1_793_577_600_000;

    fn policy() -> SlaPolicy {
        SlaPolicy::default()
    }

    fn clock(metric: SlaMetric, target_ms: i64) -> Clock {
        Clock::start(metric, 0, target_ms, &WorkingTime::default(), T0)
    }

    fn kinds(steps: &[TickStep]) -> Vec<(i64, EscalationKind)> {
        steps
            .iter()
            .filter_map(|s| match s {
                TickStep::Raise(r) => Some((r.case_id, r.kind)),
                TickStep::MarkBreached { .. } => None,
            })
            .collect()
    }

    #[test]
    fn nothing_is_raised_early_in_a_clock() {
        let open = [(1, clock(SlaMetric::FirstResponse, 2 * HOUR))];
        assert!(plan_tick(&open, &policy(), T0 + 10 * MIN).is_empty());
    }

    #[test]
    fn most_of_the_target_used_raises_imminent() {
        let open = [(1, clock(SlaMetric::FirstResponse, 2 * HOUR))];
        let at = T0 + (2.0 * HOUR as f64 * policy().imminent_at) as i64;
        assert_eq!(
            kinds(&plan_tick(&open, &policy(), at)),
            [(1, EscalationKind::BreachImminent)]
        );
    }

    #[test]
    fn a_due_clock_is_marked_at_its_due_instant_then_escalated() {
        let open = [(3, clock(SlaMetric::FirstResponse, 2 * HOUR))];
        let steps = plan_tick(&open, &policy(), T0 + 3 * HOUR);
        let TickStep::MarkBreached { case_id, clock } = &steps[0] else {
            panic!("first the mark: {steps:?}");
        };
        assert_eq!((*case_id, clock.breached_at_ms), (3, Some(T0 + 2 * HOUR)));
        let TickStep::Raise(r) = &steps[1] else {
            panic!("then the escalation: {steps:?}");
        };
        assert_eq!(r.kind, EscalationKind::Breached);
        assert_eq!(r.clock, Some((SlaMetric::FirstResponse, 0)));
        assert_eq!(steps.len(), 2);
    }

    #[test]
    fn a_breach_already_marked_is_not_marked_again_but_named_again() {
        let mut c = clock(SlaMetric::FirstResponse, 2 * HOUR);
        c.breached_at_ms = Some(T0 + 2 * HOUR);
        let steps = plan_tick(&[(3, c)], &policy(), T0 + 4 * HOUR);
        assert_eq!(kinds(&steps), [(3, EscalationKind::Breached)]);
        assert_eq!(steps.len(), 1);
    }

    #[test]
    fn a_paused_clock_raises_nothing_for_its_target() {
        let mut c = clock(SlaMetric::FirstResponse, 2 * HOUR);
        assert!(c.pause(T0 + MIN));
        assert!(plan_tick(&[(1, c)], &policy(), T0 + 5 * HOUR).is_empty());
    }

    #[test]
    fn a_resolution_open_for_the_working_days_is_unresolved_after_the_breaches() {
        let p = policy();
        let days = i64::from(p.unresolved_working_days);
        let open = [
            (1, clock(SlaMetric::Resolution, 100 * 24 * HOUR)),
            (2, clock(SlaMetric::FirstResponse, 2 * HOUR)),
        ];
        let steps = plan_tick(&open, &p, T0 + days * 24 * HOUR);
        assert_eq!(
            kinds(&steps),
            [
                (2, EscalationKind::Breached),
                (1, EscalationKind::Unresolved)
            ]
        );
        let TickStep::Raise(last) = steps.last().unwrap() else {
            unreachable!()
        };
        assert_eq!(last.detail, format!("unresolved after {days} working days"));
    }

    #[test]
    fn the_report_counts_the_tick_s_kinds_only() {
        let mut r = TickReport::default();
        for kind in [
            EscalationKind::BreachImminent,
            EscalationKind::Breached,
            EscalationKind::Breached,
            EscalationKind::Unresolved,
            EscalationKind::Major,
        ] {
            r.count(kind);
        }
        assert_eq!(
            r,
            TickReport {
                imminent: 1,
                breached: 2,
                unresolved: 1,
                follow_ups: 0
            }
        );
    }
}
