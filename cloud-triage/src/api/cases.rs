//! `GET /api/cases` (filtered, paged listing), `GET /api/cases/{id}` and
//! `PATCH /api/cases/{id}` (engineers working the case).

use axum::{extract::State, Json};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    ApiState,
};
use crate::store::access::Caller;
use crate::{
    app::patch::CaseUpdate,
    domain::{fields::check_category, hazard::parse_filter, CaseStatus, Severity},
    now_ms,
    views::{CaseDetail, CaseQuery, CaseSummary, Page, MAX_PAGE_LIMIT},
};

/// Query parameters of the case listing. An unknown status, severity or
/// hazard, or a category outside the taxonomy, is a 400 that names the
/// allowed values.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCasesParams {
    /// Only cases in this status, e.g. `new`.
    pub status: Option<CaseStatus>,
    /// Only cases of this category, e.g. `untriaged`.
    pub category: Option<String>,
    /// Only cases of this severity, e.g. `unassessed`.
    pub severity: Option<Severity>,
    /// Only cases naming this hazard, e.g. `loss_of_braking`; `none` for
    /// cases naming none.
    pub hazard: Option<String>,
    /// Page size, 1 to 500; default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Cases to skip, 0 or more; default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl ListCasesParams {
    /// The store query, after checking the category and the paging bounds
    /// (the web UI's case list checks its filters here too).
    pub(crate) fn into_query(
        self,
        taxonomy: &qloop_models::Taxonomy,
    ) -> Result<CaseQuery, ApiError> {
        if let Some(category) = &self.category {
            check_category(category, taxonomy).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        }
        if let Some(hazard) = &self.hazard {
            parse_filter(hazard).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        }
        if let Some(limit) = self.limit.filter(|l| !(1..=MAX_PAGE_LIMIT).contains(l)) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}"
            )));
        }
        if let Some(offset) = self.offset.filter(|o| *o < 0) {
            return Err(ApiError::BadRequest(format!(
                "offset must not be negative, got {offset}"
            )));
        }
        Ok(CaseQuery {
            status: self.status.map(|s| s.as_str().to_string()),
            category: self.category,
            severity: self.severity.map(|s| s.as_str().to_string()),
            hazard: self.hazard,
            limit: self.limit,
            offset: self.offset,
            ..CaseQuery::default()
        })
    }
}

/// Cases, newest first, filtered and paged.
#[utoipa::path(
    get,
    path = "/api/cases",
    tag = "cases",
    params(ListCasesParams),
    responses(
        (status = 200, description = "One page of cases", body = Page<CaseSummary>),
        (status = 400, description = "A malformed or out-of-range parameter, or an unknown status, severity, hazard or category (the allowed values named)", body = ErrorBody),
    )
)]
pub async fn list_cases(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<ListCasesParams>,
) -> Result<Json<Page<CaseSummary>>, ApiError> {
    let query = params.into_query(state.store.taxonomy())?;
    Ok(Json(state.store.list_cases(&query).await?))
}

/// One case with its 8D blocks, linked feedback and history.
#[utoipa::path(
    get,
    path = "/api/cases/{id}",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
    )
)]
pub async fn get_case(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CaseDetail>, ApiError> {
    state
        .store
        .get_case(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("case {id}")))
}

/// Body of `PATCH /api/cases/{id}`. Its schema in the document is
/// `contract`'s, which lists every editable field with its limits and the
/// taxonomy's categories; the store checks each field against the same list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    /// Ignored over HTTP: the caller's token name is recorded.
    #[serde(default)]
    pub actor: String,
    /// The case's `updated_at_ms` the caller last read; a different stored value is a conflict.
    pub expected_updated_at_ms: Option<i64>,
    /// Field name to new value, e.g. `{"department": "Chassis", "ica_due_ms": 1717000000000}`.
    #[schema(value_type = Object)]
    pub set: serde_json::Map<String, serde_json::Value>,
}

impl CasePatch {
    /// The store's update, made by `actor`.
    fn into_update(self, actor: String) -> CaseUpdate {
        CaseUpdate {
            actor,
            expected_updated_at_ms: self.expected_updated_at_ms,
            set: self.set,
        }
    }
}

/// Changes a case's status, routing or 8D fields; each change lands in its history.
#[utoipa::path(
    patch,
    path = "/api/cases/{id}",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = CasePatch,
    responses(
        (status = 200, description = "The case after the change", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The case changed since `expected_updated_at_ms`", body = ErrorBody),
        (status = 422, description = "An unknown field, a value of the wrong kind, or a severity or category that is none of the allowed ones (named)", body = ErrorBody),
    )
)]
pub async fn update_case(
    State(state): State<ApiState>,
    triage: Option<axum::Extension<crate::triage::Triage>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<CasePatch>,
) -> Result<Json<CaseDetail>, ApiError> {
    let actor = caller.map_or(patch.actor.clone(), |c| c.0.name);
    let update = patch.into_update(actor);
    let case = match state.store.update_case(id, &update, now_ms()).await {
        Err(crate::store::StoreError::NotFound) => {
            return Err(ApiError::NotFound(format!("case {id}")))
        }
        other => other?,
    };
    if let (Some(axum::Extension(triage)), Some(category)) =
        (triage, update.set.get("category").and_then(|v| v.as_str()))
    {
        learn_correction(&state, &triage, &case, category).await;
    }
    Ok(Json(case))
}

/// An engineer's category correction becomes labelled examples (stored, and
/// learned at once): each of the case's transcripts with the new category.
async fn learn_correction(
    state: &ApiState,
    triage: &crate::triage::Triage,
    case: &CaseDetail,
    category: &str,
) {
    if !triage.taxonomy().categories.contains_key(category) {
        return;
    }
    let mut examples = Vec::new();
    for fid in &case.feedback_ids {
        if let Ok(Some(f)) = state.store.get_feedback(*fid).await {
            if let Some(text) = f.transcript.filter(|t| !t.trim().is_empty()) {
                examples.push((format!("correction:{fid}"), text, category.to_string()));
            }
        }
    }
    for (_, text, category) in &examples {
        if let Err(e) = triage.learn(text, category).await {
            tracing::warn!(error = %e, "could not learn a correction");
        }
    }
    if let Err(e) = state
        .store
        .save_labelled(&examples, "correction", now_ms())
        .await
    {
        tracing::warn!(error = %e, "could not store a correction as a labelled example");
    }
}

/// Maps the store's "not found" to a 404 that names case `id`.
pub(super) fn not_found_as_404(id: i64) -> impl Fn(crate::store::StoreError) -> ApiError {
    move |e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound(format!("case {id}")),
        other => other.into(),
    }
}

/// The service's policy, or the default one when none was installed.
pub(super) fn policy_of(
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
) -> crate::policy::Policy {
    policy.map(|p| (*p.0).clone()).unwrap_or_default()
}
