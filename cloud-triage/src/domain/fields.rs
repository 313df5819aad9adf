//! The case fields engineers may set, and the check of each value: its kind
//! (text, time, flag), its length, and for `severity` and `category` the
//! allowed values (the severities, and the taxonomy's categories).
//!
//! Only the columns in [`EDITABLE_FIELDS`] can be set, by their column name,
//! so no caller-chosen text ever reaches SQL as an identifier. The status is
//! not among them: it changes only by a transition
//! ([`crate::domain::lifecycle`]), which checks the 8D rules.

use serde_json::{Map, Value};

use super::{kinds::Severity, Refusal, UnknownValue};

/// Longest text accepted for one field, in characters.
pub const MAX_FIELD_CHARS: usize = 10_000;

/// How a field's value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text that may be cleared with `null`.
    Text,
    /// Text that must always have a value.
    RequiredText,
    /// Unix milliseconds, or `null`.
    Millis,
    /// A boolean stored as 0/1.
    Flag,
}

/// Every column an update may set, with how it is stored.
pub const EDITABLE_FIELDS: [(&str, FieldKind); 27] = [
    ("category", FieldKind::RequiredText),
    ("severity", FieldKind::RequiredText),
    ("department", FieldKind::Text),
    ("ica_action", FieldKind::Text),
    ("ica_owner", FieldKind::Text),
    ("ica_due_ms", FieldKind::Millis),
    ("ica_implemented_at_ms", FieldKind::Millis),
    ("ica_verification", FieldKind::Text),
    ("ica_verified_at_ms", FieldKind::Millis),
    ("ica_suggested", FieldKind::Flag),
    ("root_cause", FieldKind::Text),
    ("root_cause_owner", FieldKind::Text),
    ("root_cause_occurrence", FieldKind::Text),
    ("root_cause_escape_point", FieldKind::Text),
    ("root_cause_evidence", FieldKind::Text),
    ("root_cause_found_at_ms", FieldKind::Millis),
    ("pca_action", FieldKind::Text),
    ("pca_owner", FieldKind::Text),
    ("pca_due_ms", FieldKind::Millis),
    ("pca_implemented_at_ms", FieldKind::Millis),
    ("pca_validation", FieldKind::Text),
    ("pca_verified_at_ms", FieldKind::Millis),
    ("pca_suggested", FieldKind::Flag),
    ("verification", FieldKind::Text),
    ("verification_owner", FieldKind::Text),
    ("verified_at_ms", FieldKind::Millis),
    ("title", FieldKind::RequiredText),
];

/// A checked value ready to store, with its text for the history.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text, or none.
    Text(Option<String>),
    /// A number (ms or a 0/1 flag), or none.
    Int(Option<i64>),
}

impl FieldValue {
    /// The value as the case history shows it.
    pub fn history_text(&self) -> Option<String> {
        match self {
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.map(|n| n.to_string()),
        }
    }

    /// Whether it holds a value (for text: one that is not blank).
    pub fn is_present(&self) -> bool {
        match self {
            Self::Text(t) => t.as_deref().is_some_and(|t| !t.trim().is_empty()),
            Self::Int(n) => n.is_some(),
        }
    }
}

/// One checked change to a case field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The column.
    pub column: &'static str,
    /// How it is stored.
    pub kind: FieldKind,
    /// The new value.
    pub value: FieldValue,
}

/// The categories a case may be given: the taxonomy's, and the two states
/// before and instead of a model's verdict (`untriaged`, `needs_human_triage`).
pub fn allowed_categories(taxonomy: &qloop_models::Taxonomy) -> Vec<&str> {
    let mut names: Vec<&str> = taxonomy.categories.keys().map(String::as_str).collect();
    names.extend([qloop_models::UNTRIAGED, qloop_models::NEEDS_HUMAN_TRIAGE]);
    names
}

/// Checks a category against the taxonomy.
pub fn check_category(
    category: &str,
    taxonomy: &qloop_models::Taxonomy,
) -> Result<(), UnknownValue> {
    let allowed = allowed_categories(taxonomy);
    if allowed.contains(&category) {
        Ok(())
    } else {
        Err(UnknownValue::new("category", category, &allowed))
    }
}

