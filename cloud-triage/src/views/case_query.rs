//! The case list's query: filters, order and paging, as
//! [`crate::store::Store::list_cases`] takes them.
//!
//! The JSON API fills the first six fields; the web UI's list also the
//! model, software, emerging, SLA-state and order fields, which default to
//! none (no filter, newest first).

use serde::Deserialize;

use crate::domain::UnknownValue;

/// The most cases one page may hold.
pub const MAX_PAGE_LIMIT: i64 = 500;
/// The page size when a query names none.
pub const DEFAULT_PAGE_LIMIT: i64 = 50;

/// Filters and paging for [`crate::store::Store::list_cases`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CaseQuery {
    /// Only cases in this status, e.g. `new`.
    pub status: Option<String>,
    /// Only cases of this category, e.g. `untriaged`.
    pub category: Option<String>,
    /// Only cases of this severity, e.g. `unassessed`.
    pub severity: Option<String>,
    /// Only cases naming this hazard, e.g. `loss_of_braking`; `none`: only
    /// cases naming none ([`crate::domain::hazard::parse_filter`]).
    #[serde(default)]
    pub hazard: Option<String>,
    /// Page size; default 50, at most 500.
    pub limit: Option<i64>,
    /// Cases to skip; default 0.
    pub offset: Option<i64>,
    /// Only cases reported on this vehicle model, compared as its model
    /// family (`model 3` finds `MODEL 3`).
    #[serde(default)]
    pub model: Option<String>,
    /// Only cases with a software version (`"ECU version"`) containing this
    /// text, ignoring ASCII case.
    #[serde(default)]
    pub software: Option<String>,
    /// Only emerging cases (`true`) or only the others (`false`).
    #[serde(default)]
    pub emerging: Option<bool>,
    /// Only cases with a metric's current clock in this state.
    #[serde(default)]
    pub sla: Option<SlaState>,
    /// The order; newest opened first when unset.
    #[serde(default)]
    pub sort: Option<CaseSort>,
}

impl CaseQuery {
    /// The page size to use: the default when unset, clamped to `1..=500`.
    pub fn effective_limit(&self) -> i64 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_LIMIT)
            .clamp(1, MAX_PAGE_LIMIT)
    }

    /// The offset to use: 0 when unset or negative.
    pub fn effective_offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

/// The state of an SLA clock as the list filters on it, the same word its
/// badge shows ([`crate::ui::format::sla_badges`]). Each metric (route,
/// first response, resolution, next update) counts with its current clock,
/// the one of its highest cycle; a case matches `sla=S` when at least one
/// metric's current clock is in state `S`. In order of precedence:
///
/// - `breached`: a breach is recorded on the clock, or it ended (stopped,
///   or paused) or is still running past its due instant;
/// - `met`: stopped (the metric was met, or the case ended) in time;
/// - `paused`: waiting on the customer, paused in time;
/// - `running`: counting, not yet due.
///
/// The due instant already counts the calendar's working time and the
/// finished pauses, so "past its due instant" is "more working time used
/// than the target" read off one stored column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// Counting, not yet due.
    Running,
    /// Waiting on the customer.
    Paused,
    /// Missed.
    Breached,
    /// Stopped in time.
    Met,
}

impl SlaState {
    /// Every state, in the order the filter offers them.
    pub const ALL: [SlaState; 4] = [Self::Breached, Self::Running, Self::Paused, Self::Met];

    /// The state's word, as in the query string and on the badge.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Breached => "breached",
            Self::Met => "met",
        }
    }
}

impl std::str::FromStr for SlaState {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, UnknownValue> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownValue::new("sla", text, &Self::ALL.map(Self::as_str)))
    }
}

/// The order of the case list. Ties go newest case first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    /// Newest opened first (the case number, descending).
    #[default]
    Newest,
    /// Oldest opened first.
    Oldest,
    /// Most recently reported first.
    LastSeen,
    /// Most distinct vehicles first.
    Vehicles,
    /// Most reports first.
    Reports,
    /// Most severe first (major, minor, unassessed).
    Severity,
}

impl CaseSort {
    /// Every order, as the sort control offers them.
    pub const ALL: [CaseSort; 6] = [
        Self::Newest,
        Self::Oldest,
        Self::LastSeen,
        Self::Vehicles,
        Self::Reports,
        Self::Severity,
    ];

    /// The order's name in the query string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::LastSeen => "last_seen",
            Self::Vehicles => "vehicles",
            Self::Reports => "reports",
            Self::Severity => "severity",
        }
    }

    /// The order as the sort control names it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Newest => "Newest opened",
            Self::Oldest => "Oldest opened",
            Self::LastSeen => "Last reported",
            Self::Vehicles => "Most vehicles",
            Self::Reports => "Most reports",
            Self::Severity => "Most severe",
        }
    }
}

impl std::str::FromStr for CaseSort {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, UnknownValue> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownValue::new("sort", text, &Self::ALL.map(Self::as_str)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_orders_parse_their_names_and_refuse_others_naming_the_allowed() {
        for s in SlaState::ALL {
            assert_eq!(s.as_str().parse::<SlaState>(), Ok(s));
        }
        for s in CaseSort::ALL {
            assert_eq!(s.as_str().parse::<CaseSort>(), Ok(s));
        }
        assert_eq!(
            "late".parse::<SlaState>().unwrap_err().to_string(),
            "sla: \"late\" is not one of breached, running, paused, met"
        );
        assert_eq!(
            "name".parse::<CaseSort>().unwrap_err().to_string(),
            "sort: \"name\" is not one of newest, oldest, last_seen, vehicles, reports, severity"
        );
    }
}
