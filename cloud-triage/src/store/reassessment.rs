//! The one way a change of severity or category is applied, whatever made
//! it (a new case, a report that joins, an emerging issue, a merge or
//! split, a late transcript, an engineer's PATCH): the rule
//! [`crate::domain::escalation`] says whether to escalate and re-target,
//! and [`apply`] does it through the SLA clocks' rows.

use sqlx::{Any, Transaction};

use super::{case_writes, hazard, sla, StoreError};
use crate::{
    domain::{
        escalation::{self, Assessed, Reassessment},
        Severity,
    },
    sla::{SlaPolicy, WorkingTime},
};

type Tx = Transaction<'static, Any>;

/// Who made a change and why, for the history and the escalation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Why<'a> {
    /// Who: `triage`, an engineer's name.
    pub actor: &'a str,
    /// The reason in the history entry.
    pub reason: &'a str,
    /// The escalation's detail.
    pub detail: &'a str,
}

impl<'a> Why<'a> {
    /// One text as both the history's reason and the escalation's detail.
    pub(crate) fn same(actor: &'a str, why: &'a str) -> Self {
        Self {
            actor,
            reason: why,
            detail: why,
        }
    }
}

/// Applies `r` to case `case_id`: escalates it as major (once per case,
/// naming the hazard the case names by then) and gives its open clocks the
/// new targets.
pub(crate) async fn apply(
    tx: &mut Tx,
    case_id: i64,
    r: &Reassessment,
    why: Why<'_>,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    if r.escalate {
        let named = hazard::of_case(tx, case_id).await?;
        let (actor, reason, detail) = (why.actor, why.reason, why.detail);
        sla::escalate_major(tx, case_id, actor, reason, detail, named, at_ms).await?;
    }
    if let Some(targets) = &r.retarget {
        sla::retarget_open_clocks(tx, case_id, targets, wt).await?;
    }
    Ok(())
}

/// After a case's severity or category changed from `before` (already
/// written): reads what it is now and applies the rule under `sla`.
pub(crate) async fn reassess_from(
    tx: &mut Tx,
    case_id: i64,
    before: (Severity, &str),
    why: Why<'_>,
    sla: &SlaPolicy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let (severity, category) = sla::assessed(tx, case_id).await?;
    let r = escalation::reassess(
        Assessed {
            severity: before.0,
            category: before.1,
        },
        Assessed {
            severity,
            category: &category,
        },
        sla,
    );
    apply(tx, case_id, &r, why, sla.working_time(), at_ms).await
}

/// Raises a case to `major` (with its history) and applies that, unless it
/// already is major. True when it was raised.
pub(crate) async fn raise_to_major(
    tx: &mut Tx,
    case_id: i64,
    why: Why<'_>,
    sla: &SlaPolicy,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let (old, category) = sla::assessed(tx, case_id).await?;
    if old.is_major() {
        return Ok(false);
    }
    let major = Severity::Major;
    sqlx::query("UPDATE cases SET severity = $1 WHERE id = $2")
        .bind(major.as_str())
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    case_writes::history(
        tx,
        case_id,
        at_ms,
        why.actor,
        "severity",
        Some(old.as_str()),
        Some(major.as_str()),
    )
    .await?;
    reassess_from(tx, case_id, (old, &category), why, sla, at_ms).await?;
    Ok(true)
}
