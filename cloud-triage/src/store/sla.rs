//! SLA clocks in the database. The rules are
//! [`crate::domain::clocks`]: each function here loads a case's clocks,
//! applies a rule, and saves what changed; breaches and the other
//! escalations are recorded once each (primary key on case, kind, metric
//! and cycle), with a history entry and a notification event.

use serde_json::json;
use sqlx::{any::AnyRow, Any, Row, Transaction};

use super::{
    case_writes,
    rows::{enum_column, json_column},
    Store, StoreError,
};
use crate::{
    domain::{
        clocks::{is_routed, unresolved_detail, Clock, TickFinding},
        escalation::{self, major_history, Assessed},
        texts, CaseStatus, EscalationKind, NotificationKind, Severity, SlaMetric,
    },
    sla::{SlaPolicy, SlaTargets, WorkingTime},
};

pub use crate::domain::clocks::SlaClock;

type Tx = Transaction<'static, Any>;

/// What an escalation is about: a clock (metric and cycle), or the case
/// itself (`None`, a `major` escalation; stored with the empty metric).
pub(crate) type ClockRef = Option<(SlaMetric, i64)>;

/// A `sla_clocks` row as a [`Clock`].
fn clock_from_row(row: &AnyRow) -> Result<Clock, StoreError> {
    let pauses: Vec<(i64, i64)> = serde_json::from_value(json_column(
        &row.try_get::<String, _>("pauses_json")?,
        "sla_clocks.pauses_json",
    )?)
    .map_err(|e| StoreError::Corrupt(format!("sla_clocks.pauses_json: {e}")))?;
    Ok(Clock {
        metric: enum_column(row.try_get("metric")?, "sla_clocks.metric")?,
        cycle: row.try_get("cycle")?,
        target_ms: row.try_get("target_ms")?,
        started_at_ms: row.try_get("started_at_ms")?,
        due_at_ms: row.try_get("due_at_ms")?,
        paused_ms: row.try_get("paused_ms")?,
        paused_since_ms: row.try_get("paused_since_ms")?,
        pauses,
        stopped_at_ms: row.try_get("stopped_at_ms")?,
        breached_at_ms: row.try_get("breached_at_ms")?,
    })
}

/// A case's clocks: all of them, or those not stopped.
async fn load_clocks(tx: &mut Tx, case_id: i64, running: bool) -> Result<Vec<Clock>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM sla_clocks WHERE case_id = $1 AND ($2 = 0 OR stopped_at_ms IS NULL) \
         ORDER BY metric, cycle",
    )
    .bind(case_id)
    .bind(i64::from(running))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(clock_from_row).collect()
}

/// The current (highest) cycle of a metric's clock on a case.
async fn current_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
) -> Result<Option<Clock>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM sla_clocks WHERE case_id = $1 AND metric = $2 ORDER BY cycle DESC LIMIT 1",
    )
    .bind(case_id)
    .bind(metric.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(clock_from_row).transpose()
}

