//! `/ui/reports/monthly.html` and `.csv`: the monthly complaint analysis
//! as downloads, the very files `cloud-triage report --month` writes
//! ([`crate::cmd::report`]) from the same [`crate::store::Store::monthly_report`].

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    api::{error::ApiError, ApiState},
    cmd::report::{csv, html, month_range},
    store::metrics::MonthlyReport,
    ui::page::UiError,
};

/// The report's query.
#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    /// `YYYY-MM` (UTC).
    pub month: Option<String>,
}

/// `GET /ui/reports/monthly.html?month=YYYY-MM`: the report page, as a download.
pub async fn monthly_html(
    State(state): State<ApiState>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, UiError> {
    let report = monthly(&state, &q).await?;
    Ok(download(
        "text/html; charset=utf-8",
        &format!("qloop-report-{}.html", report.month),
        html(&report),
    ))
}

/// `GET /ui/reports/monthly.csv?month=YYYY-MM`: the report as CSV, a download.
pub async fn monthly_csv(
    State(state): State<ApiState>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, UiError> {
    let report = monthly(&state, &q).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("qloop-report-{}.csv", report.month),
        csv(&report),
    ))
}

/// The month's report; a missing or malformed month is a 400.
async fn monthly(state: &ApiState, q: &MonthQuery) -> Result<MonthlyReport, ApiError> {
    let month = q
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::BadRequest("month is required, as YYYY-MM".into()))?;
    let (from, to) = month_range(month)
        .map_err(|e| ApiError::BadRequest(format!("{e:#}").replace("--month", "month")))?;
    Ok(state
        .store
        .monthly_report(month, from, to, &state.store.calendar())
        .await?)
}

/// `body` as an attachment named `filename` (the month is `YYYY-MM`,
/// checked by [`month_range`], so the name needs no quoting).
fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}
