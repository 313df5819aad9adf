//! The driver's satisfaction answer (from the car or the API), in one
//! transaction: the case's row is taken, the answer recorded with the due
//! follow-up questions marked answered, and the case closed when satisfied
//! or reopened when not ([`crate::domain::lifecycle::plan_satisfaction`]).

use crate::{
    domain::lifecycle::{check_actor, check_answer, plan_satisfaction, Rules},
    policy::Policy,
    store::{case_writes, lifecycle as rows, CaseDetail, Store, StoreError},
};

impl Store {
    /// The driver's satisfaction (1–5, with an optional comment), from the car
    /// or the API: records it and closes the case when satisfied, reopens it
    /// when not. The case must be resolved (`effectiveness_verified` or `follow_up`).
    pub async fn record_satisfaction(
        &self,
        id: i64,
        score: i64,
        comment: Option<&str>,
        actor: &str,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        check_answer(score, comment)?;
        let actor = check_actor(actor)?;
        let (_gate, mut tx) = self.begin_write().await?;
        if !case_writes::bump_updated(&mut tx, id, at_ms, None).await? {
            return Err(StoreError::NotFound);
        }
        let case = rows::load_state(&mut tx, id).await?;
        let rules = Rules {
            sla: &policy.sla,
            follow_up_days: &policy.follow_up.days,
            taxonomy: self.taxonomy(),
        };
        let satisfied_at_least = policy.follow_up.satisfied_at_least;
        let effects = plan_satisfaction(&case, score, comment, satisfied_at_least, &rules)?;
        rows::apply(&mut tx, id, actor, effects, &policy.sla, at_ms).await?;
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}
