//! An engineer's direct change to a case's fields (`PATCH`), as a plan:
//! who makes it, which checked changes it writes, and what they imply.
//! Giving the case a department routes it (the route clock stops); a new
//! severity or category is reassessed when the fields are written (see
//! [`super::escalation`]). The status is not a field: it changes only by a
//! transition.

use serde_json::{Map, Value};

use super::{
    clocks::is_routed,
    fields::{check_changes, FieldChange, FieldValue},
    lifecycle::check_actor,
    Refusal,
};

/// A checked change to a case.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPlan<'a> {
    /// Who makes it, trimmed.
    pub actor: &'a str,
    /// The fields to write, each with its history.
    pub changes: Vec<FieldChange>,
    /// Whether the route clock stops (the case now has a department).
    pub stop_route: bool,
}

/// Plans `actor`'s change of the fields in `set`: refused when the actor's
/// name is blank or too long, `set` is empty, or a field is not editable or
/// its value is invalid (a category must be the taxonomy's).
pub fn plan_patch<'a>(
    actor: &'a str,
    set: &Map<String, Value>,
    taxonomy: &qloop_models::Taxonomy,
) -> Result<PatchPlan<'a>, Refusal> {
    let actor = check_actor(actor)?;
    if set.is_empty() {
        return Err(Refusal::Invalid("set: names no field to change".into()));
    }
    let changes = check_changes(set, taxonomy)?;
    let stop_route = changes.iter().any(|c| {
        c.column == "department"
            && matches!(&c.value, FieldValue::Text(d) if is_routed(d.as_deref()))
    });
    Ok(PatchPlan {
        actor,
        changes,
        stop_route,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(actor: &str, set: Value) -> Result<PatchPlan<'_>, Refusal> {
        let set = set.as_object().cloned().unwrap_or_default();
        plan_patch(actor, &set, &qloop_models::Taxonomy::default_taxonomy())
    }

    #[test]
    fn the_actor_is_trimmed_and_must_be_named() {
        assert_eq!(patch("  bob ", json!({"title": "x"})).unwrap().actor, "bob");
        for bad in ["", "   ", &"x".repeat(201)] {
            let err = patch(bad, json!({"title": "x"})).unwrap_err();
            assert_eq!(err.to_string(), "actor: must be 1 to 200 characters");
        }
    }

    #[test]
    fn a_change_must_name_a_field() {
        let err = patch("bob", json!({})).unwrap_err();
        assert_eq!(err.to_string(), "set: names no field to change");
    }

    #[test]
    fn a_department_routes_the_case_and_a_blank_one_does_not() {
        assert!(
            patch("bob", json!({"department": "Chassis"}))
                .unwrap()
                .stop_route
        );
        for set in [
            json!({"department": " "}),
            json!({"department": null}),
            json!({"title": "Brakes squeal"}),
        ] {
            assert!(!patch("bob", set.clone()).unwrap().stop_route, "{set}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let err = patch("bob", json!({"severity": "Major"})).unwrap_err();
        assert!(matches!(err, Refusal::Unknown(_)), "{err}");
        let err = patch("bob", json!({"category": "no_such"})).unwrap_err();
        assert!(err.to_string().contains("category"), "{err}");
        let err = patch("bob", json!({"status": "closed"})).unwrap_err();
        assert_eq!(err.to_string(), "status: not an editable case field");
    }
}
