//! What operators watch: first-response and resolution times, SLA breach
//! rates, closure, on-time closed-loop and reopen rates, and the open backlog
//! by age and category, for the cases opened in a date range. The monthly
//! report and `GET /api/metrics/response-times` both come from here, so they
//! cannot disagree.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{Store, StoreError};
use crate::sla::{WorkingTime, FIRST_RESPONSE, RESOLUTION, ROUTE};

/// Percentiles of a duration, ms of working time (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    /// How many were measured (clocks that stopped).
    pub n: usize,
    /// Median, ms.
    pub p50_ms: Option<i64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<i64>,
}

/// Breaches of one SLA metric.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BreachRate {
    /// Clocks that ran for cases in the range (stopped, or running and already due).
    pub measured: usize,
    /// Of those, breached.
    pub breached: usize,
    /// breached / measured (0 when none).
    pub rate: f64,
}

/// The operator's view of a date range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResponseTimes {
    /// Range start (cases opened at or after), Unix ms.
    pub from_ms: i64,
    /// Range end (cases opened before), Unix ms.
    pub to_ms: i64,
    /// Cases opened in the range (merged-away cases not counted).
    pub cases: usize,
    /// First response, working time.
    pub first_response: Durations,
    /// Resolution (effectiveness verified), working time.
    pub resolution: Durations,
    /// Breaches by metric (`route`, `first_response`, `resolution`,
    /// `next_update`); a finished earlier cycle of a clock (a reopened
    /// case's first resolution, an earlier next-update) counts under
    /// `metric#N`, N from 1.
    pub breaches: BTreeMap<String, BreachRate>,
    /// Closed / cases that are not cancelled.
    pub closure_rate: f64,
    /// Closed cases whose first response and resolution were both on time / closed cases.
    pub on_time_closed_loop_rate: f64,
    /// Cases reopened at least once / cases resolved at least once.
    pub reopen_rate: f64,
    /// Open cases by age at `to_ms` (`<1d`, `1-3d`, `3-7d`, `>7d`) and category.
    pub backlog: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn durations(mut v: Vec<i64>) -> Durations {
    v.sort_unstable();
    Durations {
        n: v.len(),
        p50_ms: percentile(&v, 0.5),
        p90_ms: percentile(&v, 0.9),
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The age bucket of an open case.
pub fn age_bucket(age_ms: i64) -> &'static str {
    const DAY: i64 = 86_400_000;
    match age_ms {
        a if a < DAY => "<1d",
        a if a < 3 * DAY => "1-3d",
        a if a < 7 * DAY => "3-7d",
        _ => ">7d",
    }
}

impl Store {
    /// Response-time metrics of the cases opened in `[from_ms, to_ms)`, as of `to_ms`.
    pub async fn response_times(
        &self,
        from_ms: i64,
        to_ms: i64,
        wt: &WorkingTime,
    ) -> Result<ResponseTimes, StoreError> {
        if from_ms >= to_ms {
            return Err(StoreError::Invalid("from: must be before to".into()));
        }
        let cases = sqlx::query(
            "SELECT id, status, category, opened_at_ms, reopen_count, resolved_at_ms FROM cases \
             WHERE opened_at_ms >= $1 AND opened_at_ms < $2 AND status <> 'merged'",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let clocks = sqlx::query(
            "SELECT s.case_id, s.metric, s.cycle, s.started_at_ms, s.stopped_at_ms, s.paused_ms, s.due_at_ms, s.breached_at_ms \
             FROM sla_clocks s JOIN cases c ON c.id = s.case_id \
             WHERE c.opened_at_ms >= $1 AND c.opened_at_ms < $2 AND c.status NOT IN ('merged', 'cancelled')",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let mut elapsed: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        let mut breaches: BTreeMap<String, BreachRate> = BTreeMap::new();
        let mut late: std::collections::HashSet<i64> = std::collections::HashSet::new();
        // The current cycle of each case's metric; earlier ones are finished.
        let mut current: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for row in &clocks {
            let key = (row.try_get("case_id")?, row.try_get("metric")?);
            let cycle: i64 = row.try_get("cycle")?;
            let entry = current.entry(key).or_insert(cycle);
            *entry = (*entry).max(cycle);
        }
        for row in &clocks {
            let case_id: i64 = row.try_get("case_id")?;
            let name: String = row.try_get("metric")?;
            let cycle: i64 = row.try_get("cycle")?;
            let finished = current
                .get(&(case_id, name.clone()))
                .is_some_and(|c| cycle < *c);
            // A finished cycle (a reopened case's first resolution, an
            // earlier next-update clock) counts under `metric#N`, N from 1.
            let metric = if finished {
                format!("{name}#{}", cycle + 1)
            } else {
                name.clone()
            };
            let stopped: Option<i64> = row.try_get("stopped_at_ms")?;
            let due: i64 = row.try_get("due_at_ms")?;
            let breached_at: Option<i64> = row.try_get("breached_at_ms")?;
            let breached = breached_at.is_some() || (stopped.is_none() && to_ms >= due);
            if let Some(stop) = stopped {
                let e = wt.between(row.try_get("started_at_ms")?, stop)
                    - row.try_get::<i64, _>("paused_ms")?;
                // Finished cycles of reopened cases (`resolution#N`) count
                // in breaches under their own key, not in the durations.
                let key = match metric.as_str() {
                    FIRST_RESPONSE => Some(FIRST_RESPONSE),
                    RESOLUTION => Some(RESOLUTION),
                    ROUTE => Some(ROUTE),
                    _ => None,
                };
                if let Some(key) = key {
                    elapsed.entry(key).or_default().push(e);
                }
            }
            let b = breaches.entry(metric.clone()).or_insert(BreachRate {
                measured: 0,
                breached: 0,
                rate: 0.0,
            });
            if stopped.is_some() || breached {
                b.measured += 1;
            }
            if breached {
                b.breached += 1;
                if name == FIRST_RESPONSE || name == RESOLUTION {
                    late.insert(case_id);
                }
            }
        }
        for b in breaches.values_mut() {
            b.rate = ratio(b.breached, b.measured);
        }
        let (mut closed, mut not_cancelled, mut closed_on_time, mut resolved, mut reopened) =
            (0, 0, 0, 0, 0);
        let mut backlog: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for row in &cases {
            let id: i64 = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            let reopen_count: i64 = row.try_get("reopen_count")?;
            if status != "cancelled" {
                not_cancelled += 1;
            }
            if status == "closed" {
                closed += 1;
                if !late.contains(&id) {
                    closed_on_time += 1;
                }
            }
            if row.try_get::<Option<i64>, _>("resolved_at_ms")?.is_some() || reopen_count > 0 {
                resolved += 1;
            }
            if reopen_count > 0 {
                reopened += 1;
            }
            if !matches!(status.as_str(), "closed" | "cancelled") {
                let age = to_ms - row.try_get::<i64, _>("opened_at_ms")?;
                *backlog
                    .entry(age_bucket(age).to_string())
                    .or_default()
                    .entry(row.try_get("category")?)
                    .or_default() += 1;
            }
        }
        Ok(ResponseTimes {
            from_ms,
            to_ms,
            cases: cases.len(),
            first_response: durations(elapsed.remove(FIRST_RESPONSE).unwrap_or_default()),
            resolution: durations(elapsed.remove(RESOLUTION).unwrap_or_default()),
            breaches,
            closure_rate: ratio(closed, not_cancelled),
            on_time_closed_loop_rate: ratio(closed_on_time, closed),
            reopen_rate: ratio(reopened, resolved),
            backlog,
        })
    }

    /// Escalations raised in `[from_ms, to_ms)` by kind.
    pub async fn escalation_counts(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM escalations WHERE at_ms >= $1 AND at_ms < $2 GROUP BY kind ORDER BY kind",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.9), Some(90));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn ages_fall_in_their_buckets() {
        let h = 3_600_000;
        assert_eq!(age_bucket(23 * h), "<1d");
        assert_eq!(age_bucket(24 * h), "1-3d");
        assert_eq!(age_bucket(100 * h), "3-7d");
        assert_eq!(age_bucket(200 * h), ">7d");
    }
}

/// The monthly complaint analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Feedback received in the month by category of its case.
    pub by_category: BTreeMap<String, i64>,
    /// … by severity of its case.
    pub by_severity: BTreeMap<String, i64>,
    /// … by vehicle model.
    pub by_model: BTreeMap<String, i64>,
    /// Cases with the most reports in the month: (case, title, category, reports, vehicles).
    pub top_issues: Vec<(i64, String, String, i64, i64)>,
    /// SLA compliance and response times of the cases opened in the month.
    pub sla: ResponseTimes,
    /// Escalations raised in the month by kind.
    pub escalations: BTreeMap<String, i64>,
    /// Corrective actions implemented in the month: (case, title, action).
    pub preventive_actions: Vec<(i64, String, String)>,
}

impl Store {
    /// The complaint analysis of `[from_ms, to_ms)`, labelled `month`.
    pub async fn monthly_report(
        &self,
        month: &str,
        from_ms: i64,
        to_ms: i64,
        wt: &WorkingTime,
    ) -> Result<MonthlyReport, StoreError> {
        let grouped = |column: &'static str| async move {
            let rows = sqlx::query(&format!(
                "SELECT {column} AS k, COUNT(*) AS n FROM feedback f JOIN cases c ON c.id = f.case_id \
                 WHERE f.received_at_ms >= $1 AND f.received_at_ms < $2 GROUP BY {column} ORDER BY {column}"
            ))
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(self.pool())
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>("k")?, r.try_get::<i64, _>("n")?)))
                .collect::<Result<BTreeMap<_, _>, StoreError>>()
        };
        let by_category = grouped("c.category").await?;
        let by_severity = grouped("c.severity").await?;
        let by_model = grouped("f.model").await?;
        let top = sqlx::query(
            "SELECT c.id, c.title, c.category, COUNT(*) AS reports, COUNT(DISTINCT f.vin) AS vehicles \
             FROM feedback f JOIN cases c ON c.id = f.case_id \
             WHERE f.received_at_ms >= $1 AND f.received_at_ms < $2 \
             GROUP BY c.id, c.title, c.category ORDER BY reports DESC, vehicles DESC, c.id LIMIT 10",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let top_issues = top
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("title")?,
                    r.try_get("category")?,
                    r.try_get("reports")?,
                    r.try_get("vehicles")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let actions = sqlx::query(
            "SELECT id, title, pca_action FROM cases WHERE pca_implemented_at_ms >= $1 AND pca_implemented_at_ms < $2 \
             AND pca_action IS NOT NULL ORDER BY pca_implemented_at_ms, id",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let preventive_actions = actions
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("title")?,
                    r.try_get("pca_action")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(MonthlyReport {
            month: month.to_string(),
            by_category,
            by_severity,
            by_model,
            top_issues,
            sla: self.response_times(from_ms, to_ms, wt).await?,
            escalations: self.escalation_counts(from_ms, to_ms).await?,
            preventive_actions,
        })
    }
}
