//! The dashboard's period: `?period=7d|30d|90d|Nd`, or `?from=` and `?to=`
//! dates (`YYYY-MM-DD`, the `to` day included), read into the
//! `[from, to)` range the operators' figures take. Malformed values are
//! 400s that say what was wrong; a range that ends before it starts is
//! left to the store, which refuses it as the API does (422).

use serde::Deserialize;

use crate::api::{error::ApiError, search::strict_date_ms};

const DAY_MS: i64 = 86_400_000;

/// The periods the selector offers, in days.
pub const PERIODS: [i64; 4] = [7, 30, 90, 365];

/// The longest period accepted, in days (ten years).
const MAX_DAYS: i64 = 3660;

/// The dashboard's query.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    /// `7d`, `30d`, `90d`, … (default `30d`).
    pub period: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included.
    pub to: Option<String>,
}

/// The range the figures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Cases opened at or after, Unix ms.
    pub from_ms: i64,
    /// Cases opened before, Unix ms; the figures are as of this instant.
    pub to_ms: i64,
    /// The preset chosen (`30d`), or `None` for dates.
    pub preset: Option<String>,
}

impl PeriodQuery {
    /// The range asked for, as of `now_ms`. Dates win over a preset; a
    /// `to` day in the future ends the range now (figures are never as of
    /// a time that has not come).
    pub fn period(&self, now_ms: i64) -> Result<Period, ApiError> {
        let (from, to) = (given(&self.from), given(&self.to));
        if from.is_none() && to.is_none() {
            let preset = given(&self.period).unwrap_or("30d");
            let days = preset_days(preset)?;
            return Ok(Period {
                from_ms: now_ms - days * DAY_MS,
                to_ms: now_ms,
                preset: Some(preset.to_string()),
            });
        }
        let to_ms = match to {
            Some(d) => (date("to", d)? + DAY_MS).min(now_ms),
            None => now_ms,
        };
        let from_ms = match from {
            Some(d) => date("from", d)?,
            None => to_ms - 30 * DAY_MS,
        };
        if to_ms - from_ms > MAX_DAYS * DAY_MS {
            return Err(ApiError::BadRequest(format!(
                "the range may span at most {MAX_DAYS} days"
            )));
        }
        Ok(Period {
            from_ms,
            to_ms,
            preset: None,
        })
    }
}

/// A parameter's value, `None` when absent or blank (an empty form field).
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Days of a preset like `30d`.
fn preset_days(preset: &str) -> Result<i64, ApiError> {
    preset
        .strip_suffix('d')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=MAX_DAYS).contains(n))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "period {preset:?} is not a number of days such as 7d, 30d or 90d (1d to {MAX_DAYS}d)"
            ))
        })
}

/// A `YYYY-MM-DD` day's start as Unix ms, by the API's date rule.
fn date(name: &str, d: &str) -> Result<i64, ApiError> {
    strict_date_ms(d).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{name} {d:?} is not a YYYY-MM-DD date in 1900..=2100"
        ))
    })
}

/// `YYYY-MM-DD` of a Unix-ms instant (UTC), for the date inputs.
pub fn day(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// `YYYY-MM` of the month before the one holding `ms` (the last whole month).
pub fn previous_month(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            let (y, m) = (t.year(), u8::from(t.month()));
            if m == 1 {
                format!("{}-12", y - 1)
            } else {
                format!("{y}-{:02}", m - 1)
            }
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_688_000_000; // 2026-12-08 00:00 UTC

    fn query(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> PeriodQuery {
        PeriodQuery {
            period: period.map(str::to_string),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
        }
    }

    #[test]
    fn presets_end_now_and_dates_include_their_last_day() {
        let p = query(Some("7d"), None, None).period(NOW).unwrap();
        assert_eq!((p.from_ms, p.to_ms), (NOW - 7 * DAY_MS, NOW));
        let default = query(None, Some(""), Some(" ")).period(NOW).unwrap();
        assert_eq!(default.preset.as_deref(), Some("30d"));
        let dates = query(Some("7d"), Some("2026-11-01"), Some("2026-11-30"))
            .period(NOW)
            .unwrap();
        assert_eq!(day(dates.from_ms), "2026-11-01");
        assert_eq!(day(dates.to_ms), "2026-12-01", "the 30th is included");
        assert_eq!(dates.preset, None);
        let future = query(None, Some("2026-12-01"), Some("2027-01-31"))
            .period(NOW)
            .unwrap();
        assert_eq!(future.to_ms, NOW, "never as of a time to come");
    }

    #[test]
    fn malformed_periods_and_dates_say_what_was_wrong() {
        for (q, says) in [
            (query(Some("week"), None, None), "period \"week\""),
            (query(Some("0d"), None, None), "1d to 3660d"),
            (query(Some("99999d"), None, None), "period"),
            (query(None, Some("2026-02-30"), None), "from \"2026-02-30\""),
            (query(None, None, Some("yesterday")), "to \"yesterday\""),
            (
                query(None, Some("1900-01-01"), Some("2026-01-01")),
                "at most",
            ),
        ] {
            let message = q.period(NOW).unwrap_err().to_string();
            assert!(message.contains(says), "{message}");
        }
        assert_eq!(previous_month(NOW), "2026-11");
        assert_eq!(previous_month(NOW - 340 * DAY_MS), "2025-12");
    }
}
