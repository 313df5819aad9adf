//! The dashboard's figures as the template prints them: durations as
//! text, rates as percentages and `<meter>` values, the series as chart
//! data (`data-*` lists for `dashboard.js`) and as table rows.

use std::str::FromStr;

use super::period::{day, previous_month, Period, PERIODS};
use crate::{
    domain::{
        metrics::{age_bucket, series::SeriesPoint, Durations, ResponseTimes},
        SlaMetric,
    },
    store::metrics::DashboardCase,
    ui::format::{duration, metric_label, when},
};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: f64 = 3_600_000.0;

/// Everything the dashboard shows.
pub struct DashboardView {
    /// The period selector's presets.
    pub presets: Vec<Preset>,
    /// The range was given as dates, not a preset.
    pub dates_chosen: bool,
    /// The first day of the range, `YYYY-MM-DD`.
    pub from_day: String,
    /// The last day of the range, `YYYY-MM-DD`.
    pub to_day: String,
    /// The range as people read it.
    pub range_label: String,
    /// Cases opened in the range.
    pub cases: usize,
    /// First response p50/p90.
    pub first_response: DurationView,
    /// Resolution p50/p90.
    pub resolution: DurationView,
    /// Closure, on-time closed-loop and reopen rates.
    pub rates: Vec<RateView>,
    /// Breaches by metric.
    pub breaches: Vec<BreachView>,
    /// `day`, `week` or `30 days`: one point of the series.
    pub bucket_label: &'static str,
    /// First response over time.
    pub first_response_chart: ChartData,
    /// Resolution over time.
    pub resolution_chart: ChartData,
    /// The series as table rows.
    pub series: Vec<SeriesRow>,
    /// The backlog's age buckets, youngest first.
    pub ages: Vec<&'static str>,
    /// Backlog counts: one row per category, one count per age.
    pub backlog: Vec<BacklogRow>,
    /// Backlog counts per age over all categories.
    pub backlog_by_age: Vec<usize>,
    /// Open cases in all.
    pub backlog_total: usize,
    /// The backlog's cases, oldest first.
    pub backlog_cases: Vec<CaseRow>,
    /// Open cases not listed (beyond the list's limit).
    pub backlog_unlisted: usize,
    /// Emerging issues, newest first.
    pub emerging: Vec<CaseRow>,
    /// The month the report selector starts at (the last whole month).
    pub month: String,
}

/// A preset of the period selector.
pub struct Preset {
    /// `30d`.
    pub value: String,
    /// `30 days`.
    pub label: String,
    /// The one in force.
    pub selected: bool,
}

/// p50/p90 of a duration as text.
pub struct DurationView {
    /// How many were measured.
    pub n: usize,
    /// Median, e.g. `3 h 12 min`, or a dash.
    pub p50: String,
    /// 90th percentile.
    pub p90: String,
}

/// A rate.
pub struct RateView {
    /// `Closure rate`.
    pub label: &'static str,
    /// What it divides.
    pub hint: &'static str,
    /// 0 to 1, for `<meter>`.
    pub value: String,
    /// `42.0 %`.
    pub percent: String,
}

/// Breaches of one SLA metric.
pub struct BreachView {
    /// `First response`, `Resolution (cycle 1)`.
    pub label: String,
    /// Breached clocks.
    pub breached: usize,
    /// Clocks measured.
    pub measured: usize,
    /// `12.5 %`.
    pub percent: String,
}

/// A chart's data for `dashboard.js`: comma-separated lists.
pub struct ChartData {
    /// Bucket starts, Unix seconds.
    pub x: String,
    /// p50 in hours (empty where nothing was measured).
    pub p50: String,
    /// p90 in hours.
    pub p90: String,
}

/// One bucket of the series in the table.
pub struct SeriesRow {
    /// `2026-12-01`.
    pub start: String,
    /// Cases opened.
    pub cases: usize,
    /// First response p50/p90.
    pub first_response: DurationView,
    /// Resolution p50/p90.
    pub resolution: DurationView,
    /// First-response and resolution clocks breached.
    pub breached: usize,
}

/// One category's open cases by age.
pub struct BacklogRow {
    /// The category.
    pub category: String,
    /// Count per age bucket (in [`DashboardView::ages`] order).
    pub counts: Vec<usize>,
    /// All ages.
    pub total: usize,
}

/// A case listed on the dashboard.
pub struct CaseRow {
    /// Case number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: String,
    /// Its severity.
    pub severity: &'static str,
    /// Its status.
    pub status: &'static str,
    /// Distinct vehicles.
    pub vehicles: i64,
    /// How long it has been open, `3 d 4 h`.
    pub age: String,
    /// When it was opened.
    pub opened: String,
    /// When it was flagged emerging.
    pub flagged: String,
}

