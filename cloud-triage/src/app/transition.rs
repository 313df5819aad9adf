//! An engineer moves a case through its 8D lifecycle, in one transaction:
//! the case's row is taken (its `updated_at_ms` bumped), its state loaded,
//! [`crate::domain::lifecycle::plan`] asked, and the planned effects
//! applied (fields, status, clocks, messages to the cars, follow-ups,
//! notifications). A refusal names what is wrong and changes nothing.

use serde_json::{Map, Value};

use crate::{
    domain::{
        lifecycle::{self, check_actor, check_texts, Rules, TransitionRequest},
        CaseStatus, UnknownValue,
    },
    policy::Policy,
    store::{case_writes, lifecycle as rows, CaseDetail, Store, StoreError},
};

/// A transition: the status to move to, who moves it, texts and fields.
/// The HTTP body is `api::transition::TransitionRequest`, converted to this
/// at the edge.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The status to move to.
    pub to: String,
    /// Who does it.
    pub actor: String,
    /// What the driver is told (required for `acknowledged` and
    /// `effectiveness_verified`; sent as an update otherwise).
    pub message: Option<String>,
    /// Why (required for `waiting_customer`, `reopened` and `cancelled`).
    pub reason: Option<String>,
    /// Case fields set with the transition (same names as `PATCH`).
    pub fields: Map<String, Value>,
}

impl Store {
    /// Moves case `id` to `t.to` if the lifecycle allows it and every
    /// required field is present; records history, runs the SLA clocks,
    /// queues messages to the cars that reported it, and schedules follow-ups.
    pub async fn transition(
        &self,
        id: i64,
        t: &Transition,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<CaseDetail, StoreError> {
        let actor = check_actor(&t.actor)?;
        let to: CaseStatus = t.to.parse().map_err(|e: UnknownValue| e.for_field("to"))?;
        check_texts(t.message.as_deref(), t.reason.as_deref())?;
        let (_gate, mut tx) = self.begin_write().await?;
        if !case_writes::bump_updated(&mut tx, id, at_ms, None).await? {
            return Err(StoreError::NotFound);
        }
        let case = rows::load_state(&mut tx, id).await?;
        let request = TransitionRequest {
            to,
            message: t.message.as_deref(),
            reason: t.reason.as_deref(),
            fields: &t.fields,
        };
        let rules = Rules {
            sla: &policy.sla,
            follow_up_days: &policy.follow_up.days,
            taxonomy: self.taxonomy(),
        };
        let effects = lifecycle::plan(&case, &request, &rules)?;
        rows::apply(&mut tx, id, actor, effects, &policy.sla, at_ms).await?;
        tx.commit().await?;
        self.get_case(id).await?.ok_or(StoreError::NotFound)
    }
}
