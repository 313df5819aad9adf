//! A case's hazard in its row: read, and kept by the rule
//! [`crate::domain::hazard::kept`] when a report reaches the case (the
//! first major report's hazard names it; a later one never overwrites it).
//! This module uses only `case_writes` and `rows` of the store.

use qloop_models::Hazard;
use sqlx::{Any, Row, Transaction};

use super::{case_writes, rows::hazard_column, StoreError};
use crate::domain::{hazard::kept, Severity};

type Tx = Transaction<'static, Any>;

/// The hazard case `case_id` names, if any.
pub(crate) async fn of_case(tx: &mut Tx, case_id: i64) -> Result<Option<Hazard>, StoreError> {
    let row = sqlx::query("SELECT hazard FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    hazard_column(row.try_get("hazard")?, "cases.hazard")
}

/// A report of `severity` naming `named` reached case `case_id`: the case
/// keeps its hazard, or takes the report's when it has none and the report
/// is major (with a history entry by `actor`). Returns the case's hazard.
pub(crate) async fn keep(
    tx: &mut Tx,
    case_id: i64,
    severity: Severity,
    named: Option<Hazard>,
    actor: &str,
    at_ms: i64,
) -> Result<Option<Hazard>, StoreError> {
    let before = of_case(tx, case_id).await?;
    let after = kept(before, severity, named);
    if after != before {
        let name = after.map(Hazard::name);
        sqlx::query("UPDATE cases SET hazard = $1 WHERE id = $2")
            .bind(name)
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
        let old = before.map(Hazard::name);
        case_writes::history(tx, case_id, at_ms, actor, "hazard", old, name).await?;
    }
    Ok(after)
}
