//! SLA clocks and escalations in the database. The rules are
//! [`crate::domain::clocks`] and [`crate::domain::escalation_record`]: each
//! function here loads a case's clocks (through `clock_rows`), applies a
//! rule, and saves what changed; breaches and the other escalations are
//! recorded once each (primary key on case, kind, metric and cycle), with a
//! history entry and a notification event. The scheduler's pass is the use
//! case [`crate::app::sla_tick`]. This module uses only `case_writes`,
//! `clock_rows` and `rows` of the store, never the lifecycle.

use sqlx::{Any, Row, Transaction};

pub(crate) mod clock_rows;

use clock_rows::{clock_from_row, current_clock, insert_clock, load_clocks, save_clock};

use super::{case_writes, rows::enum_column, Store, StoreError};
use crate::{
    domain::{
        clocks::{is_routed, route_stop_time, Clock},
        escalation::major_history,
        escalation_record::Raise,
        EscalationKind, Severity, SlaMetric,
    },
    sla::{SlaTargets, WorkingTime},
};

pub use crate::domain::clocks::SlaClock;
pub(crate) use crate::domain::escalation_record::ClockRef;

type Tx = Transaction<'static, Any>;

/// Starts every metric's clock for a new case.
pub(crate) async fn start_clocks(
    tx: &mut Tx,
    case_id: i64,
    targets: &SlaTargets,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    for metric in SlaMetric::ON_OPEN {
        let clock = Clock::start(metric, 0, targets.target_ms(metric), wt, at_ms);
        insert_clock(tx, case_id, &clock).await?;
    }
    Ok(())
}

/// Records an escalation once; true when it is new (then also history and
/// a notification event).
pub(crate) async fn escalate_once(
    tx: &mut Tx,
    case_id: i64,
    kind: EscalationKind,
    clock: ClockRef,
    detail: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let raise = Raise {
        case_id,
        kind,
        clock,
        detail: detail.to_string(),
        hazard: None,
    };
    raise_once(tx, &raise, at_ms).await
}

/// Records `raise` once (primary key on case, kind, metric and cycle); true
/// when it is new, and then also its history entry and notification event.
pub(crate) async fn raise_once(tx: &mut Tx, raise: &Raise, at_ms: i64) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO escalations (case_id, kind, metric, cycle, at_ms, detail) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (case_id, kind, metric, cycle) DO NOTHING",
    )
    .bind(raise.case_id)
    .bind(raise.kind.as_str())
    .bind(raise.metric())
    .bind(raise.cycle())
    .bind(at_ms)
    .bind(&raise.detail)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let history = raise.history_text();
        case_writes::history(
            tx,
            raise.case_id,
            at_ms,
            "sla",
            "escalation",
            None,
            Some(&history),
        )
        .await?;
        let (kind, payload) = raise.notification();
        case_writes::notify(tx, kind, raise.case_id, payload, at_ms).await?;
    }
    Ok(inserted)
}

/// Stops a metric's running clock at `at_ms` (ending an open pause); a stop
/// past the due instant records the breach and escalates it once.
pub(crate) async fn stop_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    let Some(mut clock) = current_clock(tx, case_id, metric).await? else {
        return Ok(());
    };
    if clock.stopped_at_ms.is_some() {
        return Ok(());
    }
    let late = clock.stop(wt, at_ms);
    save_clock(tx, case_id, &clock).await?;
    if let Some(detail) = late {
        escalate_once(
            tx,
            case_id,
            EscalationKind::Breached,
            Some((metric, clock.cycle)),
            &detail,
            at_ms,
        )
        .await?;
    }
    Ok(())
}

/// A case's severity and category as stored.
pub(crate) async fn assessed(tx: &mut Tx, case_id: i64) -> Result<(Severity, String), StoreError> {
    let row = sqlx::query("SELECT severity, category FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok((
        enum_column(row.try_get("severity")?, "cases.severity")?,
        row.try_get("category")?,
    ))
}

