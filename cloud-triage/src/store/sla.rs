//! SLA clocks in the database: started when a case opens, paused while it
//! waits on the customer, stopped when the metric is met; breaches and the
//! other escalations recorded once each (primary key), with a history entry
//! and a notification event.

use serde::Serialize;
use serde_json::json;
use sqlx::{Any, Row, Transaction};
use utoipa::ToSchema;

use super::{
    linking,
    rows::{enum_column, json_column},
    Store, StoreError,
};
use crate::{
    domain::{EscalationKind, NotificationKind, SlaMetric},
    sla::{SlaPolicy, SlaTargets, WorkingTime},
};

type Tx = Transaction<'static, Any>;

/// One SLA clock of a case, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SlaClock {
    /// What it measures.
    pub metric: SlaMetric,
    /// Which clock of its metric, from 0: a reopened case's resolution and
    /// every restarted next-update clock count up; the highest is current.
    pub cycle: i64,
    /// Working time allowed, ms.
    pub target_ms: i64,
    /// When the clock started, Unix ms.
    pub started_at_ms: i64,
    /// When it stopped (the metric was met), Unix ms.
    pub stopped_at_ms: Option<i64>,
    /// Intervals spent waiting on the customer, `[from, to]` (to absent while paused).
    pub paused: Vec<(i64, Option<i64>)>,
    /// Working time used so far (or until stopped), ms.
    pub elapsed_ms: i64,
    /// Working time left; negative once breached.
    pub remaining_ms: i64,
    /// When it is due, Unix ms (moves while paused).
    pub due_at_ms: i64,
    /// Whether the target was missed.
    pub breached: bool,
    /// When it was missed, Unix ms.
    pub breached_at_ms: Option<i64>,
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
        let target = targets.target_ms(metric);
        sqlx::query(
            "INSERT INTO sla_clocks (case_id, metric, cycle, target_ms, started_at_ms, due_at_ms) \
             VALUES ($1, $2, 0, $3, $4, $5) ON CONFLICT (case_id, metric, cycle) DO NOTHING",
        )
        .bind(case_id)
        .bind(metric.as_str())
        .bind(target)
        .bind(at_ms)
        .bind(wt.add(at_ms, target))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What an escalation is about: a clock (metric and cycle), or the case
/// itself (`None`, a `major` escalation; stored with the empty metric).
pub(crate) type ClockRef = Option<(SlaMetric, i64)>;

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
        linking::history(
            tx,
            case_id,
            at_ms,
            "sla",
            "escalation",
            None,
            Some(&format!("{kind}: {detail}")),
        )
        .await?;
        linking::notify(
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

/// Stops a metric's running clock at `at_ms` (closing an open pause); a
/// stop past the due time records the breach.
pub(crate) async fn stop_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    resume_metric(tx, case_id, Some(metric), wt, at_ms).await?;
    let Some(row) = sqlx::query(
        "SELECT cycle, due_at_ms, breached_at_ms FROM sla_clocks WHERE case_id = $1 AND metric = $2 AND stopped_at_ms IS NULL",
    )
    .bind(case_id)
    .bind(metric.as_str())
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(());
    };
    let cycle: i64 = row.try_get("cycle")?;
    let due: i64 = row.try_get("due_at_ms")?;
    let breached: Option<i64> = row.try_get("breached_at_ms")?;
    let breach = if at_ms > due && breached.is_none() {
        Some(due)
    } else {
        breached
    };
    sqlx::query("UPDATE sla_clocks SET stopped_at_ms = $1, breached_at_ms = $2 WHERE case_id = $3 AND metric = $4 AND cycle = $5")
        .bind(at_ms)
        .bind(breach)
        .bind(case_id)
        .bind(metric.as_str())
        .bind(cycle)
        .execute(&mut **tx)
        .await?;
    if breached.is_none() && breach.is_some() {
        escalate_once(
            tx,
            case_id,
            EscalationKind::Breached,
            Some((metric, cycle)),
            &format!("{metric} met late"),
            at_ms,
        )
        .await?;
    }
    Ok(())
}

/// Stops the routing clock once the case has a department.
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
    if department.is_some_and(|d| !d.trim().is_empty()) {
        // Routing counts around the clock here: a routed case is routed.
        stop_clock(
            tx,
            case_id,
            SlaMetric::Route,
            &WorkingTime::default(),
            at_ms,
        )
        .await?;
    }
    Ok(())
}

