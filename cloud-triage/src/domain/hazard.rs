//! The hazard a case names: triage names one for every major feedback
//! ([`qloop_models::Hazard`]), and a case keeps the first one it is given.
//! Also its spellings outside the store: the case list's filter, and the
//! words of an escalation.

use qloop_models::Hazard;

use super::{Severity, UnknownValue};

/// The hazard filter's word for "no hazard named".
pub const NONE: &str = "none";

/// The hazard a case keeps when a report reaches it (opens it, joins it,
/// or gives it its late words): the one it has, once it has one, since the
/// escalation and the engineers already work on that hazard; else the
/// report's, when the report is major (a report that is not major names
/// none, whatever it carries).
pub fn kept(case: Option<Hazard>, report: Severity, named: Option<Hazard>) -> Option<Hazard> {
    case.or(named.filter(|_| report.is_major()))
}

/// A hazard triage named, by its name; `None` for none, or for a name that
/// is no hazard (triage's text is not trusted to be one).
pub fn named(name: Option<&str>) -> Option<Hazard> {
    name.and_then(Hazard::parse).flatten()
}

/// Every value the case list's hazard filter takes: each hazard's name,
/// then [`NONE`].
pub fn filter_names() -> Vec<&'static str> {
    Hazard::ALL.iter().map(|h| h.name()).chain([NONE]).collect()
}

/// The case list's hazard filter: `Some(h)` for cases naming hazard `h`,
/// `None` for cases naming none ([`NONE`]). Only the exact names are taken
/// (the ones the API documents); any other text is refused naming them.
pub fn parse_filter(text: &str) -> Result<Option<Hazard>, UnknownValue> {
    match Hazard::parse(text) {
        Some(h) if h.map_or(NONE, Hazard::name) == text => Ok(h),
        _ => Err(UnknownValue::new("hazard", text, &filter_names())),
    }
}

/// The detail of a major escalation: what made the case major, the hazard
/// it names in words (when it names one), and the reasons.
///
/// `major_detail("major on arrival", Some(LossOfBraking), "text: brake
/// failure")` is `major on arrival: hazard loss of braking (reasons: text:
/// brake failure)`.
pub fn major_detail(cause: &str, hazard: Option<Hazard>, reasons: &str) -> String {
    match (hazard, reasons.is_empty()) {
        (Some(h), false) => format!("{cause}: hazard {} (reasons: {reasons})", h.label()),
        (Some(h), true) => format!("{cause}: hazard {}", h.label()),
        (None, false) => format!("{cause} ({reasons})"),
        (None, true) => cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRAKES: Option<Hazard> = Some(Hazard::LossOfBraking);
    const FIRE: Option<Hazard> = Some(Hazard::FireOrSmoke);

    #[test]
    fn a_case_takes_the_first_major_reports_hazard_and_keeps_it() {
        assert_eq!(kept(None, Severity::Major, BRAKES), BRAKES);
        assert_eq!(
            kept(BRAKES, Severity::Major, FIRE),
            BRAKES,
            "not overwritten"
        );
        assert_eq!(kept(BRAKES, Severity::Minor, None), BRAKES);
        assert_eq!(kept(None, Severity::Major, None), None);
    }

    #[test]
    fn a_report_that_is_not_major_names_no_hazard() {
        for s in [Severity::Minor, Severity::Unassessed] {
            assert_eq!(kept(None, s, FIRE), None);
        }
    }

    #[test]
    fn triage_names_a_hazard_by_its_name_and_nothing_else() {
        assert_eq!(named(Some("loss_of_braking")), BRAKES);
        assert_eq!(named(Some("none")), None);
        assert_eq!(named(Some("brakes gone")), None);
        assert_eq!(named(None), None);
    }

    #[test]
    fn the_filter_takes_exact_names_and_none_and_refuses_others_naming_them() {
        assert_eq!(parse_filter("fire_or_smoke"), Ok(FIRE));
        assert_eq!(parse_filter("none"), Ok(None));
        for junk in ["FIRE_OR_SMOKE", " fire_or_smoke", "fire", ""] {
            let refusal = parse_filter(junk).unwrap_err().to_string();
            assert!(
                refusal.starts_with(&format!("hazard: {junk:?} is not one of loss_of_braking, ")),
                "{refusal}"
            );
            assert!(refusal.ends_with(", other, none"), "{refusal}");
        }
        assert_eq!(filter_names().len(), Hazard::ALL.len() + 1);
    }

    #[test]
    fn the_escalation_names_the_hazard_in_words() {
        assert_eq!(
            major_detail("major on arrival", BRAKES, "text: brake failure"),
            "major on arrival: hazard loss of braking (reasons: text: brake failure)"
        );
        assert_eq!(
            major_detail("a major report joined", FIRE, ""),
            "a major report joined: hazard fire or smoke"
        );
        assert_eq!(
            major_detail("major on arrival", None, "crash"),
            "major on arrival (crash)"
        );
        assert_eq!(
            major_detail("merged from major case 3", None, ""),
            "merged from major case 3"
        );
    }
}
