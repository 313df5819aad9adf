//! The case list's filters form: its query string read into the store's
//! [`CaseQuery`] (checked as the API checks its own), and drawn back as the
//! form's choices with the current ones selected.

use serde::Deserialize;

use qloop_models::Hazard;

use crate::{
    api::{cases::ListCasesParams, error::ApiError},
    domain::{fields::allowed_categories, hazard, CaseStatus, Severity, UnknownValue},
    views::{CaseQuery, CaseSort, SlaState},
};

/// The page sizes the form offers (and the one in use, when another).
const PAGE_SIZES: [i64; 4] = [25, 50, 100, 200];

/// The query string of `GET /ui/cases` as the filters form sends it: every
/// field is text, and an empty one is no filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListForm {
    /// A status, e.g. `new`.
    pub status: Option<String>,
    /// A category of the taxonomy, `untriaged` or `needs_human_triage`.
    pub category: Option<String>,
    /// `major`, `minor` or `unassessed`.
    pub severity: Option<String>,
    /// A hazard's name, e.g. `loss_of_braking`, or `none`.
    pub hazard: Option<String>,
    /// A vehicle model, any case and spacing.
    pub model: Option<String>,
    /// Text of a software version, e.g. `2.4`.
    pub software: Option<String>,
    /// `yes` or `no`.
    pub emerging: Option<String>,
    /// An SLA state: `breached`, `running`, `paused` or `met`.
    pub sla: Option<String>,
    /// An order, e.g. `last_seen`.
    pub sort: Option<String>,
    /// Page size, 1 to 500.
    pub limit: Option<String>,
    /// Cases to skip.
    pub offset: Option<String>,
}

/// A field's text, trimmed; `None` when absent or blank.
fn given(field: &Option<String>) -> Option<String> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A named value parsed by its kind's own rule; an unknown one is a 400
/// that names the allowed values.
fn named<T: std::str::FromStr<Err = UnknownValue>>(
    field: &Option<String>,
) -> Result<Option<T>, ApiError> {
    given(field)
        .map(|text| text.parse::<T>())
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// A whole number, or a 400 naming the field.
fn number(field: &Option<String>, name: &str) -> Result<Option<i64>, ApiError> {
    given(field)
        .map(|text| {
            text.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("{name} must be a whole number, got {text:?}"))
            })
        })
        .transpose()
}

impl ListForm {
    /// The store's query. Status, severity, hazard, category and paging
    /// are checked by the API's own [`ListCasesParams`]; the UI's further
    /// filters by their kinds' parsers.
    pub fn to_query(&self, taxonomy: &qloop_models::Taxonomy) -> Result<CaseQuery, ApiError> {
        let params = ListCasesParams {
            status: named::<CaseStatus>(&self.status)?,
            category: given(&self.category),
            severity: named::<Severity>(&self.severity)?,
            hazard: given(&self.hazard),
            limit: number(&self.limit, "limit")?,
            offset: number(&self.offset, "offset")?,
        };
        let emerging = match given(&self.emerging).as_deref() {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(other) => {
                let refusal = UnknownValue::new("emerging", other, &["yes", "no"]);
                return Err(ApiError::BadRequest(refusal.to_string()));
            }
        };
        Ok(CaseQuery {
            model: given(&self.model),
            software: given(&self.software),
            emerging,
            sla: named::<SlaState>(&self.sla)?,
            sort: named::<CaseSort>(&self.sort)?,
            ..params.into_query(taxonomy)?
        })
    }
}

/// The query string of `q` (its filters and order, and `offset`): the
/// address of the list as it is, or of another page of it.
pub fn list_href(q: &CaseQuery, offset: i64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let texts = [
        ("status", &q.status),
        ("category", &q.category),
        ("severity", &q.severity),
        ("hazard", &q.hazard),
        ("model", &q.model),
        ("software", &q.software),
    ];
    for (name, value) in texts {
        if let Some(v) = value {
            pairs.push((name, v.clone()));
        }
    }
    if let Some(e) = q.emerging {
        pairs.push(("emerging", if e { "yes" } else { "no" }.into()));
    }
    if let Some(s) = q.sla {
        pairs.push(("sla", s.as_str().into()));
    }
    if let Some(s) = q.sort.filter(|s| *s != CaseSort::default()) {
        pairs.push(("sort", s.as_str().into()));
    }
    if let Some(l) = q.limit {
        pairs.push(("limit", l.to_string()));
    }
    if offset > 0 {
        pairs.push(("offset", offset.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/ui/cases".into()
    } else {
        format!("/ui/cases?{query}")
    }
}

/// One option of a select.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// The text shown.
    pub label: String,
    /// Whether it is the current one.
    pub selected: bool,
}

/// Names that are their own labels, as `(value, label)`.
fn named_pairs<'a>(names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    names.iter().map(|n| (*n, *n)).collect()
}