/// Checks one `(column, value)` against [`EDITABLE_FIELDS`].
pub fn check_field(
    column: &str,
    value: &Value,
    taxonomy: &qloop_models::Taxonomy,
) -> Result<FieldChange, Refusal> {
    let invalid = |why: &str| Refusal::Invalid(format!("{column}: {why}"));
    let (name, kind) = EDITABLE_FIELDS
        .iter()
        .find(|(name, _)| *name == column)
        .copied()
        .ok_or_else(|| invalid("not an editable case field"))?;
    let checked = match (kind, value) {
        (FieldKind::Text, Value::Null) => FieldValue::Text(None),
        (FieldKind::Millis, Value::Null) => FieldValue::Int(None),
        (FieldKind::Text | FieldKind::RequiredText, Value::String(s)) => {
            if s.chars().count() > MAX_FIELD_CHARS {
                return Err(invalid(&format!(
                    "longer than {MAX_FIELD_CHARS} characters"
                )));
            }
            if kind == FieldKind::RequiredText && s.trim().is_empty() {
                return Err(invalid("must not be empty"));
            }
            match name {
                "severity" => {
                    s.parse::<Severity>()?;
                }
                "category" => check_category(s, taxonomy)?,
                _ => {}
            }
            FieldValue::Text(Some(s.clone()))
        }
        (FieldKind::Millis, Value::Number(n)) => FieldValue::Int(Some(
            n.as_i64()
                .filter(|ms| *ms >= 0)
                .ok_or_else(|| invalid("must be Unix milliseconds"))?,
        )),
        (FieldKind::Flag, Value::Bool(b)) => FieldValue::Int(Some(i64::from(*b))),
        (FieldKind::RequiredText, _) => return Err(invalid("must be a non-empty string")),
        (FieldKind::Text, _) => return Err(invalid("must be a string or null")),
        (FieldKind::Millis, _) => return Err(invalid("must be an integer or null")),
        (FieldKind::Flag, _) => return Err(invalid("must be true or false")),
    };
    Ok(FieldChange {
        column: name,
        kind,
        value: checked,
    })
}

/// Checks every field of `set`. An engineer who writes an action owns it:
/// setting `ica_action` (`pca_action`) without its `…_suggested` flag
/// clears the flag.
pub fn check_changes(
    set: &Map<String, Value>,
    taxonomy: &qloop_models::Taxonomy,
) -> Result<Vec<FieldChange>, Refusal> {
    let mut set = set.clone();
    for (action, flag) in [
        ("ica_action", "ica_suggested"),
        ("pca_action", "pca_suggested"),
    ] {
        if set.contains_key(action) && !set.contains_key(flag) {
            set.insert(flag.to_string(), Value::Bool(false));
        }
    }
    set.iter()
        .map(|(column, value)| check_field(column, value, taxonomy))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn taxonomy() -> qloop_models::Taxonomy {
        qloop_models::Taxonomy::default_taxonomy()
    }

    #[test]
    fn only_listed_columns_with_values_of_their_kind_are_accepted() {
        let t = taxonomy();
        assert!(check_field("department", &json!("Chassis"), &t).is_ok());
        assert!(check_field("ica_due_ms", &json!(1_717_000_000_000_i64), &t).is_ok());
        assert!(check_field("pca_suggested", &json!(true), &t).is_ok());
        assert!(check_field("root_cause", &json!(null), &t).is_ok());
        for (column, value) in [
            ("id", json!(5)),
            ("status; DROP TABLE cases", json!("new")),
            ("status", json!("closed")),
            ("category", json!(null)),
            ("title", json!("  ")),
            ("ica_due_ms", json!("tomorrow")),
            ("ica_due_ms", json!(-1)),
            ("ica_suggested", json!(1)),
            ("ica_action", json!("x".repeat(MAX_FIELD_CHARS + 1))),
        ] {
            assert!(
                check_field(column, &value, &t).is_err(),
                "{column} = {value}"
            );
        }
    }

    #[test]
    fn a_severity_must_be_one_of_the_severities_by_its_exact_name() {
        let t = taxonomy();
        assert!(check_field("severity", &json!("major"), &t).is_ok());
        let err = check_field("severity", &json!("Major"), &t)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "severity: \"Major\" is not one of major, minor, unassessed"
        );
    }

    #[test]
    fn a_category_must_be_in_the_taxonomy_or_a_triage_state() {
        let t = taxonomy();
        for ok in ["brakes", "hvac", "untriaged", "needs_human_triage"] {
            assert!(check_field("category", &json!(ok), &t).is_ok(), "{ok}");
        }
        let err = check_field("category", &json!("no_such"), &t)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("category: \"no_such\" is not one of "),
            "{err}"
        );
        assert!(err.contains("brakes") && err.contains("untriaged"), "{err}");
    }

    #[test]
    fn writing_an_action_clears_its_suggested_flag_unless_it_is_given() {
        let t = taxonomy();
        let set = json!({"ica_action": "check fluid"});
        let changes = check_changes(set.as_object().unwrap(), &t).unwrap();
        assert!(changes
            .iter()
            .any(|c| c.column == "ica_suggested" && c.value == FieldValue::Int(Some(0))));
        let set = json!({"pca_action": "new seal", "pca_suggested": true});
        let changes = check_changes(set.as_object().unwrap(), &t).unwrap();
        assert!(changes
            .iter()
            .any(|c| c.column == "pca_suggested" && c.value == FieldValue::Int(Some(1))));
    }
}
