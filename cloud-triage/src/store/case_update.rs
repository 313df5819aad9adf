//! Engineers working a case: routing and the 8D fields, each change
//! recorded in the append-only `case_history`.
//!
//! Only the columns in [`EDITABLE_FIELDS`] can be set, by their column name,
//! so no caller-chosen text ever reaches SQL as an identifier. Updates are
//! optimistic: a caller that read the case at `updated_at_ms = T` passes
//! `T` and gets [`StoreError::Conflict`] if someone changed it since. The
//! first statement of the transaction bumps `updated_at_ms` (strictly
//! increasing), which takes the row's write lock on both backends before
//! anything is read, so concurrent updaters are serialised.

use serde_json::Value;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{records::CaseDetail, Store, StoreError};

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
/// The status is not among them: it changes only by a transition
/// (`Store::transition`), which checks the 8D rules.
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

/// A change to a case: who makes it, what they last saw, and the fields to set.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, utoipa::ToSchema)]
pub struct CaseUpdate {
    /// Who makes the change (an engineer's name or a service name).
    /// Over HTTP the caller\'s token name is recorded instead.
    #[serde(default)]
    pub actor: String,
    /// The case's `updated_at_ms` the actor last read; a different stored value is a conflict.
    pub expected_updated_at_ms: Option<i64>,
    /// Column name to new value, e.g. `{"department": "Chassis", "ica_due_ms": 1717000000000}`.
    #[schema(value_type = Object)]
    pub set: serde_json::Map<String, Value>,
}

/// A checked value ready to bind, with its text for the history.
#[derive(Debug, Clone, PartialEq)]
enum FieldValue {
    Text(Option<String>),
    Int(Option<i64>),
}

impl FieldValue {
    fn history_text(&self) -> Option<String> {
        match self {
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.map(|n| n.to_string()),
        }
    }
}

/// Checks one `(column, value)` against [`EDITABLE_FIELDS`].
fn check_field(
    column: &str,
    value: &Value,
) -> Result<(&'static str, FieldKind, FieldValue), StoreError> {
    let invalid = |why: &str| StoreError::Invalid(format!("{column}: {why}"));
    let (name, kind) = EDITABLE_FIELDS
        .iter()
        .find(|(name, _)| *name == column)
        .copied()
        .ok_or_else(|| invalid("not an editable case field"))?;
    let checked = match (kind, value) {
        (FieldKind::Text, Value::Null) | (FieldKind::Millis, Value::Null) => match kind {
            FieldKind::Text => FieldValue::Text(None),
            _ => FieldValue::Int(None),
        },
        (FieldKind::Text | FieldKind::RequiredText, Value::String(s)) => {
            if s.chars().count() > MAX_FIELD_CHARS {
                return Err(invalid(&format!(
                    "longer than {MAX_FIELD_CHARS} characters"
                )));
            }
            if kind == FieldKind::RequiredText && s.trim().is_empty() {
                return Err(invalid("must not be empty"));
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
    Ok((name, kind, checked))
}

impl Store {
    /// Applies `update` to case `id` at `at_ms`, recording each changed field in its history.
    pub async fn update_case(
        &self,
        id: i64,
        update: &CaseUpdate,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        if update.actor.trim().is_empty() || update.actor.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "actor: must be 1 to 200 characters".into(),
            ));
        }
        if update.set.is_empty() {
            return Err(StoreError::Invalid("set: names no field to change".into()));
        }
        // An engineer who writes the action owns it: it is no longer a suggestion.
        let mut set = update.set.clone();
        for (action, flag) in [
            ("ica_action", "ica_suggested"),
            ("pca_action", "pca_suggested"),
        ] {
            if set.contains_key(action) && !set.contains_key(flag) {
                set.insert(flag.to_string(), Value::Bool(false));
            }
        }
        let changes = set
            .iter()
            .map(|(column, value)| check_field(column, value))
            .collect::<Result<Vec<_>, _>>()?;

        let (_gate, mut tx) = self.begin_write().await?;
        let bumped = sqlx::query(
            "UPDATE cases SET updated_at_ms = CASE WHEN updated_at_ms >= $1 THEN updated_at_ms + 1 ELSE $1 END \
             WHERE id = $2 AND ($3 IS NULL OR updated_at_ms = $3)",
        )
        .bind(at_ms)
        .bind(id)
        .bind(update.expected_updated_at_ms)
        .execute(&mut *tx)
        .await?;
        if bumped.rows_affected() == 0 {
            let exists = sqlx::query("SELECT id FROM cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Conflict(format!(
                    "case {id} changed since it was read; reload and retry"
                )),
                None => StoreError::NotFound,
            });
        }
        apply_changes(&mut tx, id, update.actor.trim(), changes, at_ms).await?;
        if set.contains_key("department") {
            super::sla::stop_route_if_routed(&mut tx, id, at_ms).await?;
        }
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}

/// Checks `set` against [`EDITABLE_FIELDS`] (an engineer's action clears
/// its `suggested` flag) and writes it with one history entry per change.
pub(crate) async fn set_fields(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    actor: &str,
    set: &serde_json::Map<String, Value>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let mut set = set.clone();
    for (action, flag) in [
        ("ica_action", "ica_suggested"),
        ("pca_action", "pca_suggested"),
    ] {
        if set.contains_key(action) && !set.contains_key(flag) {
            set.insert(flag.to_string(), Value::Bool(false));
        }
    }
    let changes = set
        .iter()
        .map(|(column, value)| check_field(column, value))
        .collect::<Result<Vec<_>, _>>()?;
    apply_changes(tx, id, actor, changes, at_ms).await
}

async fn apply_changes(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    actor: &str,
    changes: Vec<(&'static str, FieldKind, FieldValue)>,
    at_ms: i64,
) -> Result<(), StoreError> {
    for (column, kind, value) in changes {
        let old = current_value(tx, id, column, kind).await?;
        if old == value {
            continue;
        }
        let statement = format!("UPDATE cases SET {column} = $1 WHERE id = $2");
        let query = match &value {
            FieldValue::Text(text) => sqlx::query(&statement).bind(text.clone()),
            FieldValue::Int(n) => sqlx::query(&statement).bind(*n),
        };
        query.bind(id).execute(&mut **tx).await?;
        sqlx::query(
            "INSERT INTO case_history (id, case_id, at_ms, actor, field, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(id)
        .bind(at_ms)
        .bind(actor)
        .bind(column)
        .bind(old.history_text())
        .bind(value.history_text())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The stored value of `column` (an [`EDITABLE_FIELDS`] name) on case `id`.
async fn current_value(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    column: &str,
    kind: FieldKind,
) -> Result<FieldValue, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {column} AS value FROM cases WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(match kind {
        FieldKind::Text | FieldKind::RequiredText => FieldValue::Text(row.try_get("value")?),
        FieldKind::Millis | FieldKind::Flag => FieldValue::Int(row.try_get("value")?),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_listed_columns_with_values_of_their_kind_are_accepted() {
        assert!(check_field("department", &json!("Chassis")).is_ok());
        assert!(check_field("ica_due_ms", &json!(1_717_000_000_000_i64)).is_ok());
        assert!(check_field("pca_suggested", &json!(true)).is_ok());
        assert!(check_field("root_cause", &json!(null)).is_ok());
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
                matches!(check_field(column, &value), Err(StoreError::Invalid(_))),
                "{column} = {value}"
            );
        }
    }
}
