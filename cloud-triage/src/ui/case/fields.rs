//! The 8D fields as the case page's forms show them: their labels, the
//! input each takes, their current values, and a submitted text turned into
//! the JSON value the use cases take. Which fields exist and how each is
//! stored is the domain's table ([`EDITABLE_FIELDS`]); the checks of the
//! values are the use cases', not repeated here.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    domain::fields::{FieldKind, EDITABLE_FIELDS},
    views::CaseDetail,
};

/// One block of the 8D panel: its anchor, its title, and its fields as
/// `(column, label)`.
pub type Block = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The 8D panel's blocks, in 8D order.
pub const BLOCKS: [Block; 4] = [
    (
        "ica",
        "D3 Interim containment (ICA)",
        &[
            ("ica_action", "Action"),
            ("ica_owner", "Owner"),
            ("ica_due_ms", "Due (UTC)"),
            ("ica_implemented_at_ms", "Implemented (UTC)"),
            ("ica_verification", "How its effect was checked"),
            ("ica_verified_at_ms", "Verified (UTC)"),
        ],
    ),
    (
        "root-cause",
        "D4 Root cause",
        &[
            ("root_cause", "Cause"),
            ("root_cause_owner", "Owner"),
            ("root_cause_occurrence", "Why it occurred"),
            ("root_cause_escape_point", "Why it escaped detection"),
            ("root_cause_evidence", "Evidence"),
            ("root_cause_found_at_ms", "Found (UTC)"),
        ],
    ),
    (
        "pca",
        "D5/D6 Permanent corrective action (PCA)",
        &[
            ("pca_action", "Action"),
            ("pca_owner", "Owner"),
            ("pca_due_ms", "Due (UTC)"),
            ("pca_implemented_at_ms", "Implemented (UTC)"),
            ("pca_validation", "How it was validated"),
            ("pca_verified_at_ms", "Verified (UTC)"),
        ],
    ),
    (
        "verification",
        "D7 Verification of effectiveness",
        &[
            ("verification", "What was verified and how"),
            ("verification_owner", "Verified by"),
            ("verified_at_ms", "Verified (UTC)"),
        ],
    ),
];

/// Every column of the 8D panel.
pub fn panel_columns() -> impl Iterator<Item = &'static str> {
    BLOCKS
        .iter()
        .flat_map(|(_, _, fields)| fields.iter().map(|(column, _)| *column))
}

/// A field's label; its column name when the panel does not show it.
pub fn label_of(column: &str) -> String {
    BLOCKS
        .iter()
        .flat_map(|(_, _, fields)| fields.iter())
        .find(|(c, _)| *c == column)
        .map_or_else(|| column.replace('_', " "), |(_, label)| label.to_string())
}

/// How a column is stored, when a case update may set it.
pub fn kind_of(column: &str) -> Option<FieldKind> {
    EDITABLE_FIELDS
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, kind)| *kind)
}

/// One input of a form, filled with its current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The column, and the input's name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// `text`, `textarea` or `datetime-local`.
    pub input: &'static str,
    /// The value the input starts with.
    pub value: String,
}

impl FormField {
    /// The input for `column` holding `value` (as the form writes it).
    pub fn new(column: &str, value: String) -> Self {
        let input = match kind_of(column) {
            Some(FieldKind::Millis) => "datetime-local",
            _ if column.ends_with("_owner") => "text",
            _ => "textarea",
        };
        Self {
            name: column.to_string(),
            label: label_of(column),
            input,
            value,
        }
    }
}

