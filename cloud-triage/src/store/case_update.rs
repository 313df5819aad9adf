//! A case's editable fields in the database: each checked change written
//! with its entry in the append-only `case_history`, and a change of
//! severity or category reassessed. Which columns can be set and what each
//! accepts is [`crate::domain::fields`]; the use case (`PATCH`) is
//! [`crate::app::patch`].

use sqlx::{Any, Row, Transaction};

use super::{
    case_writes,
    reassessment::{self, Why},
    StoreError,
};
use crate::domain::fields::{FieldChange, FieldKind, FieldValue};
use crate::sla::SlaPolicy;

/// Whether case `id` exists.
pub(crate) async fn exists(
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT id FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// Writes checked changes to case `id` with their history and what they
/// imply: a case whose severity or category changed is reassessed on the one
/// path every change takes ([`reassessment::reassess_from`]: escalated once
/// when it became major, its open clocks re-targeted) under `sla`.
pub(crate) async fn write_fields(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    actor: &str,
    changes: &[FieldChange],
    sla: &SlaPolicy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let reassessed = changes
        .iter()
        .any(|c| matches!(c.column, "severity" | "category"));
    let before = if reassessed {
        Some(super::sla::assessed(tx, id).await?)
    } else {
        None
    };
    apply_changes(tx, id, actor, changes, at_ms).await?;
    if let Some((severity, category)) = before {
        let reason = format!("set by {actor}");
        let why = Why::same(actor, &reason);
        reassessment::reassess_from(tx, id, (severity, &category), why, sla, at_ms).await?;
    }
    Ok(())
}

/// Writes checked changes to case `id`, one history entry per changed value.
async fn apply_changes(
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
        case_writes::history(
            tx,
            id,
            at_ms,
            actor,
            column,
            old.history_text().as_deref(),
            value.history_text().as_deref(),
        )
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
