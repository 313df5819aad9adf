//! An engineer's split of reports out of an open case into a new case, in
//! one transaction. The new case keeps the category, department,
//! severity and hazard, gets its own title, aggregates, centroid and SLA clocks on the
//! store's policy, and a major one is escalated (once) on the one path.
//! The plan is [`crate::domain::fleet::merge_split::plan_split`].

use serde_json::json;
use uuid::Uuid;

use super::fleet;
use crate::{
    domain::{
        escalation,
        fleet::merge_split::{check_actor, check_split_request, plan_split},
        texts::case_title,
        NotificationKind,
    },
    store::{
        case_writes, hazard, merge_split as rows,
        reassessment::{self, Why},
        sla, Store, StoreError,
    },
};

impl Store {
    /// Splits `feedback_ids` out of case `from` into a new case (same
    /// category, department, severity and hazard; its own title, aggregates,
    /// centroid and SLA clocks, on the store's policy); returns the new case
    /// number. At least one feedback must stay.
    pub async fn split_case(
        &self,
        from: i64,
        feedback_ids: &[Uuid],
        actor: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let actor = check_actor(actor)?;
        check_split_request(feedback_ids)?;
        let (_gate, mut tx) = self.begin_write().await?;
        let case = rows::touch(&mut tx, from, at_ms).await?;
        let held = rows::feedback_of(&mut tx, from).await?;
        let plan = plan_split(&case, &held, feedback_ids)?;
        let new_id = case_writes::next_case_number(&mut tx).await?;
        let transcript = rows::transcript_of(&mut tx, plan.first()).await?;
        let title = case_title(transcript.as_deref());
        rows::insert_split_case(&mut tx, new_id, &title, from, at_ms).await?;
        rows::move_feedback(&mut tx, &plan.moving, new_id, at_ms).await?;
        fleet::refresh_aggregates(&mut tx, new_id, true).await?;
        fleet::refresh_aggregates(&mut tx, from, true).await?;
        let opened = plan.opened_history(new_id);
        case_writes::history(&mut tx, new_id, at_ms, actor, "opened", None, Some(&opened)).await?;
        let split = plan.split_history(new_id);
        case_writes::history(&mut tx, from, at_ms, actor, "split", None, Some(&split)).await?;
        // A case opened by a split runs on the policy like any other: its
        // clocks start now, and a major one is escalated (once).
        let policy = self.policy();
        let (severity, category) = sla::assessed(&mut tx, new_id).await?;
        let targets = policy.sla.targets(severity, &category);
        let wt = policy.sla.working_time();
        sla::start_clocks(&mut tx, new_id, &targets, wt, at_ms).await?;
        sla::stop_route_if_routed(&mut tx, new_id, at_ms).await?;
        let why = plan.escalation_reason();
        let opened = escalation::on_open(severity);
        reassessment::apply(&mut tx, new_id, &opened, Why::same(actor, &why), wt, at_ms).await?;
        let named = hazard::of_case(&mut tx, new_id).await?;
        let payload = json!({
            "case_id": new_id,
            "split_from": from,
            "hazard": named.map(qloop_models::Hazard::name),
        });
        case_writes::notify(
            &mut tx,
            NotificationKind::CaseOpened,
            new_id,
            payload,
            at_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(new_id)
    }
}
