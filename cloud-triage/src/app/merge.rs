//! An engineer's merge of one open case into another, in one transaction:
//! every occurrence and knowledge match moves, the merged-away case becomes
//! `merged` (pointing at the other, its clocks cancelled), the surviving
//! case keeps the higher severity (a major one escalates it on the one
//! path) and its hazard, or takes a major merged case's when it names none
//! ([`crate::domain::hazard::kept`]), and both histories say so. The plan is
//! [`crate::domain::fleet::merge_split::plan_merge`].

use super::fleet;
use crate::{
    domain::{
        fleet::merge_split::{check_actor, check_merge_pair, lock_order, plan_merge},
        hazard::major_detail,
        CaseStatus,
    },
    store::{
        case_writes, hazard, merge_split as rows,
        reassessment::{self, Why},
        sla, Store, StoreError,
    },
};

impl Store {
    /// Merges case `from` into case `into`: every occurrence and knowledge
    /// match moves, `from` becomes `merged` (pointing at `into`), `into`
    /// keeps the higher severity, and both histories say so.
    pub async fn merge_cases(
        &self,
        from: i64,
        into: i64,
        actor: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let actor = check_actor(actor)?;
        check_merge_pair(from, into)?;
        let (_gate, mut tx) = self.begin_write().await?;
        // Lock in id order so two opposite merges cannot deadlock.
        let [a, b] = lock_order(from, into);
        let first = rows::touch(&mut tx, a, at_ms).await?;
        let second = rows::touch(&mut tx, b, at_ms).await?;
        let (from_case, into_case) = if a == from {
            (first, second)
        } else {
            (second, first)
        };
        let moved = rows::feedback_of(&mut tx, from).await?;
        let plan = plan_merge(&from_case, &into_case, &moved)?;
        rows::move_feedback(&mut tx, &moved, into, at_ms).await?;
        rows::copy_matches(&mut tx, from, into).await?;
        fleet::refresh_aggregates(&mut tx, into, true).await?;
        let named = hazard::of_case(&mut tx, from).await?;
        let into_hazard =
            hazard::keep(&mut tx, into, from_case.severity, named, actor, at_ms).await?;
        if let Some(cause) = &plan.raise_into {
            let why = major_detail(cause, into_hazard, "");
            let sla = &self.policy().sla;
            reassessment::raise_to_major(&mut tx, into, Why::same(actor, &why), sla, at_ms).await?;
        }
        sla::cancel_clocks(&mut tx, from, at_ms).await?;
        rows::mark_merged(&mut tx, from, into).await?;
        let merged = CaseStatus::Merged;
        case_writes::set_status(
            &mut tx,
            from,
            from_case.status,
            merged,
            actor,
            merged.as_str(),
            at_ms,
        )
        .await?;
        case_writes::history(
            &mut tx,
            from,
            at_ms,
            actor,
            "merged_into",
            None,
            Some(&plan.from_history),
        )
        .await?;
        case_writes::history(
            &mut tx,
            into,
            at_ms,
            actor,
            "merged_from",
            None,
            Some(&plan.into_history),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
