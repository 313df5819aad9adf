//! `/ui/known-issues/{id}`: a recall, service bulletin or closed case as
//! knowledge: its defect, consequence and remedy, what it concerns, its
//! dates, and the cases whose reports matched it.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
    Extension,
};
use qloop_knowledge::{DocKind, IndexDoc, KnowledgeIndex};

use super::years;
use crate::{
    api::{error::ApiError, ApiState},
    store::{knowledge::MatchingCase, ui_sessions::UiSession},
    ui::{
        format::{when, when_opt},
        page::{render, Chrome, Section, UiError},
        Htmx,
    },
};

/// The known issue's body.
#[derive(Template)]
#[template(path = "known_issue_partial.html")]
struct KnownIssuePartial {
    issue: KnownIssueView,
}

/// The known-issue page.
#[derive(Template)]
#[template(path = "known_issue.html")]
struct KnownIssuePage {
    chrome: Chrome,
    issue: KnownIssueView,
}

/// A known issue as the page shows it.
struct KnownIssueView {
    id: String,
    title: String,
    /// The defect: what is wrong.
    defect: String,
    consequence: Option<String>,
    remedy: Option<String>,
    containment: Option<String>,
    /// The component (NHTSA component group) or category.
    component: Option<String>,
    make: Option<String>,
    models: String,
    years: Option<String>,
    status: Option<String>,
    reported: String,
    /// Where it was imported from and when (`None` for a closed case the
    /// index made into knowledge).
    imported: Option<(String, String)>,
    /// The case a closed case's knowledge came from.
    from_case: Option<i64>,
    matches: Vec<MatchView>,
}

/// A case whose reports matched the issue.
struct MatchView {
    case_id: i64,
    title: String,
    status: String,
    score: String,
    found: String,
}

/// `GET /ui/known-issues/{id}`: 404 when neither the database nor the
/// index knows it.
pub async fn show(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    index: Option<Extension<Arc<KnowledgeIndex>>>,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let (doc, imported) = match state.store.known_issue(&id).await? {
        Some(stored) => (
            stored.doc,
            Some((stored.source, when(stored.imported_at_ms))),
        ),
        None => (indexed_known_issue(index, &id).await?, None),
    };
    let matches = state.store.cases_matching(&id).await?;
    let issue = view(doc, imported, matches);
    Ok(if htmx {
        render(&KnownIssuePartial { issue })
    } else {
        render(&KnownIssuePage {
            chrome: Chrome::new(&session, Section::Search),
            issue,
        })
    })
}

/// A known issue only the index holds (a closed case turned into knowledge).
async fn indexed_known_issue(
    index: Option<Extension<Arc<KnowledgeIndex>>>,
    id: &str,
) -> Result<IndexDoc, ApiError> {
    let not_found = || ApiError::NotFound(format!("known issue {id:?}"));
    let Some(Extension(index)) = index else {
        return Err(not_found());
    };
    let key = id.to_string();
    let doc = tokio::task::spawn_blocking(move || index.get(&key))
        .await
        .map_err(|e| ApiError::Internal(format!("index lookup failed: {e}")))?
        .map_err(|e| ApiError::Internal(format!("index lookup: {e}")))?;
    doc.filter(|d| d.kind == Some(DocKind::KnownIssue))
        .ok_or_else(not_found)
}

fn view(
    doc: IndexDoc,
    imported: Option<(String, String)>,
    matches: Vec<MatchingCase>,
) -> KnownIssueView {
    let from_case = doc
        .id
        .strip_prefix("case-")
        .and_then(|rest| rest.strip_suffix("-closed"))
        .and_then(|n| n.parse().ok());
    KnownIssueView {
        title: if doc.title.is_empty() {
            doc.id.clone()
        } else {
            doc.title.clone()
        },
        defect: doc.text,
        consequence: doc.consequence,
        remedy: doc.remedy,
        containment: doc.containment,
        component: doc.category,
        make: doc.make,
        models: doc.models.join(", "),
        years: years(&doc.years),
        status: doc.status,
        reported: when_opt(doc.date_ms),
        imported,
        from_case,
        matches: matches
            .into_iter()
            .map(|m| MatchView {
                case_id: m.case_id,
                title: m.title,
                status: m.status,
                score: format!("{:.3}", m.score),
                found: when(m.found_at_ms),
            })
            .collect(),
        id: doc.id,
    }
}
