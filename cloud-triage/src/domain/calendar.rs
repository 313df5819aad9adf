//! Working time: around the clock, or business hours in a fixed UTC offset
//! with weekdays and holidays. SLA clocks count working time only.
//!
//! Time zones are fixed offsets (`+01:00`), not tz-database names: an SLA
//! policy names the offset of the team that answers. (Daylight-saving rules
//! would need a tz database crate; a team crossing DST edits one line.)

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time, UtcOffset};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// When the clock runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// `24x7`, or `business` (the hours below).
    pub kind: CalendarKind,
    /// Offset of the team's local time from UTC, minutes (+60 for CET).
    pub utc_offset_minutes: i32,
    /// Working weekdays, `mon`…`sun`.
    pub days: Vec<String>,
    /// Start of the working day, local `HH:MM`.
    pub start: String,
    /// End of the working day, local `HH:MM`.
    pub end: String,
    /// Local dates without work, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
}

/// Around the clock or business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CalendarKind {
    /// Every minute counts.
    #[serde(rename = "24x7")]
    AroundTheClock,
    /// Only the working hours of working days count.
    #[serde(rename = "business")]
    Business,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            kind: CalendarKind::AroundTheClock,
            utc_offset_minutes: 0,
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start: "08:00".into(),
            end: "18:00".into(),
            holidays: Vec::new(),
        }
    }
}

/// A checked calendar, ready to count (around the clock by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkingTime {
    business: Option<Business>,
}

#[derive(Debug, Clone, PartialEq)]
struct Business {
    offset: UtcOffset,
    days: [bool; 7],
    start_min: i64,
    end_min: i64,
    holidays: Vec<Date>,
}

fn hhmm(s: &str, key: &str) -> anyhow::Result<i64> {
    let t = Time::parse(s, time::macros::format_description!("[hour]:[minute]"))
        .map_err(|e| anyhow::anyhow!("sla.calendar.{key}: {s:?} is not HH:MM ({e})"))?;
    Ok(i64::from(t.hour()) * 60 + i64::from(t.minute()))
}

