//! `cloud-triage report --month 2026-10`: the monthly complaint analysis as
//! HTML (for people) and CSV (for spreadsheets): volumes by category,
//! severity and model, top recurring issues, SLA compliance, escalations and
//! the corrective actions taken.

use std::{fmt::Write as _, path::PathBuf};

use anyhow::Context;
use clap::Args;
use time::{Date, Month};

use super::knowledge::DataArgs;
use crate::store::metrics::{MonthlyReport, ResponseTimes};

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// The month, `YYYY-MM` (UTC).
    #[arg(long)]
    pub month: String,
    /// Where to write `report-YYYY-MM.html` and `.csv`; default the data directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Policy file (for the SLA calendar); default policy when absent.
    #[arg(long, env = "QLOOP_POLICY")]
    pub policy: Option<PathBuf>,
}

/// `[start, end)` of a `YYYY-MM` month in Unix ms (UTC).
pub fn month_range(month: &str) -> anyhow::Result<(i64, i64)> {
    let (y, m) = month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u8>().ok()?)))
        .with_context(|| format!("--month {month:?} is not YYYY-MM"))?;
    let month_of =
        |m: u8| Month::try_from(m).with_context(|| format!("--month {month:?}: no month {m}"));
    let start = Date::from_calendar_date(y, month_of(m)?, 1)?;
    let end = if m == 12 {
        Date::from_calendar_date(y + 1, Month::January, 1)?
    } else {
        Date::from_calendar_date(y, month_of(m + 1)?, 1)?
    };
    let ms = |d: Date| (d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    Ok((ms(start), ms(end)))
}

/// Runs `report`.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let (from, to) = month_range(&args.month)?;
    let policy = match &args.policy {
        Some(p) => crate::policy::Policy::load(p)?,
        None => crate::policy::Policy::default(),
    };
    let store = args.data.store().await?;
    let report = store
        .monthly_report(&args.month, from, to, policy.sla.working_time())
        .await?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.data.data_dir.clone());
    std::fs::create_dir_all(&out)?;
    let html_path = out.join(format!("report-{}.html", args.month));
    let csv_path = out.join(format!("report-{}.csv", args.month));
    std::fs::write(&html_path, html(&report))
        .with_context(|| format!("writing {}", html_path.display()))?;
    std::fs::write(&csv_path, csv(&report))
        .with_context(|| format!("writing {}", csv_path.display()))?;
    println!("{}\n{}", html_path.display(), csv_path.display());
    Ok(())
}

/// Text for HTML. Five characters need escaping; a crate for that would be
/// larger than this function.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn hours(ms: Option<i64>) -> String {
    ms.map_or("-".into(), |v| format!("{:.1}", v as f64 / 3_600_000.0))
}

/// The report as rows of `section,key,value` (and more columns for lists).
pub fn csv(r: &MonthlyReport) -> String {
    let mut out = String::from("section,key,value,extra1,extra2\n");
    let mut row = |cols: &[&str]| {
        let line: Vec<String> = cols.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    };
    for (section, map) in [
        ("category", &r.by_category),
        ("severity", &r.by_severity),
        ("model", &r.by_model),
    ] {
        for (k, v) in map {
            row(&[section, k, &v.to_string()]);
        }
    }
    for (id, title, category, reports, vehicles) in &r.top_issues {
        row(&[
            "top_issue",
            &id.to_string(),
            &reports.to_string(),
            &format!("{vehicles} vehicles; {category}"),
            title,
        ]);
    }
    row(&["sla", "cases", &r.sla.cases.to_string()]);
    row(&[
        "sla",
        "first_response_p50_h",
        &hours(r.sla.first_response.p50_ms),
    ]);
    row(&[
        "sla",
        "first_response_p90_h",
        &hours(r.sla.first_response.p90_ms),
    ]);
    row(&["sla", "resolution_p50_h", &hours(r.sla.resolution.p50_ms)]);
    row(&["sla", "resolution_p90_h", &hours(r.sla.resolution.p90_ms)]);
    for (metric, b) in &r.sla.breaches {
        row(&[
            "sla_breaches",
            metric,
            &b.breached.to_string(),
            &b.measured.to_string(),
            &format!("{:.4}", b.rate),
        ]);
    }
    row(&["sla", "closure_rate", &format!("{:.4}", r.sla.closure_rate)]);
    row(&[
        "sla",
        "on_time_closed_loop_rate",
        &format!("{:.4}", r.sla.on_time_closed_loop_rate),
    ]);
    row(&["sla", "reopen_rate", &format!("{:.4}", r.sla.reopen_rate)]);
    for (kind, n) in &r.escalations {
        row(&["escalations", kind, &n.to_string()]);
    }
    for (id, title, action) in &r.preventive_actions {
        row(&["preventive_action", &id.to_string(), action, title]);
    }
    out
}