/// Inserts a new clock (a new case, or a metric's next cycle); an existing
/// clock of the same metric and cycle is kept.
async fn insert_clock(tx: &mut Tx, case_id: i64, c: &Clock) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sla_clocks (case_id, metric, cycle, target_ms, started_at_ms, due_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, metric, cycle) DO NOTHING",
    )
    .bind(case_id)
    .bind(c.metric.as_str())
    .bind(c.cycle)
    .bind(c.target_ms)
    .bind(c.started_at_ms)
    .bind(c.due_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves a clock's changing columns.
async fn save_clock(tx: &mut Tx, case_id: i64, c: &Clock) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sla_clocks SET target_ms = $1, due_at_ms = $2, paused_ms = $3, paused_since_ms = $4, \
         pauses_json = $5, stopped_at_ms = $6, breached_at_ms = $7 \
         WHERE case_id = $8 AND metric = $9 AND cycle = $10",
    )
    .bind(c.target_ms)
    .bind(c.due_at_ms)
    .bind(c.paused_ms)
    .bind(c.paused_since_ms)
    .bind(serde_json::to_string(&c.pauses).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(c.stopped_at_ms)
    .bind(c.breached_at_ms)
    .bind(case_id)
    .bind(c.metric.as_str())
    .bind(c.cycle)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

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
    let metric = clock.map_or("", |(m, _)| m.as_str());
    let cycle = clock.map_or(0, |(_, c)| c);
    let inserted = sqlx::query(
        "INSERT INTO escalations (case_id, kind, metric, cycle, at_ms, detail) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (case_id, kind, metric, cycle) DO NOTHING",
    )
    .bind(case_id)
    .bind(kind.as_str())
    .bind(metric)
    .bind(cycle)
    .bind(at_ms)
    .bind(detail)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        case_writes::history(
            tx,
            case_id,
            at_ms,
            "sla",
            "escalation",
            None,
            Some(&format!("{kind}: {detail}")),
        )
        .await?;
        case_writes::notify(
            tx,
            NotificationKind::of_escalation(kind),
            case_id,
            json!({"case_id": case_id, "escalation": kind, "metric": metric, "detail": detail}),
            at_ms,
        )
        .await?;
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
/// `reason`, an escalation with `detail`, and its notification. True when
/// it is new; a case escalated as major before gets nothing.
pub(crate) async fn escalate_major(
    tx: &mut Tx,
    case_id: i64,
    actor: &str,
    reason: &str,
    detail: &str,
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
    escalate_once(tx, case_id, EscalationKind::Major, None, detail, at_ms).await
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

/// After a case's severity or category changed from `before` (already
/// written): escalates it once when it became major (`reason` for the
/// history, `detail` for the escalation) and re-targets its open clocks
/// under `sla` (see [`crate::domain::escalation`]).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reassess(
    tx: &mut Tx,
    case_id: i64,
    before: (Severity, &str),
    actor: &str,
    reason: &str,
    detail: &str,
    sla: &SlaPolicy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let (severity, category) = assessed(tx, case_id).await?;
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
    if r.escalate {
        escalate_major(tx, case_id, actor, reason, detail, at_ms).await?;
    }
    if let Some(targets) = r.retarget {
        retarget_open_clocks(tx, case_id, &targets, sla.working_time()).await?;
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
    stop_clock(
        tx,
        case_id,
        SlaMetric::Route,
        &WorkingTime::default(),
        at_ms,
    )
    .await
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
    let next = Clock::start(
        SlaMetric::Resolution,
        current.cycle + 1,
        current.target_ms,
        wt,
        at_ms,
    );
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
    let cycle = match current_clock(tx, case_id, SlaMetric::NextUpdate).await? {
        Some(current) => {
            stop_clock(tx, case_id, SlaMetric::NextUpdate, wt, at_ms).await?;
            current.cycle + 1
        }
        None => 0,
    };
    let next = Clock::start(SlaMetric::NextUpdate, cycle, target_ms, wt, at_ms);
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

/// What one scheduler tick raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// New "breach imminent" escalations.
    pub imminent: usize,
    /// New breaches.
    pub breached: usize,
    /// New "unresolved after N working days" escalations.
    pub unresolved: usize,
    /// Follow-up questions sent to cars.
    pub follow_ups: usize,
}

impl Store {
    /// One scheduler pass at `now_ms`: marks breached clocks and raises each
    /// escalation once (safe to run again, after a restart, or on several
    /// workers at once).
    pub async fn sla_tick(
        &self,
        policy: &SlaPolicy,
        now_ms: i64,
    ) -> Result<TickReport, StoreError> {
        let wt = policy.working_time();
        let mut report = TickReport::default();
        let (_gate, mut tx) = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT * FROM sla_clocks WHERE stopped_at_ms IS NULL ORDER BY case_id, metric, cycle",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut open = Vec::with_capacity(rows.len());
        for row in &rows {
            open.push((row.try_get::<i64, _>("case_id")?, clock_from_row(row)?));
        }
        for (case_id, clock) in &open {
            match clock.tick(wt, policy.imminent_at, now_ms) {
                Some(TickFinding::Breached { mark_at_ms, detail }) => {
                    if mark_at_ms.is_some() {
                        let mut marked = clock.clone();
                        marked.breached_at_ms = mark_at_ms;
                        save_clock(&mut tx, *case_id, &marked).await?;
                    }
                    let clock_ref = Some((clock.metric, clock.cycle));
                    if escalate_once(
                        &mut tx,
                        *case_id,
                        EscalationKind::Breached,
                        clock_ref,
                        &detail,
                        now_ms,
                    )
                    .await?
                    {
                        report.breached += 1;
                    }
                }
                Some(TickFinding::Imminent { detail }) => {
                    let clock_ref = Some((clock.metric, clock.cycle));
                    if escalate_once(
                        &mut tx,
                        *case_id,
                        EscalationKind::BreachImminent,
                        clock_ref,
                        &detail,
                        now_ms,
                    )
                    .await?
                    {
                        report.imminent += 1;
                    }
                }
                None => {}
            }
        }
        // Unresolved after N working days (waiting on the customer does not count).
        for (case_id, clock) in &open {
            if clock.unresolved_after(wt, policy.unresolved_working_days, now_ms)
                && escalate_once(
                    &mut tx,
                    *case_id,
                    EscalationKind::Unresolved,
                    Some((clock.metric, clock.cycle)),
                    &unresolved_detail(policy.unresolved_working_days),
                    now_ms,
                )
                .await?
            {
                report.unresolved += 1;
            }
        }
        report.follow_ups = send_follow_ups(&mut tx, now_ms).await?;
        tx.commit().await?;
        Ok(report)
    }

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

/// Sends the follow-ups that are due (day 5 and day 7 after resolution) to
/// every car of the case, moving a resolved case into `follow_up`.
async fn send_follow_ups(tx: &mut Tx, now_ms: i64) -> Result<usize, StoreError> {
    let due = sqlx::query(
        "SELECT u.case_id, u.cycle, u.day, c.status FROM follow_ups u JOIN cases c ON c.id = u.case_id \
         WHERE u.sent_at_ms IS NULL AND u.done_at_ms IS NULL AND u.due_at_ms <= $1 \
         AND c.status IN ('effectiveness_verified', 'follow_up') ORDER BY u.case_id, u.day",
    )
    .bind(now_ms)
    .fetch_all(&mut **tx)
    .await?;
    for row in &due {
        let case_id: i64 = row.try_get("case_id")?;
        let day: i64 = row.try_get("day")?;
        let status: CaseStatus = enum_column(row.try_get("status")?, "cases.status")?;
        if status == CaseStatus::EffectivenessVerified {
            sqlx::query("UPDATE cases SET updated_at_ms = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(case_id)
                .execute(&mut **tx)
                .await?;
            let to = CaseStatus::FollowUp;
            case_writes::set_status(tx, case_id, status, to, "sla", to.as_str(), now_ms).await?;
        }
        case_writes::tell_drivers(
            tx,
            case_id,
            qloop_protocol::EventKind::FollowUp,
            &texts::follow_up_question(day, case_id),
            now_ms,
        )
        .await?;
        sqlx::query(
            "UPDATE follow_ups SET sent_at_ms = $1 WHERE case_id = $2 AND cycle = $3 AND day = $4",
        )
        .bind(now_ms)
        .bind(case_id)
        .bind(row.try_get::<i64, _>("cycle")?)
        .bind(day)
        .execute(&mut **tx)
        .await?;
    }
    Ok(due.len())
}
