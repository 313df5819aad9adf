//! An engineer's change to a case's fields (`PATCH`), in one transaction.
//! Updates are optimistic: a caller that read the case at
//! `updated_at_ms = T` passes `T` and gets [`StoreError::Conflict`] if
//! someone changed it since. The first statement bumps `updated_at_ms`
//! (strictly increasing), which takes the row's write lock on both
//! backends before anything is read, so concurrent updaters are
//! serialised. The plan is [`crate::domain::patch::plan_patch`]; a new
//! severity or category is reassessed on the one path every change takes
//! (a case that became major is escalated once, its open clocks
//! re-targeted).

use serde_json::{Map, Value};

use crate::{
    domain::patch::plan_patch,
    store::{case_update, case_writes, sla, Store, StoreError},
    views::CaseDetail,
};

/// A change to a case: who makes it, what they last saw, and the fields to set.
/// The HTTP body is `api::cases::CasePatch`, converted to this at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseUpdate {
    /// Who makes the change (an engineer's name or a service name).
    pub actor: String,
    /// The case's `updated_at_ms` the actor last read; a different stored value is a conflict.
    pub expected_updated_at_ms: Option<i64>,
    /// Column name to new value, e.g. `{"department": "Chassis", "ica_due_ms": 1717000000000}`.
    pub set: Map<String, Value>,
}

impl Store {
    /// Applies `update` to case `id` at `at_ms`, recording each changed field in its history.
    pub async fn update_case(
        &self,
        id: i64,
        update: &CaseUpdate,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        let plan = plan_patch(&update.actor, &update.set, self.taxonomy())?;
        let (_gate, mut tx) = self.begin_write().await?;
        let expected = update.expected_updated_at_ms;
        if !case_writes::bump_updated(&mut tx, id, at_ms, expected).await? {
            return Err(if case_update::exists(&mut tx, id).await? {
                StoreError::Conflict(format!(
                    "case {id} changed since it was read; reload and retry"
                ))
            } else {
                StoreError::NotFound
            });
        }
        let policy = self.policy();
        case_update::write_fields(&mut tx, id, plan.actor, &plan.changes, &policy.sla, at_ms)
            .await?;
        if plan.stop_route {
            sla::stop_route(&mut tx, id, at_ms).await?;
        }
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}