/// The report as a standalone HTML page.
pub fn html(r: &MonthlyReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>qloop complaint analysis {m}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}</style></head><body>\
         <h1>Complaint analysis, {m}</h1>",
        m = esc(&r.month)
    );
    for (title, map) in [
        ("By category", &r.by_category),
        ("By severity", &r.by_severity),
        ("By model", &r.by_model),
    ] {
        let _ = write!(
            h,
            "<h2>{title}</h2><table><tr><th>{}</th><th>reports</th></tr>",
            &title[3..]
        );
        for (k, v) in map {
            let _ = write!(h, "<tr><td>{}</td><td>{v}</td></tr>", esc(k));
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Top recurring issues</h2><table><tr><th>case</th><th>title</th><th>category</th><th>reports</th><th>vehicles</th></tr>");
    for (id, title, category, reports, vehicles) in &r.top_issues {
        let _ = write!(
            h,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{reports}</td><td>{vehicles}</td></tr>",
            esc(title),
            esc(category)
        );
    }
    h.push_str("</table><h2>SLA compliance</h2><table>");
    sla_rows(&mut h, &r.sla);
    h.push_str("</table><h2>Escalations</h2><table>");
    for (kind, n) in &r.escalations {
        let _ = write!(h, "<tr><th>{}</th><td>{n}</td></tr>", esc(kind));
    }
    h.push_str("</table><h2>Preventive actions taken</h2><table><tr><th>case</th><th>title</th><th>corrective action</th></tr>");
    for (id, title, action) in &r.preventive_actions {
        let _ = write!(
            h,
            "<tr><td>{id}</td><td>{}</td><td>{}</td></tr>",
            esc(title),
            esc(action)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// The SLA compliance table's rows.
fn sla_rows(h: &mut String, s: &ResponseTimes) {
    for (k, v) in [
        ("cases opened", s.cases.to_string()),
        (
            "first response p50 / p90 (h)",
            format!(
                "{} / {}",
                hours(s.first_response.p50_ms),
                hours(s.first_response.p90_ms)
            ),
        ),
        (
            "resolution p50 / p90 (h)",
            format!(
                "{} / {}",
                hours(s.resolution.p50_ms),
                hours(s.resolution.p90_ms)
            ),
        ),
        ("closure rate", format!("{:.1} %", s.closure_rate * 100.0)),
        (
            "on-time closed-loop rate",
            format!("{:.1} %", s.on_time_closed_loop_rate * 100.0),
        ),
        ("reopen rate", format!("{:.1} %", s.reopen_rate * 100.0)),
    ] {
        let _ = write!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    for (metric, b) in &s.breaches {
        let _ = write!(
            h,
            "<tr><th>{} breaches</th><td>{} of {} ({:.1} %)</td></tr>",
            esc(metric),
            b.breached,
            b.measured,
            b.rate * 100.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_span_their_days_and_bad_months_are_named() {
        let (a, b) = month_range("2026-10").unwrap();
        assert_eq!((b - a) / 86_400_000, 31);
        let (c, d) = month_range("2026-12").unwrap();
        assert_eq!((d - c) / 86_400_000, 31, "December ends at the new year");
        for bad in ["2026-13", "2026", "Oct 2026", "2026-00"] {
            assert!(month_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields_and_markup_are_escaped() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(esc("<b>&'\""), "&lt;b&gt;&amp;&#39;&quot;");
    }
}