/// The options `values` (value, label), the one equal to `current` selected.
fn choices<'a>(
    values: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: Option<&str>,
) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.to_string(),
            label: label.to_string(),
            selected: current == Some(value),
        })
        .collect()
}

/// The filters form as drawn: every select's options and the text fields'
/// values, as the current query has them.
#[derive(Debug, Clone)]
pub struct FilterForm {
    /// Statuses.
    pub status: Vec<Choice>,
    /// Categories.
    pub category: Vec<Choice>,
    /// Severities.
    pub severity: Vec<Choice>,
    /// Hazards, in words, and "none named".
    pub hazard: Vec<Choice>,
    /// The model typed.
    pub model: String,
    /// The software version typed.
    pub software: String,
    /// Yes or no.
    pub emerging: Vec<Choice>,
    /// SLA states.
    pub sla: Vec<Choice>,
    /// Orders (no "any": newest first is the default).
    pub sort: Vec<Choice>,
    /// Page sizes.
    pub limit: Vec<Choice>,
}

impl FilterForm {
    /// The form for `q`.
    pub fn new(q: &CaseQuery, taxonomy: &qloop_models::Taxonomy) -> Self {
        let sort = q.sort.unwrap_or_default().as_str();
        let limit = q.effective_limit();
        let mut sizes: Vec<i64> = PAGE_SIZES.to_vec();
        if !sizes.contains(&limit) {
            sizes.push(limit);
            sizes.sort_unstable();
        }
        let sizes: Vec<String> = sizes.iter().map(i64::to_string).collect();
        let limit = limit.to_string();
        Self {
            status: choices(named_pairs(CaseStatus::NAMES), q.status.as_deref()),
            category: choices(
                named_pairs(&allowed_categories(taxonomy)),
                q.category.as_deref(),
            ),
            severity: choices(named_pairs(Severity::NAMES), q.severity.as_deref()),
            hazard: choices(
                Hazard::ALL
                    .map(|h| (h.name(), h.label()))
                    .into_iter()
                    .chain([(hazard::NONE, "none named")]),
                q.hazard.as_deref(),
            ),
            model: q.model.clone().unwrap_or_default(),
            software: q.software.clone().unwrap_or_default(),
            emerging: choices(
                [("yes", "Emerging"), ("no", "Not emerging")],
                q.emerging.map(|e| if e { "yes" } else { "no" }),
            ),
            sla: choices(
                SlaState::ALL.map(|s| (s.as_str(), s.as_str())),
                q.sla.map(SlaState::as_str),
            ),
            sort: choices(CaseSort::ALL.map(|s| (s.as_str(), s.label())), Some(sort)),
            limit: choices(
                sizes.iter().map(|s| (s.as_str(), s.as_str())),
                Some(limit.as_str()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ListForm {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn blank_fields_are_no_filter_and_the_address_round_trips() {
        let taxonomy = qloop_models::Taxonomy::default_taxonomy();
        let q = form(&[
            ("status", ""),
            ("severity", "major"),
            ("hazard", "loss_of_braking"),
            ("model", " model 3 "),
            ("emerging", "yes"),
            ("sla", "breached"),
            ("sort", "vehicles"),
            ("offset", "50"),
        ])
        .to_query(&taxonomy)
        .unwrap();
        assert_eq!(q.status, None);
        assert_eq!(q.severity.as_deref(), Some("major"));
        assert_eq!(q.hazard.as_deref(), Some("loss_of_braking"));
        assert_eq!(q.model.as_deref(), Some("model 3"));
        assert_eq!((q.emerging, q.sla), (Some(true), Some(SlaState::Breached)));
        let href = list_href(&q, 100);
        assert_eq!(
            href,
            "/ui/cases?severity=major&hazard=loss_of_braking&model=model+3&emerging=yes&sla=breached&sort=vehicles&offset=100"
        );
        let again: ListForm = serde_urlencoded::from_str(href.split_once('?').unwrap().1).unwrap();
        assert_eq!(again.to_query(&taxonomy).unwrap().offset, Some(100));
    }

    #[test]
    fn unknown_values_are_refused_naming_the_allowed_ones() {
        let taxonomy = qloop_models::Taxonomy::default_taxonomy();
        let refused =
            |pairs: &[(&str, &str)]| form(pairs).to_query(&taxonomy).unwrap_err().to_string();
        assert!(refused(&[("status", "open")]).starts_with("status: \"open\" is not one of new, "));
        assert!(refused(&[("hazard", "brakes")])
            .starts_with("hazard: \"brakes\" is not one of loss_of_braking, "));
        assert_eq!(
            refused(&[("emerging", "maybe")]),
            "emerging: \"maybe\" is not one of yes, no"
        );
        assert!(refused(&[("limit", "0")]).starts_with("limit must be between 1 and 500"));
        assert_eq!(
            refused(&[("offset", "x")]),
            "offset must be a whole number, got \"x\""
        );
    }
}
