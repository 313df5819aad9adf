//! An engineer tells the driver(s) of an open, acknowledged case how it is
//! going, without changing its status, in one transaction: the message is
//! queued for the cars, recorded, and the next-update clock restarts
//! ([`crate::domain::lifecycle::plan_update`]).

use crate::{
    domain::lifecycle::{check_update_message, plan_update},
    policy::Policy,
    store::{case_writes, lifecycle as rows, CaseDetail, Store, StoreError},
};

impl Store {
    /// Sends the driver(s) of an open, acknowledged case an update without
    /// changing its status; restarts the next-update clock.
    pub async fn send_update(
        &self,
        id: i64,
        message: &str,
        actor: &str,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        check_update_message(message)?;
        let (_gate, mut tx) = self.begin_write().await?;
        if !case_writes::bump_updated(&mut tx, id, at_ms, None).await? {
            return Err(StoreError::NotFound);
        }
        let case = rows::load_state(&mut tx, id).await?;
        let effects = plan_update(&case, message, &policy.sla)?;
        rows::apply(&mut tx, id, actor, effects, &policy.sla, at_ms).await?;
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}