/// Escalates a case as major, once per case: a history entry with
/// `reason`, an escalation with `detail`, and its notification, which names
/// the case's `hazard`. True when it is new; a case escalated as major
/// before gets nothing.
pub(crate) async fn escalate_major(
    tx: &mut Tx,
    case_id: i64,
    actor: &str,
    reason: &str,
    detail: &str,
    hazard: Option<qloop_models::Hazard>,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let before = sqlx::query("SELECT 1 AS one FROM escalations WHERE case_id = $1 AND kind = $2")
        .bind(case_id)
        .bind(EscalationKind::Major.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if before.is_some() {
        return Ok(false);
    }
    case_writes::history(
        tx,
        case_id,
        at_ms,
        actor,
        "escalation",
        None,
        Some(&major_history(reason)),
    )
    .await?;
    let raise = Raise {
        case_id,
        kind: EscalationKind::Major,
        clock: None,
        detail: detail.to_string(),
        hazard,
    };
    raise_once(tx, &raise, at_ms).await
}

/// Gives a case's open clocks new targets (its due instants move with them).
pub(crate) async fn retarget_open_clocks(
    tx: &mut Tx,
    case_id: i64,
    targets: &SlaTargets,
    wt: &WorkingTime,
) -> Result<(), StoreError> {
    for mut clock in load_clocks(tx, case_id, true).await? {
        if clock.retarget(targets.target_ms(clock.metric), wt) {
            save_clock(tx, case_id, &clock).await?;
        }
    }
    Ok(())
}

/// Stops the routing clock once the case has a department. Routing counts
/// around the clock: a routed case is routed.
pub(crate) async fn stop_route_if_routed(
    tx: &mut Tx,
    case_id: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    let department: Option<String> = sqlx::query("SELECT department FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("department")?;
    if is_routed(department.as_deref()) {
        stop_route(tx, case_id, at_ms).await?;
    }
    Ok(())
}

/// Stops the routing clock, counted around the clock.
pub(crate) async fn stop_route(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    stop_clock(tx, case_id, SlaMetric::Route, &route_stop_time(), at_ms).await
}

/// Pauses every running clock of a case (waiting on the customer).
pub(crate) async fn pause_clocks(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    for mut clock in load_clocks(tx, case_id, true).await? {
        if clock.pause(at_ms) {
            save_clock(tx, case_id, &clock).await?;
        }
    }
    Ok(())
}

/// Resumes every paused clock: the paused working time moves its due instant.
pub(crate) async fn resume_clocks(
    tx: &mut Tx,
    case_id: i64,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    for mut clock in load_clocks(tx, case_id, true).await? {
        if clock.resume(wt, at_ms) {
            save_clock(tx, case_id, &clock).await?;
        }
    }
    Ok(())
}

/// Starts the resolution clock again (a reopened case) as the next cycle,
/// with the same target: the finished cycle's clock and its escalations
/// stay as they are, so the new cycle can breach and escalate on its own, once.
pub(crate) async fn restart_resolution(
    tx: &mut Tx,
    case_id: i64,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    let current = current_clock(tx, case_id, SlaMetric::Resolution)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("case {case_id} has no resolution clock")))?;
    let next = current.next_cycle(current.target_ms, wt, at_ms);
    insert_clock(tx, case_id, &next).await
}

/// Starts the next-update clock at `at_ms` (the driver was just told
/// something) as the next cycle; the previous one is stopped first (its
/// breach, if late, recorded).
pub(crate) async fn restart_next_update(
    tx: &mut Tx,
    case_id: i64,
    target_ms: i64,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    let next = match current_clock(tx, case_id, SlaMetric::NextUpdate).await? {
        Some(current) => {
            stop_clock(tx, case_id, SlaMetric::NextUpdate, wt, at_ms).await?;
            current.next_cycle(target_ms, wt, at_ms)
        }
        None => Clock::start(SlaMetric::NextUpdate, 0, target_ms, wt, at_ms),
    };
    insert_clock(tx, case_id, &next).await
}

/// Stops every clock without a breach (a cancelled or merged case).
pub(crate) async fn cancel_clocks(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    for mut clock in load_clocks(tx, case_id, true).await? {
        if clock.cancel(at_ms) {
            save_clock(tx, case_id, &clock).await?;
        }
    }
    Ok(())
}

impl Store {
    /// The SLA clocks of a case at `now_ms`, by metric, the current cycle first.
    pub async fn sla_clocks(
        &self,
        case_id: i64,
        wt: &WorkingTime,
        now_ms: i64,
    ) -> Result<Vec<SlaClock>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM sla_clocks WHERE case_id = $1 ORDER BY metric, cycle DESC")
                .bind(case_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| Ok(clock_from_row(row)?.reading(wt, now_ms)))
            .collect()
    }
}
