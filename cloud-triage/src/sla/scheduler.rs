//! The SLA scheduler: a task that runs the SLA tick use case
//! ([`Store::sla_tick`], in [`crate::app::sla_tick`]) every `tick_seconds`,
//! so breaches, escalations and follow-up questions go out even when
//! nobody touches a case. Its state is in the database, so it survives restarts;
//! each escalation has a primary key, so several workers may tick at once.

use std::sync::Arc;

use super::SlaPolicy;
use crate::store::Store;

/// Where "now" comes from: the wall clock in the service, a test's clock in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock, Unix ms.
pub fn system_clock() -> Clock {
    Arc::new(crate::now_ms)
}

/// Ticks until `shutdown`.
pub async fn run_sla_scheduler(
    store: Store,
    policy: SlaPolicy,
    clock: Clock,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(u64::from(
        policy.tick_seconds,
    )));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = every.tick() => {
                match store.sla_tick(&policy, clock()).await {
                    Ok(r) if r != Default::default() => {
                        tracing::info!(imminent = r.imminent, breached = r.breached, unresolved = r.unresolved, "SLA escalations raised");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "SLA tick failed; retrying next tick"),
                }
            }
        }
    }
}
