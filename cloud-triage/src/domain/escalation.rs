//! What follows when a case's severity or category changes, by whatever
//! path (triage, a report that joins it, an emerging issue, a merge, a late
//! transcript, an engineer's change): a case that becomes major is
//! escalated at once (once per case), and its open SLA clocks take the
//! targets of its new severity and category.

use super::{
    kinds::Severity,
    sla_policy::{SlaPolicy, SlaTargets},
};

/// A case's severity and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessed<'a> {
    /// Its severity.
    pub severity: Severity,
    /// Its category.
    pub category: &'a str,
}

/// What a change of severity or category does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reassessment {
    /// The case became major: escalate it (once).
    pub escalate: bool,
    /// The targets changed: its open clocks take these.
    pub retarget: Option<SlaTargets>,
}

/// What moving from `before` to `after` does under `sla`.
pub fn reassess(before: Assessed<'_>, after: Assessed<'_>, sla: &SlaPolicy) -> Reassessment {
    let (old, new) = (
        sla.targets(before.severity, before.category),
        sla.targets(after.severity, after.category),
    );
    Reassessment {
        escalate: after.severity.is_major() && !before.severity.is_major(),
        retarget: (old != new).then_some(new),
    }
}

/// What opening a case of `severity` does: a major case is escalated at
/// once; its clocks start on its own targets, so none is re-targeted.
pub fn on_open(severity: Severity) -> Reassessment {
    Reassessment {
        escalate: severity.is_major(),
        retarget: None,
    }
}

/// The history text of a major escalation, with its reason.
pub fn major_history(reason: &str) -> String {
    format!("major: escalate at once ({reason})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(severity: Severity, category: &str) -> Assessed<'_> {
        Assessed { severity, category }
    }

    #[test]
    fn becoming_major_escalates_and_takes_the_major_targets() {
        let sla = SlaPolicy::default();
        for before in [Severity::Minor, Severity::Unassessed] {
            let r = reassess(case(before, "hvac"), case(Severity::Major, "hvac"), &sla);
            assert_eq!(
                r,
                Reassessment {
                    escalate: true,
                    retarget: Some(sla.major)
                }
            );
        }
    }

    #[test]
    fn a_major_case_that_stays_major_is_not_escalated_again() {
        let sla = SlaPolicy::default();
        let r = reassess(
            case(Severity::Major, "hvac"),
            case(Severity::Major, "brakes"),
            &sla,
        );
        assert_eq!(
            r,
            Reassessment {
                escalate: false,
                retarget: None
            }
        );
    }

    #[test]
    fn a_category_with_its_own_targets_retargets_without_escalating() {
        let mut sla = SlaPolicy::default();
        let brakes = SlaTargets {
            first_response_minutes: 10,
            ..SlaTargets::default()
        };
        sla.categories.insert("brakes".into(), brakes);
        let r = reassess(
            case(Severity::Minor, "hvac"),
            case(Severity::Minor, "brakes"),
            &sla,
        );
        assert_eq!(
            r,
            Reassessment {
                escalate: false,
                retarget: Some(brakes)
            }
        );
        // Back to minor from major: the longer targets, no escalation.
        let r = reassess(
            case(Severity::Major, "hvac"),
            case(Severity::Minor, "hvac"),
            &sla,
        );
        assert_eq!(r.retarget, Some(sla.default));
        assert!(!r.escalate);
        // Unassessed and minor share the default targets.
        let r = reassess(
            case(Severity::Unassessed, "untriaged"),
            case(Severity::Minor, "hvac"),
            &sla,
        );
        assert_eq!(r.retarget, None);
    }

    #[test]
    fn a_case_opened_major_is_escalated_and_keeps_its_targets() {
        assert_eq!(
            on_open(Severity::Major),
            Reassessment {
                escalate: true,
                retarget: None
            }
        );
        for s in [Severity::Minor, Severity::Unassessed] {
            assert!(!on_open(s).escalate);
        }
    }

    #[test]
    fn the_history_gives_the_reason() {
        assert_eq!(
            major_history("set by alice"),
            "major: escalate at once (set by alice)"
        );
    }
}
