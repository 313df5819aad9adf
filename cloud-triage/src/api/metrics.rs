//! `GET /api/metrics/response-times` (operators' figures over a date range)
//! and `GET /metrics` (Prometheus text format).

use axum::{extract::State, http::header, response::IntoResponse, Json};
use serde::Deserialize;
use sqlx::Row;
use utoipa::IntoParams;

use super::{error::ApiError, extract::ApiQuery, ApiState};
use crate::{now_ms, store::metrics::ResponseTimes};

/// Query of the response-time metrics.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// Cases opened at or after, Unix ms; default 30 days before `to_ms`.
    #[param(minimum = 0)]
    pub from_ms: Option<i64>,
    /// Cases opened before, Unix ms (and the "as of" instant); default now.
    #[param(minimum = 0)]
    pub to_ms: Option<i64>,
}

impl RangeParams {
    /// `(from, to)`: the defaults filled in; a time before 1970 is a 400.
    fn range(&self) -> Result<(i64, i64), ApiError> {
        for (name, ms) in [("from_ms", self.from_ms), ("to_ms", self.to_ms)] {
            if let Some(ms) = ms.filter(|ms| *ms < 0) {
                return Err(ApiError::BadRequest(format!(
                    "{name} must be Unix milliseconds, 0 or more, got {ms}"
                )));
            }
        }
        let to = self.to_ms.unwrap_or_else(now_ms);
        Ok((
            self.from_ms.unwrap_or(to.saturating_sub(30 * 86_400_000)),
            to,
        ))
    }
}

/// First response and resolution p50/p90, breach rates, closure, on-time
/// closed-loop and reopen rates, and the open backlog by age and category.
#[utoipa::path(
    get,
    path = "/api/metrics/response-times",
    tag = "metrics",
    params(RangeParams),
    responses(
        (status = 200, description = "The figures", body = ResponseTimes),
        (status = 400, description = "A malformed or negative parameter", body = super::error::ErrorBody),
        (status = 422, description = "from is not before to", body = super::error::ErrorBody),
    )
)]
pub async fn response_times(
    State(state): State<ApiState>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> Result<Json<ResponseTimes>, ApiError> {
    let (from, to) = p.range()?;
    Ok(Json(
        state
            .store
            .response_times(from, to, &state.store.calendar())
            .await?,
    ))
}

/// Counts for Prometheus, read from the database at scrape time.
///
/// Written by hand rather than with a metrics crate: every value is a
/// gauge computed by one SQL query per scrape, so there is no registry to
/// keep; the text format for gauges is four lines each.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    responses((status = 200, description = "Prometheus text exposition format", body = String))
)]
pub async fn prometheus(State(state): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let store = &state.store;
    let cases = grouped(
        store,
        "SELECT status AS k, COUNT(*) AS n FROM cases GROUP BY status ORDER BY status",
        "status",
    )
    .await?;
    let escalations = grouped(
        store,
        "SELECT kind AS k, COUNT(*) AS n FROM escalations GROUP BY kind ORDER BY kind",
        "kind",
    )
    .await?;
    let breaches = grouped(
        store,
        "SELECT metric AS k, COUNT(*) AS n FROM sla_clocks WHERE breached_at_ms IS NOT NULL GROUP BY metric ORDER BY metric",
        "metric",
    )
    .await?;
    let counts = store.counts().await?;
    let losses = store
        .loss_counts()
        .await?
        .into_iter()
        .map(|c| {
            (
                format!("{{lost=\"{}\",resent=\"{}\"}}", c.lost, c.resent),
                c.count,
            )
        })
        .collect();
    let lost_feedback = store.lost_feedback_count().await?;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, i64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in samples {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    gauge("qloop_cases", "Cases by status.", cases);
    gauge(
        "qloop_escalations",
        "Escalations raised, by kind.",
        escalations,
    );
    gauge(
        "qloop_sla_breaches",
        "SLA clocks breached, by metric.",
        breaches,
    );
    gauge(
        "qloop_feedback",
        "Feedback stored.",
        vec![(String::new(), counts.feedback)],
    );
    gauge(
        "qloop_downlink_pending",
        "Messages to cars not yet published.",
        vec![(String::new(), counts.downlink_pending)],
    );
    gauge(
        "qloop_rejected_messages",
        "Uplink messages rejected as invalid.",
        vec![(String::new(), counts.rejected)],
    );
    gauge(
        "qloop_car_reported_losses",
        "Outbox records cars reported lost (torn, corrupt or evicted), by what was lost and whether the car resent it.",
        losses,
    );
    gauge(
        "qloop_lost_feedback",
        "Feedback a car reported lost that never arrived.",
        vec![(String::new(), lost_feedback)],
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// The `(k, n)` rows of `sql` as samples labelled `label`.
async fn grouped(
    store: &crate::store::Store,
    sql: &'static str,
    label: &str,
) -> Result<Vec<(String, i64)>, ApiError> {
    let map = |e: sqlx::Error| ApiError::Internal(e.to_string());
    let rows = sqlx::query(sql)
        .fetch_all(store.pool_for_metrics())
        .await
        .map_err(map)?;
    rows.iter()
        .map(|r| {
            let key: String = r.try_get("k").map_err(map)?;
            let n: i64 = r.try_get("n").map_err(map)?;
            Ok((
                format!("{{{label}=\"{}\"}}", key.replace(['"', '\\', '\n'], "_")),
                n,
            ))
        })
        .collect()
}
