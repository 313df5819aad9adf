//! What operators watch, read from the database: the cases opened in a date
//! range and their SLA clocks, handed to [`crate::domain::metrics`] for the
//! figures (response times, breach rates, closure, on-time closed-loop and
//! reopen rates, backlog), and the monthly complaint analysis's counts.
//! The monthly report and `GET /api/metrics/response-times` both come from
//! here, so they cannot disagree.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::{rows::enum_column, Store, StoreError};
use crate::{
    domain::{
        metrics::{series::SeriesPoint, CaseFigures, ClockFigures},
        CaseStatus, Severity,
    },
    sla::WorkingTime,
};

pub use crate::domain::metrics::{age_bucket, percentile, BreachRate, Durations, ResponseTimes};

impl Store {
    /// Response-time metrics of the cases opened in `[from_ms, to_ms)`, as of
    /// `to_ms` (computed by [`crate::domain::metrics::response_times`]).
    pub async fn response_times(
        &self,
        from_ms: i64,
        to_ms: i64,
        wt: &WorkingTime,
    ) -> Result<ResponseTimes, StoreError> {
        if from_ms >= to_ms {
            return Err(StoreError::Invalid("from: must be before to".into()));
        }
        let cases = self.case_figures(from_ms, to_ms).await?;
        let clocks = self.clock_figures(from_ms, to_ms).await?;
        Ok(crate::domain::metrics::response_times(
            from_ms, to_ms, &cases, &clocks, wt,
        ))
    }

    /// The cases opened in `[from_ms, to_ms)`, merged-away ones left out.
    async fn case_figures(&self, from_ms: i64, to_ms: i64) -> Result<Vec<CaseFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, status, category, opened_at_ms, reopen_count, resolved_at_ms FROM cases \
             WHERE opened_at_ms >= $1 AND opened_at_ms < $2 AND status <> 'merged'",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CaseFigures {
                    id: row.try_get("id")?,
                    status: enum_column(row.try_get("status")?, "cases.status")?,
                    category: row.try_get("category")?,
                    opened_at_ms: row.try_get("opened_at_ms")?,
                    reopen_count: row.try_get("reopen_count")?,
                    resolved_at_ms: row.try_get("resolved_at_ms")?,
                })
            })
            .collect()
    }

    /// The clocks of the cases opened in `[from_ms, to_ms)`, merged and
    /// cancelled cases left out.
    async fn clock_figures(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<ClockFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.case_id, s.metric, s.cycle, s.started_at_ms, s.stopped_at_ms, s.paused_ms, s.due_at_ms, s.breached_at_ms \
             FROM sla_clocks s JOIN cases c ON c.id = s.case_id \
             WHERE c.opened_at_ms >= $1 AND c.opened_at_ms < $2 AND c.status NOT IN ('merged', 'cancelled')",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClockFigures {
                    case_id: row.try_get("case_id")?,
                    metric: enum_column(row.try_get("metric")?, "sla_clocks.metric")?,
                    cycle: row.try_get("cycle")?,
                    started_at_ms: row.try_get("started_at_ms")?,
                    stopped_at_ms: row.try_get("stopped_at_ms")?,
                    paused_ms: row.try_get("paused_ms")?,
                    due_at_ms: row.try_get("due_at_ms")?,
                    breached_at_ms: row.try_get("breached_at_ms")?,
                })
            })
            .collect()
    }

    /// First-response and resolution figures of `[from_ms, to_ms)` in
    /// buckets of `bucket_ms`, oldest first (computed by
    /// [`crate::domain::metrics::series::series`]).
    pub async fn response_time_series(
        &self,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
        wt: &WorkingTime,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        if from_ms >= to_ms {
            return Err(StoreError::Invalid("from: must be before to".into()));
        }
        let cases = self.case_figures(from_ms, to_ms).await?;
        let clocks = self.clock_figures(from_ms, to_ms).await?;
        Ok(crate::domain::metrics::series::series(
            from_ms, to_ms, bucket_ms, &cases, &clocks, wt,
        ))
    }

    /// The backlog's cases: opened in `[from_ms, to_ms)` and not closed,
    /// cancelled or merged ([`CaseStatus::is_closed`]), oldest first, at
    /// most `limit`.
    pub async fn backlog_cases(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<DashboardCase>, StoreError> {
        let closed = CaseStatus::CLOSED
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {DASHBOARD_CASE_COLUMNS} FROM cases \
             WHERE opened_at_ms >= $1 AND opened_at_ms < $2 AND status NOT IN ({closed}) \
             ORDER BY opened_at_ms, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(from_ms)
            .bind(to_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(dashboard_case).collect()
    }

    /// Cases flagged as emerging issues in `[from_ms, to_ms)`, newest flag
    /// first (merged-away cases left out).
    pub async fn emerging_cases(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DashboardCase>, StoreError> {
        let sql = format!(
            "SELECT {DASHBOARD_CASE_COLUMNS} FROM cases \
             WHERE emerging_at_ms >= $1 AND emerging_at_ms < $2 AND status <> 'merged' \
             ORDER BY emerging_at_ms DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(dashboard_case).collect()
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

/// A case as the operators' dashboard lists it (the backlog, emerging issues).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardCase {
    /// Case number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: CaseStatus,
    /// Its category.
    pub category: String,
    /// Its severity.
    pub severity: Severity,
    /// How many distinct vehicles reported it.
    pub vehicle_count: i64,
    /// When it was opened, Unix ms.
    pub opened_at_ms: i64,
    /// When it was flagged as an emerging issue, Unix ms.
    pub emerging_at_ms: Option<i64>,
}

const DASHBOARD_CASE_COLUMNS: &str =
    "id, title, status, category, severity, vehicle_count, opened_at_ms, emerging_at_ms";

fn dashboard_case(row: &sqlx::any::AnyRow) -> Result<DashboardCase, StoreError> {
    Ok(DashboardCase {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        status: enum_column(row.try_get("status")?, "cases.status")?,
        category: row.try_get("category")?,
        severity: enum_column(row.try_get("severity")?, "cases.severity")?,
        vehicle_count: row.try_get("vehicle_count")?,
        opened_at_ms: row.try_get("opened_at_ms")?,
        emerging_at_ms: row.try_get("emerging_at_ms")?,
    })
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
