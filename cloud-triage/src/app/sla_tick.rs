//! One pass of the SLA scheduler, in one transaction: every clock that has
//! not stopped is loaded, [`crate::domain::sla_tick::plan_tick`] says which
//! breaches to mark and which escalations to raise, each escalation is
//! recorded once, and the follow-up questions that are due go to the cars
//! ([`crate::domain::lifecycle::plan_follow_up`]). Safe to run again, after
//! a restart, or on several workers at once.

use crate::{
    domain::{
        lifecycle::{plan_follow_up, ASKS_FOLLOW_UPS},
        sla_tick::{plan_tick, TickStep},
    },
    sla::SlaPolicy,
    store::{
        lifecycle::{self as rows, follow_ups},
        sla::{self, clock_rows},
        Store, StoreError,
    },
};

pub use crate::domain::sla_tick::TickReport;

/// Who the history names for what the scheduler does.
const ACTOR: &str = "sla";

impl Store {
    /// One scheduler pass at `now_ms`: marks breached clocks and raises each
    /// escalation once, then sends the follow-up questions that are due.
    pub async fn sla_tick(
        &self,
        policy: &SlaPolicy,
        now_ms: i64,
    ) -> Result<TickReport, StoreError> {
        let mut report = TickReport::default();
        let (_gate, mut tx) = self.begin_write().await?;
        let open = clock_rows::open_clocks(&mut tx).await?;
        for step in plan_tick(&open, policy, now_ms) {
            match step {
                TickStep::MarkBreached { case_id, clock } => {
                    clock_rows::save_clock(&mut tx, case_id, &clock).await?
                }
                TickStep::Raise(raise) => {
                    if sla::raise_once(&mut tx, &raise, now_ms).await? {
                        report.count(raise.kind);
                    }
                }
            }
        }
        for due in follow_ups::due(&mut tx, &ASKS_FOLLOW_UPS, now_ms).await? {
            let Some(effects) = plan_follow_up(due.case_id, due.status, due.cycle, due.day) else {
                continue;
            };
            rows::apply(&mut tx, due.case_id, ACTOR, effects, policy, now_ms).await?;
            report.follow_ups += 1;
        }
        tx.commit().await?;
        Ok(report)
    }
}
