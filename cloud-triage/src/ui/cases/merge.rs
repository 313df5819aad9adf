//! `POST /ui/cases/bulk-merge` (fields `ids`, repeated, and `into`): each
//! selected case is merged into case `into` through the merge use case
//! ([`crate::store::Store::merge_cases`]) as `POST /api/cases/{id}/merge`
//! does, one at a time; the answer lists what became of each. Who may do
//! it is that API route's rule (the session layer maps this route to it).

use askama::Template;
use axum::{
    extract::{Form, State},
    http::{HeaderValue, StatusCode},
    response::Response,
    Extension,
};

use super::{page_with_report, Htmx};
use crate::{
    api::{error::ApiError, ApiState},
    now_ms,
    store::{ui_sessions::UiSession, Store, StoreError},
    ui::page::{render, UiError},
    views::CaseQuery,
};

/// The event htmx raises on the page after a merge that moved something
/// (`static/cases.js` clears the selection and reloads the rows).
const MERGED_EVENT: &str = "cases-merged";

/// What became of one selected case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeResult {
    /// The case selected.
    pub id: i64,
    /// Whether it was merged.
    pub merged: bool,
    /// What happened, or why it was refused.
    pub message: String,
}

/// The answer to a bulk merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// The case merged into, once the form named one.
    pub into: Option<i64>,
    /// Why nothing was tried (no case selected, no target, no such target).
    pub refusal: Option<String>,
    /// Each selected case's outcome, in the order selected.
    pub results: Vec<MergeResult>,
    /// How many were merged.
    pub merged: usize,
}

impl MergeReport {
    fn refused(into: Option<i64>, why: impl Into<String>) -> Self {
        Self {
            into,
            refusal: Some(why.into()),
            ..Self::default()
        }
    }
}

/// The merge's report alone, for htmx.
#[derive(Template)]
#[template(path = "cases_merge.html")]
struct MergePartial {
    merge: MergeReport,
}

/// The form as sent: the selected case numbers (each once, in order) and
/// the target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MergeForm {
    ids: Vec<i64>,
    into: i64,
}

/// A case number as typed, `#12` or `12`.
fn case_number(text: &str) -> Option<i64> {
    text.trim().trim_start_matches('#').trim().parse().ok()
}

/// Reads the form's fields, or says what is missing.
fn read_form(fields: &[(String, String)]) -> Result<MergeForm, MergeReport> {
    let into_text = fields
        .iter()
        .find(|(k, _)| k == "into")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let into = case_number(into_text);
    let mut ids = Vec::new();
    for (_, value) in fields.iter().filter(|(k, _)| k == "ids") {
        let id = case_number(value).ok_or_else(|| {
            MergeReport::refused(into, format!("{value:?} is not a case number."))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(MergeReport::refused(
            into,
            "Select at least one case to merge.",
        ));
    }
    let into = into
        .ok_or_else(|| MergeReport::refused(None, "Name the case to merge into by its number."))?;
    Ok(MergeForm { ids, into })
}

/// Merges each selected case into the target, as `actor`. A refusal of one
/// case (not found, closed, the target itself) is its result; a failure
/// of the store is the request's.
async fn merge_each(store: &Store, form: &MergeForm, actor: &str) -> Result<MergeReport, UiError> {
    let into = form.into;
    if store.get_case(into).await?.is_none() {
        return Ok(MergeReport::refused(
            Some(into),
            format!("There is no case #{into} to merge into."),
        ));
    }
    let mut report = MergeReport {
        into: Some(into),
        ..MergeReport::default()
    };
    for &id in &form.ids {
        let message = match store.merge_cases(id, into, actor, now_ms()).await {
            Ok(()) => None,
            Err(StoreError::NotFound) => Some(format!("case {id} not found")),
            Err(e) => match ApiError::from(e) {
                internal @ ApiError::Internal(_) => return Err(UiError(internal)),
                refused => Some(refused.to_string()),
            },
        };
        report.merged += usize::from(message.is_none());
        report.results.push(MergeResult {
            id,
            merged: message.is_none(),
            message: message.unwrap_or_else(|| format!("merged into #{into}")),
        });
    }
    Ok(report)
}

/// `POST /ui/cases/bulk-merge`: 200 with each case's outcome when at least
/// one was merged, else 422 with the reasons (htmx swaps both). Without
/// htmx, the whole list with the report above it.
pub(super) async fn bulk_merge(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    htmx: Htmx,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let report = match read_form(&fields) {
        Ok(form) => merge_each(&state.store, &form, &session.caller.name).await?,
        Err(refusal) => refusal,
    };
    let merged = report.merged > 0;
    let mut response = if htmx.0 {
        render(&MergePartial { merge: report })
    } else {
        page_with_report(&state, &session, &CaseQuery::default(), report).await?
    };
    if merged {
        response
            .headers_mut()
            .insert("hx-trigger", HeaderValue::from_static(MERGED_EVENT));
    } else {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_gives_each_selected_case_once_and_the_target() {
        let form = read_form(&fields(&[
            ("csrf", "x"),
            ("ids", "3"),
            ("ids", "#5"),
            ("ids", "3"),
            ("into", " #2 "),
        ]))
        .unwrap();
        assert_eq!(
            form,
            MergeForm {
                ids: vec![3, 5],
                into: 2
            }
        );
    }

    #[test]
    fn a_form_without_cases_or_target_is_refused_saying_what_is_missing() {
        let refusal =
            |pairs: &[(&str, &str)]| read_form(&fields(pairs)).unwrap_err().refusal.unwrap();
        assert_eq!(
            refusal(&[("into", "2")]),
            "Select at least one case to merge."
        );
        assert_eq!(
            refusal(&[("ids", "3"), ("into", "")]),
            "Name the case to merge into by its number."
        );
        assert_eq!(
            refusal(&[("ids", "three"), ("into", "2")]),
            "\"three\" is not a case number."
        );
    }
}
