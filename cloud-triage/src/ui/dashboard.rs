//! `/ui/dashboard`: what operators watch over a period — first-response
//! and resolution p50/p90 over time (uPlot charts, and the same numbers in
//! a table), breaches, closure, on-time closed-loop and reopen rates, the
//! backlog by age and category with its cases oldest first, and emerging
//! issues. The figures are the API's (`GET /api/metrics/response-times`,
//! [`crate::store::Store::response_times`]). The monthly report downloads
//! are in [`report`].

mod period;
mod report;
mod view;

use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
    routing::get,
    Extension, Router,
};

use super::{
    page::{render, Chrome, Section, UiError},
    Htmx,
};
use crate::{
    api::ApiState, domain::metrics::series::bucket_ms, now_ms, store::ui_sessions::UiSession,
};
pub use period::{Period, PeriodQuery};
use view::DashboardView;

/// The most backlog cases listed (the counts cover them all).
const BACKLOG_LIST_LIMIT: i64 = 200;

/// This view's routes (relative to `/ui`).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/reports/monthly.html", get(report::monthly_html))
        .route("/reports/monthly.csv", get(report::monthly_csv))
}

/// The figures and the period selector (what htmx swaps).
#[derive(Template)]
#[template(path = "dashboard_partial.html")]
struct DashboardPartial {
    d: DashboardView,
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    d: DashboardView,
}

/// `GET /ui/dashboard?period=30d` (or `?from=YYYY-MM-DD&to=YYYY-MM-DD`).
async fn dashboard(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, UiError> {
    let now = now_ms();
    let period = query.period(now)?;
    let (from, to) = (period.from_ms, period.to_ms);
    let store = &state.store;
    let calendar = store.calendar();
    let figures = store.response_times(from, to, &calendar).await?;
    let series = store
        .response_time_series(from, to, bucket_ms(to - from), &calendar)
        .await?;
    let backlog = store.backlog_cases(from, to, BACKLOG_LIST_LIMIT).await?;
    let emerging = store.emerging_cases(from, to).await?;
    let d = view::dashboard_view(&period, figures, &series, backlog, emerging, now);
    Ok(if htmx {
        render(&DashboardPartial { d })
    } else {
        render(&DashboardPage {
            chrome: Chrome::new(&session, Section::Dashboard),
            d,
        })
    })
}