/// Builds the view of one period's figures.
pub fn dashboard_view(
    period: &Period,
    figures: ResponseTimes,
    series: &[SeriesPoint],
    backlog_cases: Vec<DashboardCase>,
    emerging: Vec<DashboardCase>,
    now_ms: i64,
) -> DashboardView {
    let ages: Vec<&'static str> = [0, DAY_MS, 3 * DAY_MS, 7 * DAY_MS]
        .into_iter()
        .map(age_bucket)
        .collect();
    let backlog = backlog_rows(&figures, &ages);
    let backlog_by_age: Vec<usize> = (0..ages.len())
        .map(|i| backlog.iter().map(|r| r.counts[i]).sum())
        .collect();
    let backlog_total = backlog_by_age.iter().sum();
    let case_row = |c: DashboardCase| case_row(c, period.to_ms);
    let span = period.to_ms - period.from_ms;
    DashboardView {
        presets: presets(period),
        dates_chosen: period.preset.is_none(),
        from_day: day(period.from_ms),
        to_day: day(period.to_ms - 1),
        range_label: format!("{} – {}", when(period.from_ms), when(period.to_ms)),
        cases: figures.cases,
        first_response: duration_view(&figures.first_response),
        resolution: duration_view(&figures.resolution),
        rates: rates(&figures),
        breaches: figures
            .breaches
            .iter()
            .map(|(metric, b)| BreachView {
                label: breach_label(metric),
                breached: b.breached,
                measured: b.measured,
                percent: percent(b.rate),
            })
            .collect(),
        bucket_label: bucket_label(series.first().map_or(span, |p| p.to_ms - p.from_ms)),
        first_response_chart: chart(series, |p| &p.first_response),
        resolution_chart: chart(series, |p| &p.resolution),
        series: series.iter().map(series_row).collect(),
        backlog_unlisted: backlog_total - backlog_cases.len().min(backlog_total),
        backlog_cases: backlog_cases.into_iter().map(case_row).collect(),
        emerging: emerging.into_iter().map(case_row).collect(),
        ages,
        backlog,
        backlog_by_age,
        backlog_total,
        month: previous_month(now_ms),
    }
}

fn presets(period: &Period) -> Vec<Preset> {
    let mut presets: Vec<Preset> = PERIODS
        .iter()
        .map(|days| {
            let value = format!("{days}d");
            Preset {
                selected: period.preset.as_deref() == Some(value.as_str()),
                label: format!("{days} days"),
                value,
            }
        })
        .collect();
    if let Some(other) = period.preset.as_deref() {
        if !presets.iter().any(|p| p.selected) {
            presets.push(Preset {
                value: other.to_string(),
                label: format!("{} days", other.trim_end_matches('d')),
                selected: true,
            });
        }
    }
    presets
}

fn duration_view(d: &Durations) -> DurationView {
    let text = |ms: Option<i64>| ms.map_or_else(|| "—".to_string(), duration);
    DurationView {
        n: d.n,
        p50: text(d.p50_ms),
        p90: text(d.p90_ms),
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn rates(f: &ResponseTimes) -> Vec<RateView> {
    [
        (
            "Closure rate",
            "closed of the cases not cancelled",
            f.closure_rate,
        ),
        (
            "On-time closed loop",
            "closed with first response and resolution on time, of the closed",
            f.on_time_closed_loop_rate,
        ),
        (
            "Reopen rate",
            "reopened of the cases ever resolved",
            f.reopen_rate,
        ),
    ]
    .into_iter()
    .map(|(label, hint, rate)| RateView {
        label,
        hint,
        value: format!("{rate:.4}"),
        percent: percent(rate),
    })
    .collect()
}

/// `first_response` → `First response`; `resolution#1` → `Resolution (earlier cycle 1)`.
fn breach_label(key: &str) -> String {
    let (metric, cycle) = key
        .split_once('#')
        .map_or((key, None), |(m, c)| (m, Some(c)));
    let name = SlaMetric::from_str(metric).map_or(metric, |m| metric_label(m));
    match cycle {
        Some(c) => format!("{name} (earlier cycle {c})"),
        None => name.to_string(),
    }
}

fn bucket_label(width_ms: i64) -> &'static str {
    match width_ms {
        w if w <= DAY_MS => "day",
        w if w <= 7 * DAY_MS => "week",
        _ => "30 days",
    }
}

fn chart(series: &[SeriesPoint], of: impl Fn(&SeriesPoint) -> &Durations) -> ChartData {
    let list =
        |f: &dyn Fn(&SeriesPoint) -> String| series.iter().map(f).collect::<Vec<_>>().join(",");
    let hours =
        |ms: Option<i64>| ms.map_or(String::new(), |ms| format!("{:.2}", ms as f64 / HOUR_MS));
    ChartData {
        x: list(&|p| (p.from_ms / 1000).to_string()),
        p50: list(&|p| hours(of(p).p50_ms)),
        p90: list(&|p| hours(of(p).p90_ms)),
    }
}

fn series_row(p: &SeriesPoint) -> SeriesRow {
    SeriesRow {
        start: day(p.from_ms),
        cases: p.cases,
        first_response: duration_view(&p.first_response),
        resolution: duration_view(&p.resolution),
        breached: p.first_response_breached + p.resolution_breached,
    }
}

fn backlog_rows(f: &ResponseTimes, ages: &[&'static str]) -> Vec<BacklogRow> {
    let mut by_category: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (age, categories) in &f.backlog {
        let Some(i) = ages.iter().position(|a| a == age) else {
            continue;
        };
        for (category, n) in categories {
            by_category
                .entry(category.as_str())
                .or_insert_with(|| vec![0; ages.len()])[i] += n;
        }
    }
    by_category
        .into_iter()
        .map(|(category, counts)| BacklogRow {
            category: category.to_string(),
            total: counts.iter().sum(),
            counts,
        })
        .collect()
}

fn case_row(c: DashboardCase, as_of_ms: i64) -> CaseRow {
    CaseRow {
        id: c.id,
        title: c.title,
        category: c.category,
        severity: c.severity.as_str(),
        status: c.status.as_str(),
        vehicles: c.vehicle_count,
        age: duration(as_of_ms - c.opened_at_ms),
        opened: when(c.opened_at_ms),
        flagged: c.emerging_at_ms.map_or_else(String::new, when),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breach_keys_read_as_metric_names_with_their_cycle() {
        assert_eq!(breach_label("first_response"), "First response");
        assert_eq!(breach_label("resolution#1"), "Resolution (earlier cycle 1)");
        assert_eq!(breach_label("odd"), "odd");
        assert_eq!(bucket_label(DAY_MS), "day");
        assert_eq!(bucket_label(7 * DAY_MS), "week");
    }
}
