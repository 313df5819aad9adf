//! Engineers working a case: routing and the 8D fields, each change
//! recorded in the append-only `case_history`.
//!
//! Which columns can be set and what each accepts is
//! [`crate::domain::fields`]; here they are written. Updates are
//! optimistic: a caller that read the case at `updated_at_ms = T` passes
//! `T` and gets [`StoreError::Conflict`] if someone changed it since. The
//! first statement of the transaction bumps `updated_at_ms` (strictly
//! increasing), which takes the row's write lock on both backends before
//! anything is read, so concurrent updaters are serialised.

use serde_json::Value;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{records::CaseDetail, Store, StoreError};
use crate::domain::fields::{check_changes, FieldChange, FieldKind, FieldValue};

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
        let changes = check_changes(&update.set, self.taxonomy())?;

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
        apply_changes(&mut tx, id, update.actor.trim(), &changes, at_ms).await?;
        if update.set.contains_key("department") {
            super::sla::stop_route_if_routed(&mut tx, id, at_ms).await?;
        }
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}

/// Writes checked changes to case `id`, one history entry per changed value.
pub(crate) async fn apply_changes(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    actor: &str,
    changes: &[FieldChange],
    at_ms: i64,
) -> Result<(), StoreError> {
    for FieldChange {
        column,
        kind,
        value,
    } in changes
    {
        let old = current_value(tx, id, column, *kind).await?;
        if old == *value {
            continue;
        }
        let statement = format!("UPDATE cases SET {column} = $1 WHERE id = $2");
        let query = match value {
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

/// The stored value of `column` (an editable field) on case `id`.
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
