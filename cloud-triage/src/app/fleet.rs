//! Steps the fleet use cases share, each inside the caller's transaction:
//! load through the store, decide with [`crate::domain::fleet`], write
//! through the store.

use qloop_knowledge::linking::{decide, LinkDecision, NewFeedback};
use sqlx::{Any, Transaction};

use crate::{
    domain::{
        fleet::{
            aggregates::{self, Report},
            candidates_since,
            emerging::{self, Emerging},
            severity_review,
            suggestions::{self, MatchView},
            DIM,
        },
        NotificationKind,
    },
    policy::Policy,
    store::{
        case_writes, emerging as emerging_rows, ingest, linking,
        reassessment::{self, Why},
        sla, CaseMatch, StoreError,
    },
};

type Tx = Transaction<'static, Any>;

/// The open case a new feedback joins under `policy`, if any: the store
/// fetches the candidates, `decide` judges them. The caller holds the
/// linking lock.
pub(crate) async fn find_case(
    tx: &mut Tx,
    policy: &Policy,
    new: &NewFeedback<'_>,
) -> Result<LinkDecision, StoreError> {
    let since = candidates_since(&policy.linking, new.at_ms);
    let open = linking::link_candidates(tx, since).await?;
    Ok(decide(&policy.linking, new, &open))
}

/// Recomputes a case's aggregates from its reports, and its centroid
/// `with_centroid`; returns the reports read.
pub(crate) async fn refresh_aggregates(
    tx: &mut Tx,
    case_id: i64,
    with_centroid: bool,
) -> Result<Vec<Report>, StoreError> {
    let reports = linking::case_reports(tx, case_id, with_centroid).await?;
    let a = aggregates::aggregate(case_id, &reports)?;
    linking::save_aggregates(tx, case_id, &a, with_centroid).await?;
    Ok(reports)
}

/// Adds one embedding to a case's centroid sum.
pub(crate) async fn add_to_centroid(
    tx: &mut Tx,
    case_id: i64,
    v: &[f32],
) -> Result<(), StoreError> {
    let mut sum = linking::centroid(tx, case_id)
        .await?
        .unwrap_or_else(|| vec![0.0; DIM]);
    aggregates::add_to_centroid(&mut sum, v);
    linking::save_centroid(tx, case_id, Some(&sum)).await
}

/// Writes the ICA and PCA suggested by the best known issue among `matches`.
pub(crate) async fn suggest_fixes(
    tx: &mut Tx,
    case_id: i64,
    matches: &[CaseMatch],
    policy: &Policy,
    at_ms: i64,
) -> Result<(), StoreError> {
    let views: Vec<_> = matches
        .iter()
        .map(|m| MatchView {
            doc_id: &m.doc_id,
            kind: m.kind,
            similarity: m.similarity,
            containment: m.containment.as_deref(),
            remedy: m.remedy.as_deref(),
        })
        .collect();
    let min = f64::from(policy.matches.suggest_min_similarity);
    for s in suggestions::suggest(&views, min) {
        ingest::write_suggestion(tx, case_id, &s, at_ms).await?;
    }
    Ok(())
}

/// Marks a case emerging when its `reports` come from enough distinct
/// vehicles within the policy's window up to `at_ms`: history, a severity
/// review over every report (escalating a major case on the one path), and
/// an `emerging_issue` event. Returns whether it became emerging now.
pub(crate) async fn check_emerging(
    tx: &mut Tx,
    policy: &Policy,
    case_id: i64,
    reports: &[Report],
    at_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let state = emerging_rows::state(tx, case_id).await?;
    let rule = &policy.emerging;
    let Some(found) = emerging::check(
        state.flagged,
        reports,
        at_ms,
        rule.min_vehicles,
        rule.window_days,
    ) else {
        return Ok(false);
    };
    emerging_rows::flag(tx, case_id, now_ms).await?;
    let summary = found.summary();
    case_writes::history(
        tx,
        case_id,
        now_ms,
        "triage",
        "emerging",
        None,
        Some(&summary),
    )
    .await?;
    let review = severity_review::review(&emerging_rows::report_evidence(tx, case_id).await?);
    if review.is_major() {
        let why = Emerging::escalation_reason(&review.reasons);
        reassessment::raise_to_major(tx, case_id, Why::same("triage", &why), &policy.sla, now_ms)
            .await?;
    }
    let severity = sla::assessed(tx, case_id).await?.0;
    let reviewed = Emerging::review_history(severity.as_str(), &review.reasons);
    case_writes::history(
        tx,
        case_id,
        now_ms,
        "triage",
        "severity_review",
        None,
        Some(&reviewed),
    )
    .await?;
    let payload = found.payload(case_id, &state.title, &state.category, severity.as_str());
    case_writes::notify(
        tx,
        NotificationKind::EmergingIssue,
        case_id,
        payload,
        now_ms,
    )
    .await?;
    Ok(true)
}