/// Pauses every running clock of a case (waiting on the customer).
pub(crate) async fn pause_clocks(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sla_clocks SET paused_since_ms = $1 WHERE case_id = $2 AND stopped_at_ms IS NULL AND paused_since_ms IS NULL",
    )
    .bind(at_ms)
    .bind(case_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Resumes paused clocks (all, or one metric): the paused working time
/// moves the due instant.
pub(crate) async fn resume_metric(
    tx: &mut Tx,
    case_id: i64,
    metric: Option<SlaMetric>,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT metric, cycle, target_ms, started_at_ms, paused_ms, paused_since_ms, pauses_json FROM sla_clocks \
         WHERE case_id = $1 AND paused_since_ms IS NOT NULL",
    )
    .bind(case_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let m: SlaMetric = enum_column(row.try_get("metric")?, "sla_clocks.metric")?;
        let cycle: i64 = row.try_get("cycle")?;
        if metric.is_some_and(|want| want != m) {
            continue;
        }
        let since: i64 = row.try_get("paused_since_ms")?;
        let paused = row.try_get::<i64, _>("paused_ms")? + wt.between(since, at_ms);
        let mut pauses: Vec<(i64, i64)> = serde_json::from_value(json_column(
            &row.try_get::<String, _>("pauses_json")?,
            "sla_clocks.pauses_json",
        )?)
        .map_err(|e| StoreError::Corrupt(format!("sla_clocks.pauses_json: {e}")))?;
        pauses.push((since, at_ms));
        let due = wt.add(
            row.try_get("started_at_ms")?,
            row.try_get::<i64, _>("target_ms")? + paused,
        );
        sqlx::query(
            "UPDATE sla_clocks SET paused_ms = $1, paused_since_ms = NULL, pauses_json = $2, due_at_ms = $3 \
             WHERE case_id = $4 AND metric = $5 AND cycle = $6",
        )
        .bind(paused)
        .bind(serde_json::to_string(&pauses).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(due)
        .bind(case_id)
        .bind(m.as_str())
        .bind(cycle)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The current (highest) cycle of a metric's clock on a case, with its
/// target; `None` when the case has no such clock.
async fn current_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query(
        "SELECT cycle, target_ms FROM sla_clocks WHERE case_id = $1 AND metric = $2 \
         ORDER BY cycle DESC LIMIT 1",
    )
    .bind(case_id)
    .bind(metric.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok((r.try_get("cycle")?, r.try_get("target_ms")?)))
        .transpose()
}

/// Starts clock `cycle` of `metric` at `at_ms`.
async fn start_clock(
    tx: &mut Tx,
    case_id: i64,
    metric: SlaMetric,
    cycle: i64,
    target_ms: i64,
    wt: &WorkingTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sla_clocks (case_id, metric, cycle, target_ms, started_at_ms, due_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(case_id)
    .bind(metric.as_str())
    .bind(cycle)
    .bind(target_ms)
    .bind(at_ms)
    .bind(wt.add(at_ms, target_ms))
    .execute(&mut **tx)
    .await?;
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
    let (cycle, target) = current_clock(tx, case_id, SlaMetric::Resolution)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("case {case_id} has no resolution clock")))?;
    start_clock(
        tx,
        case_id,
        SlaMetric::Resolution,
        cycle + 1,
        target,
        wt,
        at_ms,
    )
    .await
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
        Some((cycle, _)) => {
            stop_clock(tx, case_id, SlaMetric::NextUpdate, wt, at_ms).await?;
            cycle + 1
        }
        None => 0,
    };
    start_clock(
        tx,
        case_id,
        SlaMetric::NextUpdate,
        cycle,
        target_ms,
        wt,
        at_ms,
    )
    .await
}