/// The 8D columns of `case` as a form writes them (times as
/// `YYYY-MM-DDTHH:MM` in UTC, blanks as empty text).
pub fn current_values(case: &CaseDetail) -> BTreeMap<&'static str, String> {
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let time = |t: Option<i64>| t.map(format_local).unwrap_or_default();
    let (ica, rc, pca, v) = (&case.ica, &case.root_cause, &case.pca, &case.verification);
    BTreeMap::from([
        ("ica_action", text(&ica.action)),
        ("ica_owner", text(&ica.owner)),
        ("ica_due_ms", time(ica.due_ms)),
        ("ica_implemented_at_ms", time(ica.implemented_at_ms)),
        ("ica_verification", text(&ica.verification)),
        ("ica_verified_at_ms", time(ica.verified_at_ms)),
        ("root_cause", text(&rc.cause)),
        ("root_cause_owner", text(&rc.owner)),
        ("root_cause_occurrence", text(&rc.occurrence)),
        ("root_cause_escape_point", text(&rc.escape_point)),
        ("root_cause_evidence", text(&rc.evidence)),
        ("root_cause_found_at_ms", time(rc.found_at_ms)),
        ("pca_action", text(&pca.action)),
        ("pca_owner", text(&pca.owner)),
        ("pca_due_ms", time(pca.due_ms)),
        ("pca_implemented_at_ms", time(pca.implemented_at_ms)),
        ("pca_validation", text(&pca.validation)),
        ("pca_verified_at_ms", time(pca.verified_at_ms)),
        ("verification", text(&v.summary)),
        ("verification_owner", text(&v.owner)),
        ("verified_at_ms", time(v.verified_at_ms)),
    ])
}

/// A submitted text as the value a use case takes for `column`: `None`
/// for a blank (nothing to set), a time parsed from the form's UTC
/// `YYYY-MM-DDTHH:MM`, a flag from `true`/`false`. A column the domain does
/// not know is passed on as text, for the use case to refuse by name.
pub fn to_value(column: &str, text: &str) -> Result<Option<Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match kind_of(column) {
        Some(FieldKind::Millis) => parse_local(text)
            .map(|ms| Some(Value::from(ms)))
            .ok_or_else(|| {
                format!(
                    "{}: write a date and time as YYYY-MM-DD HH:MM (UTC), got {text:?}",
                    label_of(column)
                )
            }),
        Some(FieldKind::Flag) => match text {
            "true" => Ok(Some(Value::Bool(true))),
            "false" => Ok(Some(Value::Bool(false))),
            _ => Err(format!("{column}: must be true or false")),
        },
        _ => Ok(Some(Value::String(text.to_string()))),
    }
}

/// A UTC instant as a `datetime-local` input writes it.
pub fn format_local(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, seconds optional, a space
/// for the `T` accepted) read as UTC, in Unix ms.
pub fn parse_local(text: &str) -> Option<i64> {
    let text = text.replacen(' ', "T", 1);
    let with_seconds =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let minutes = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let at = time::PrimitiveDateTime::parse(&text, with_seconds)
        .or_else(|_| time::PrimitiveDateTime::parse(&text, minutes))
        .ok()?;
    i64::try_from(at.assume_utc().unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_field_is_an_editable_case_field() {
        for column in panel_columns() {
            assert!(kind_of(column).is_some(), "{column}");
        }
    }

    #[test]
    fn a_form_time_is_utc_and_round_trips() {
        let ms = 1_717_000_000_000 - 1_717_000_000_000 % 60_000;
        assert_eq!(format_local(ms), "2024-05-29T16:26");
        assert_eq!(parse_local("2024-05-29T16:26"), Some(ms));
        assert_eq!(parse_local("2024-05-29 16:26:00"), Some(ms));
        assert_eq!(parse_local("tomorrow"), None);
    }

    #[test]
    fn submitted_texts_become_the_values_the_use_cases_take() {
        assert_eq!(to_value("ica_owner", "  "), Ok(None));
        assert_eq!(
            to_value("ica_owner", " Ana "),
            Ok(Some(Value::String("Ana".into())))
        );
        assert_eq!(
            to_value("ica_due_ms", "2024-05-29T16:26"),
            Ok(Some(Value::from(1_716_999_960_000_i64)))
        );
        assert!(to_value("ica_due_ms", "soon")
            .unwrap_err()
            .starts_with("Due (UTC): "));
        assert_eq!(
            to_value("ica_suggested", "false"),
            Ok(Some(Value::Bool(false)))
        );
        // Unknown columns go on to the use case, which names them.
        assert_eq!(
            to_value("status", "closed"),
            Ok(Some(Value::String("closed".into())))
        );
    }
}
