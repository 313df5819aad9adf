//! The dashboard: the period's figures, backlog and emerging issues, the
//! series, dates and presets, the partial, the 400s and 422, and the
//! monthly report downloads.

use cloud_triage::{now_ms, store::access::Role};
use reqwest::StatusCode;

use super::new_store;
use super::{report, transition, triaged_case, DAY, HOUR};
use crate::ui_support::{self, serve_ui_on, sign_in, ServedUi};

/// Dashboard data, as of now: A opened 2 days ago and answered in 1 h,
/// B 5 days ago in 3 h, C 10 days ago never answered, D cancelled, E an
/// emerging issue from two cars half an hour ago.
struct DashboardWorld {
    ui: ServedUi,
    a: i64,
    b: i64,
    c: i64,
    d: i64,
    e: i64,
}

async fn dashboard_world() -> DashboardWorld {
    let (store, dir) = new_store().await;
    let now = now_ms();
    let (_, a) = report(&store, 1, "door rattles", now - 2 * DAY).await;
    transition(&store, a, "acknowledged", now - 2 * DAY + HOUR).await;
    let (_, b) = report(&store, 2, "wipers stop", now - 5 * DAY).await;
    transition(&store, b, "acknowledged", now - 5 * DAY + 3 * HOUR).await;
    let (_, c) = report(&store, 3, "seat heater cold", now - 10 * DAY).await;
    let (_, d) = report(&store, 4, "radio off", now - HOUR).await;
    transition(&store, d, "cancelled", now - HOUR / 2).await;
    let e = triaged_case(&store, 10, 2, "the brake pedal sinks at lights", &[]).await;
    let ui = serve_ui_on(store, dir, None).await;
    DashboardWorld { ui, a, b, c, d, e }
}

fn case_links(page: &ui_support::Page, css: &str) -> Vec<String> {
    page.attrs(css, "href")
}

#[tokio::test]
async fn the_dashboard_shows_the_periods_times_backlog_and_emerging_issues() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let page = olga.get("/ui/dashboard?period=7d").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.texts("#dash-cases"),
        ["4"],
        "A, B, D and E; C is older"
    );
    assert_eq!(
        page.texts("#dash-first-response dd"),
        ["1 h 0 min", "3 h 0 min", "2"],
        "p50, p90 (nearest rank) and how many were answered"
    );
    assert_eq!(
        case_links(&page, ".dash-backlog-cases a"),
        [w.b, w.a, w.e].map(|id| format!("/ui/cases/{id}")),
        "open cases oldest first; the cancelled one is not on the backlog"
    );
    assert_eq!(
        page.texts(".dash-backlog-matrix tfoot td"),
        ["1", "1", "1", "0", "3"]
    );
    assert_eq!(
        case_links(&page, ".dash-emerging a"),
        [format!("/ui/cases/{}", w.e)]
    );
    let series = page.attrs("figure[data-chart=first-response]", "data-p50");
    let points: Vec<&str> = series[0].split(',').collect();
    assert_eq!(points.len(), 7, "one point a day");
    assert!(
        points.contains(&"1.00") && points.contains(&"3.00"),
        "{points:?}"
    );
    assert_eq!(
        page.count(".dash-series tbody tr"),
        7,
        "the same numbers in a table"
    );
    assert!(page
        .body
        .contains("/ui/static/vendor/uplot-1.6.32.iife.min.js"));
    assert!(page.body.contains("/ui/static/dashboard.js"));
    assert_eq!(page.attrs("#dash-period option[selected]", "value"), ["7d"]);

    let month = olga.get("/ui/dashboard?period=30d").await;
    assert_eq!(month.texts("#dash-cases"), ["5"]);
    assert_eq!(
        case_links(&month, ".dash-backlog-cases a")[0],
        format!("/ui/cases/{}", w.c)
    );
    let breaches = month.texts(".dash-breaches tbody tr");
    assert!(
        breaches.contains(&"First response 2 3 66.7 %".to_string()),
        "B answered in 3 h of 2, C not at all and overdue: {breaches:?}"
    );
    assert!(
        !month.body.contains(&format!("/ui/cases/{}\"", w.d)),
        "D is cancelled"
    );
}

#[tokio::test]
async fn the_period_can_be_dates_and_htmx_gets_the_figures_only() {
    let w = dashboard_world().await;
    let erin = sign_in(&w.ui, Role::Engineer, "erin").await;
    let today = time::OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(6);
    let page = erin
        .get(&format!("/ui/dashboard?from={from}&to={today}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attrs("#dash-from", "value"), [from.to_string()]);
    assert_eq!(
        page.texts("#dash-period option[selected]"),
        ["The dates below"],
        "no preset claims the range"
    );
    assert!(page.count(".dash-backlog-cases a") >= 2, "A and E at least");
    let partial = erin.get_htmx("/ui/dashboard?period=90d").await;
    assert_eq!(
        (partial.count("header.top"), partial.count("#dashboard")),
        (0, 1)
    );
    assert_eq!(partial.texts("#dash-cases"), ["5"]);
}

#[tokio::test]
async fn bad_periods_are_400_pages_and_a_reversed_range_is_refused_as_the_api_does() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    for (query, says) in [
        ("period=fortnight", "period \"fortnight\""),
        ("period=0d", "period"),
        ("from=2026-13-01", "from \"2026-13-01\""),
        ("to=soon", "to \"soon\""),
    ] {
        let page = olga.get(&format!("/ui/dashboard?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            page.texts(".error")[0].contains(says),
            "{query}: {}",
            page.body
        );
    }
    let reversed = olga
        .get("/ui/dashboard?from=2026-06-10&to=2026-06-01")
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reversed.texts(".error")[0].contains("before"));
}

#[tokio::test]
async fn the_monthly_report_downloads_as_html_and_csv_from_the_cli_code() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let dashboard = olga.get("/ui/dashboard").await;
    assert_eq!(dashboard.attrs("#dash-month", "name"), ["month"]);
    assert_eq!(
        dashboard.attrs("button[formaction]", "formaction"),
        ["/ui/reports/monthly.csv"]
    );
    let month = time::OffsetDateTime::now_utc().date().to_string()[..7].to_string();
    let csv = olga
        .get(&format!("/ui/reports/monthly.csv?month={month}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some(format!("attachment; filename=\"qloop-report-{month}.csv\""))
    );
    let (from, to) = cloud_triage::cmd::report::month_range(&month).unwrap();
    let report =
        w.ui.store
            .monthly_report(&month, from, to, &w.ui.store.calendar())
            .await
            .unwrap();
    assert_eq!(
        csv.body,
        cloud_triage::cmd::report::csv(&report),
        "the CLI's CSV"
    );
    let html = olga
        .get(&format!("/ui/reports/monthly.html?month={month}"))
        .await;
    assert!(html
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(html.texts("h1"), [format!("Complaint analysis, {month}")]);
    for bad in ["", "?month=2026-13", "?month=last"] {
        let page = olga.get(&format!("/ui/reports/monthly.csv{bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.texts(".error")[0].contains("month"), "{bad}");
    }
}