/// Stops every clock without a breach (a cancelled or merged case).
pub(crate) async fn cancel_clocks(tx: &mut Tx, case_id: i64, at_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sla_clocks SET stopped_at_ms = $1, paused_since_ms = NULL WHERE case_id = $2 AND stopped_at_ms IS NULL")
        .bind(at_ms)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
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
        let wt = policy
            .calendar
            .working_time()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut report = TickReport::default();
        let (_gate, mut tx) = self.begin_write().await?;
        let running = sqlx::query(
            "SELECT s.case_id, s.metric, s.cycle, s.target_ms, s.started_at_ms, s.due_at_ms, s.paused_ms, s.breached_at_ms \
             FROM sla_clocks s WHERE s.stopped_at_ms IS NULL AND s.paused_since_ms IS NULL ORDER BY s.case_id, s.metric",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in running {
            let case_id: i64 = row.try_get("case_id")?;
            let metric: SlaMetric = enum_column(row.try_get("metric")?, "sla_clocks.metric")?;
            let cycle: i64 = row.try_get("cycle")?;
            let target: i64 = row.try_get("target_ms")?;
            let due: i64 = row.try_get("due_at_ms")?;
            if now_ms >= due {
                if row.try_get::<Option<i64>, _>("breached_at_ms")?.is_none() {
                    sqlx::query("UPDATE sla_clocks SET breached_at_ms = $1 WHERE case_id = $2 AND metric = $3 AND cycle = $4")
                        .bind(due)
                        .bind(case_id)
                        .bind(metric.as_str())
                        .bind(cycle)
                        .execute(&mut *tx)
                        .await?;
                }
                if escalate_once(
                    &mut tx,
                    case_id,
                    EscalationKind::Breached,
                    Some((metric, cycle)),
                    &format!("{metric} target of {} min missed", target / 60_000),
                    now_ms,
                )
                .await?
                {
                    report.breached += 1;
                }
                continue;
            }
            let used = wt.between(row.try_get("started_at_ms")?, now_ms)
                - row.try_get::<i64, _>("paused_ms")?;
            if used as f64 >= policy.imminent_at * target as f64
                && escalate_once(
                    &mut tx,
                    case_id,
                    EscalationKind::BreachImminent,
                    Some((metric, cycle)),
                    &format!("{metric} due in {} min", (wt.between(now_ms, due)) / 60_000),
                    now_ms,
                )
                .await?
            {
                report.imminent += 1;
            }
        }
        // Unresolved after N working days (waiting on the customer does not count).
        let limit = i64::from(policy.unresolved_working_days) * wt.day_ms();
        let open = sqlx::query(
            "SELECT c.id, s.cycle, s.started_at_ms, s.paused_ms, s.paused_since_ms FROM cases c JOIN sla_clocks s \
             ON s.case_id = c.id AND s.metric = $1 WHERE s.stopped_at_ms IS NULL",
        )
        .bind(SlaMetric::Resolution.as_str())
        .fetch_all(&mut *tx)
        .await?;
        for row in open {
            let case_id: i64 = row.try_get("id")?;
            let until = row
                .try_get::<Option<i64>, _>("paused_since_ms")?
                .unwrap_or(now_ms);
            let worked = wt.between(row.try_get("started_at_ms")?, until)
                - row.try_get::<i64, _>("paused_ms")?;
            if worked >= limit
                && escalate_once(
                    &mut tx,
                    case_id,
                    EscalationKind::Unresolved,
                    Some((SlaMetric::Resolution, row.try_get("cycle")?)),
                    &format!(
                        "unresolved after {} working days",
                        policy.unresolved_working_days
                    ),
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

    /// The SLA clocks of a case at `now_ms`.
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
            .map(|row| {
                let started: i64 = row.try_get("started_at_ms")?;
                let stopped: Option<i64> = row.try_get("stopped_at_ms")?;
                let since: Option<i64> = row.try_get("paused_since_ms")?;
                let mut paused_ms: i64 = row.try_get("paused_ms")?;
                let end = stopped.unwrap_or(now_ms);
                if let Some(since) = since {
                    paused_ms += wt.between(since, end);
                }
                let closed: Vec<(i64, i64)> = serde_json::from_value(json_column(
                    &row.try_get::<String, _>("pauses_json")?,
                    "sla_clocks.pauses_json",
                )?)
                .map_err(|e| StoreError::Corrupt(format!("sla_clocks.pauses_json: {e}")))?;
                let mut paused: Vec<(i64, Option<i64>)> =
                    closed.into_iter().map(|(a, b)| (a, Some(b))).collect();
                if let Some(since) = since {
                    paused.push((since, None));
                }
                let target: i64 = row.try_get("target_ms")?;
                let elapsed = wt.between(started, end) - paused_ms;
                let breached_at: Option<i64> = row.try_get("breached_at_ms")?;
                Ok(SlaClock {
                    metric: enum_column(row.try_get("metric")?, "sla_clocks.metric")?,
                    cycle: row.try_get("cycle")?,
                    target_ms: target,
                    started_at_ms: started,
                    stopped_at_ms: stopped,
                    paused,
                    elapsed_ms: elapsed,
                    remaining_ms: target - elapsed,
                    due_at_ms: row.try_get("due_at_ms")?,
                    breached: breached_at.is_some() || elapsed > target,
                    breached_at_ms: breached_at,
                })
            })
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
        let status: String = row.try_get("status")?;
        if status == "effectiveness_verified" {
            sqlx::query("UPDATE cases SET status = 'follow_up', updated_at_ms = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(case_id)
                .execute(&mut **tx)
                .await?;
            linking::history(
                tx,
                case_id,
                now_ms,
                "sla",
                "status",
                Some(&status),
                Some("follow_up"),
            )
            .await?;
        }
        super::lifecycle::tell_drivers(
            tx,
            case_id,
            qloop_protocol::EventKind::FollowUp,
            &format!(
                "Day {day} after the fix for case {case_id}: how satisfied are you, from 1 to 5?"
            ),
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
