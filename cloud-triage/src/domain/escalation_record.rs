//! What a raised escalation leaves behind: the key it is recorded under
//! once (case, kind, clock), the line in the case's history, and the
//! notification event the webhooks carry. The store inserts the row and,
//! only when it is new, writes these two.

use qloop_models::Hazard;
use serde_json::{json, Value};

use super::kinds::{EscalationKind, NotificationKind, SlaMetric};

/// What an escalation is about: a clock (metric and cycle), or the case
/// itself (`None`: a `major` escalation, stored with the empty metric).
pub type ClockRef = Option<(SlaMetric, i64)>;

/// One escalation to raise, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    /// The case.
    pub case_id: i64,
    /// Which escalation.
    pub kind: EscalationKind,
    /// The clock it is about, if any.
    pub clock: ClockRef,
    /// Its text.
    pub detail: String,
    /// The hazard the case names, for a `major` escalation.
    pub hazard: Option<Hazard>,
}

impl Raise {
    /// The stored metric column: the clock's metric, or empty for the case.
    pub fn metric(&self) -> &'static str {
        self.clock.map_or("", |(m, _)| m.as_str())
    }

    /// The stored cycle column: the clock's cycle, or 0 for the case.
    pub fn cycle(&self) -> i64 {
        self.clock.map_or(0, |(_, c)| c)
    }

    /// The case history's new value: `kind: detail`.
    pub fn history_text(&self) -> String {
        format!("{}: {}", self.kind, self.detail)
    }

    /// The notification event it raises, with its payload; a `major`
    /// escalation's names the case's hazard (`null` when it names none).
    pub fn notification(&self) -> (NotificationKind, Value) {
        let mut payload = json!({
            "case_id": self.case_id,
            "escalation": self.kind,
            "metric": self.metric(),
            "detail": self.detail,
        });
        if self.kind == EscalationKind::Major {
            payload["hazard"] = json!(self.hazard.map(Hazard::name));
        }
        (NotificationKind::of_escalation(self.kind), payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breach() -> Raise {
        Raise {
            case_id: 7,
            kind: EscalationKind::Breached,
            clock: Some((SlaMetric::Resolution, 1)),
            detail: "resolution target of 2880 min missed".into(),
            hazard: None,
        }
    }

    #[test]
    fn a_clock_escalation_is_keyed_by_its_metric_and_cycle() {
        let r = breach();
        assert_eq!((r.metric(), r.cycle()), ("resolution", 1));
    }

    #[test]
    fn a_case_escalation_has_the_empty_metric_and_cycle_zero() {
        let r = Raise {
            kind: EscalationKind::Major,
            clock: None,
            ..breach()
        };
        assert_eq!((r.metric(), r.cycle()), ("", 0));
        assert_eq!(r.notification().0, NotificationKind::Escalated);
    }

    #[test]
    fn a_major_escalation_names_the_cases_hazard() {
        let major = Raise {
            kind: EscalationKind::Major,
            clock: None,
            detail: "major on arrival: hazard fire or smoke".into(),
            hazard: Some(Hazard::FireOrSmoke),
            ..breach()
        };
        assert_eq!(major.notification().1["hazard"], "fire_or_smoke");
        let unnamed = Raise {
            hazard: None,
            ..major
        };
        assert!(unnamed.notification().1["hazard"].is_null());
        assert!(unnamed.notification().1.get("hazard").is_some());
    }

    #[test]
    fn history_and_event_name_the_kind_metric_and_detail() {
        let r = breach();
        assert_eq!(
            r.history_text(),
            "breached: resolution target of 2880 min missed"
        );
        let (kind, payload) = r.notification();
        assert_eq!(kind, NotificationKind::Breached);
        assert_eq!(
            payload,
            json!({"case_id": 7, "escalation": "breached", "metric": "resolution",
                   "detail": "resolution target of 2880 min missed"})
        );
    }
}