impl Calendar {
    /// Checks the calendar and prepares it for counting.
    pub fn working_time(&self) -> anyhow::Result<WorkingTime> {
        if self.kind == CalendarKind::AroundTheClock {
            return Ok(WorkingTime { business: None });
        }
        let offset = UtcOffset::from_whole_seconds(self.utc_offset_minutes.saturating_mul(60))
            .map_err(|_| anyhow::anyhow!("sla.calendar.utc_offset_minutes out of range"))?;
        let mut days = [false; 7];
        for d in &self.days {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|n| n.eq_ignore_ascii_case(d))
                .ok_or_else(|| anyhow::anyhow!("sla.calendar.days: {d:?} is not mon…sun"))?;
            days[i] = true;
        }
        if !days.contains(&true) {
            anyhow::bail!("sla.calendar.days: names no working day");
        }
        let (start_min, end_min) = (hhmm(&self.start, "start")?, hhmm(&self.end, "end")?);
        if start_min >= end_min {
            anyhow::bail!(
                "sla.calendar: start {} is not before end {}",
                self.start,
                self.end
            );
        }
        let holidays = self
            .holidays
            .iter()
            .map(|h| {
                Date::parse(h, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|e| anyhow::anyhow!("sla.calendar.holidays: {h:?} ({e})"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(WorkingTime {
            business: Some(Business {
                offset,
                days,
                start_min,
                end_min,
                holidays,
            }),
        })
    }
}

impl Business {
    /// Local midnight (as Unix ms) of the day holding `ms`, and that date.
    fn day_of(&self, ms: i64) -> (i64, Date) {
        let local = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(self.offset);
        let date = local.date();
        let midnight = date.midnight().assume_offset(self.offset);
        ((midnight.unix_timestamp_nanos() / 1_000_000) as i64, date)
    }

    /// The working window `[from, to)` of the day starting at `midnight`, if any.
    fn window(&self, midnight: i64, date: Date) -> Option<(i64, i64)> {
        let weekday = date.weekday().number_days_from_monday() as usize;
        if !self.days[weekday] || self.holidays.contains(&date) {
            return None;
        }
        Some((
            midnight + self.start_min * MINUTE_MS,
            midnight + self.end_min * MINUTE_MS,
        ))
    }
}

/// Longest span a count walks, in days (bounds the loops on absurd input).
const MAX_DAYS: i64 = 3_660;

impl WorkingTime {
    /// Working milliseconds in `[from, to)`.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let Some(b) = &self.business else {
            return to - from;
        };
        let (mut midnight, mut date) = b.day_of(from);
        let mut total = 0;
        for _ in 0..MAX_DAYS {
            if midnight >= to {
                break;
            }
            if let Some((s, e)) = b.window(midnight, date) {
                let (s, e) = (s.max(from), e.min(to));
                if e > s {
                    total += e - s;
                }
            }
            date = date.next_day().unwrap_or(Date::MAX);
            midnight = (date
                .midnight()
                .assume_offset(b.offset)
                .unix_timestamp_nanos()
                / 1_000_000) as i64;
        }
        total
    }

    /// The instant when `work` working milliseconds have passed after `from`.
    pub fn add(&self, from: i64, work: i64) -> i64 {
        let Some(b) = &self.business else {
            return from.saturating_add(work);
        };
        let mut left = work.max(0);
        let (mut midnight, mut date) = b.day_of(from);
        for _ in 0..MAX_DAYS {
            if let Some((s, e)) = b.window(midnight, date) {
                let s = s.max(from);
                if e > s {
                    if left <= e - s {
                        return s + left;
                    }
                    left -= e - s;
                }
            }
            date = date.next_day().unwrap_or(Date::MAX);
            midnight = (date
                .midnight()
                .assume_offset(b.offset)
                .unix_timestamp_nanos()
                / 1_000_000) as i64;
        }
        from.saturating_add(MAX_DAYS * DAY_MS)
    }

    /// Length of one working day, ms (24 h around the clock).
    pub fn day_ms(&self) -> i64 {
        match &self.business {
            None => DAY_MS,
            Some(b) => (b.end_min - b.start_min) * MINUTE_MS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    /// Monday 2026-11-02 00:00 UTC.
    const MONDAY: i64 = 1_793_577_600_000;

    fn business() -> WorkingTime {
        Calendar {
            kind: CalendarKind::Business,
            holidays: vec!["2026-11-04".into()],
            ..Calendar::default()
        }
        .working_time()
        .unwrap()
    }

    #[test]
    fn around_the_clock_counts_every_millisecond() {
        let w = Calendar::default().working_time().unwrap();
        assert_eq!(w.between(MONDAY, MONDAY + 5 * HOUR), 5 * HOUR);
        assert_eq!(w.add(MONDAY, 48 * HOUR), MONDAY + 48 * HOUR);
        assert_eq!(w.between(MONDAY + HOUR, MONDAY), 0);
    }

    #[test]
    fn business_hours_skip_nights_weekends_and_holidays() {
        let w = business();
        // Monday 17:00 + 2 working hours = Tuesday 09:00.
        assert_eq!(
            w.add(MONDAY + 17 * HOUR, 2 * HOUR),
            MONDAY + 24 * HOUR + 9 * HOUR
        );
        // Tuesday 17:00 + 2 h: Wednesday is a holiday, so Thursday 09:00.
        assert_eq!(
            w.add(MONDAY + 24 * HOUR + 17 * HOUR, 2 * HOUR),
            MONDAY + 3 * 24 * HOUR + 9 * HOUR
        );
        // Friday 16:00 + 4 h = Monday 10:00.
        assert_eq!(
            w.add(MONDAY + 4 * 24 * HOUR + 16 * HOUR, 4 * HOUR),
            MONDAY + 7 * 24 * HOUR + 10 * HOUR
        );
        // A whole week holds four working days of ten hours (Wednesday off).
        assert_eq!(w.between(MONDAY, MONDAY + 7 * 24 * HOUR), 40 * HOUR);
        // Saturday night counts nothing.
        assert_eq!(w.between(MONDAY + 5 * 24 * HOUR, MONDAY + 6 * 24 * HOUR), 0);
        for (from, work) in [
            (MONDAY + 3 * HOUR, 7 * HOUR),
            (MONDAY + 20 * HOUR, 25 * HOUR),
        ] {
            assert_eq!(
                w.between(from, w.add(from, work)),
                work,
                "add and between agree"
            );
        }
    }

    #[test]
    fn an_offset_moves_the_working_day() {
        let cet = Calendar {
            kind: CalendarKind::Business,
            utc_offset_minutes: 60,
            ..Calendar::default()
        }
        .working_time()
        .unwrap();
        // 08:00 CET is 07:00 UTC.
        assert_eq!(cet.add(MONDAY, 0), MONDAY + 7 * HOUR);
    }

    #[test]
    fn bad_calendars_name_the_key() {
        for (c, key) in [
            (
                Calendar {
                    kind: CalendarKind::Business,
                    days: vec!["funday".into()],
                    ..Calendar::default()
                },
                "days",
            ),
            (
                Calendar {
                    kind: CalendarKind::Business,
                    start: "25:00".into(),
                    ..Calendar::default()
                },
                "start",
            ),
            (
                Calendar {
                    kind: CalendarKind::Business,
                    start: "18:00".into(),
                    end: "08:00".into(),
                    ..Calendar::default()
                },
                "start",
            ),
            (
                Calendar {
                    kind: CalendarKind::Business,
                    holidays: vec!["someday".into()],
                    ..Calendar::default()
                },
                "holidays",
            ),
        ] {
            let err = c.working_time().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
