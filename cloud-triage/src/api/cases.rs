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
use crate::store::access::{Caller, Role};
use crate::{
    domain::{fields::check_category, CaseStatus, Severity},
    now_ms,
    store::{
        records::{CaseDetail, CaseQuery, CaseSummary, Page, MAX_PAGE_LIMIT},
        CaseUpdate,
    },
};

/// Query parameters of the case listing. An unknown status or severity, or
/// a category outside the taxonomy, is a 400 that names the allowed values.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCasesParams {
    /// Only cases in this status, e.g. `new`.
    pub status: Option<CaseStatus>,
    /// Only cases of this category, e.g. `untriaged`.
    pub category: Option<String>,
    /// Only cases of this severity, e.g. `unassessed`.
    pub severity: Option<Severity>,
    /// Page size, 1 to 500; default 50.
    pub limit: Option<i64>,
    /// Cases to skip, 0 or more; default 0.
    pub offset: Option<i64>,
}

impl ListCasesParams {
    /// The store query, after checking the category and the paging bounds.
    fn into_query(self, taxonomy: &qloop_models::Taxonomy) -> Result<CaseQuery, ApiError> {
        if let Some(category) = &self.category {
            check_category(category, taxonomy).map_err(|e| ApiError::BadRequest(e.to_string()))?;
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
            limit: self.limit,
            offset: self.offset,
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
        (status = 400, description = "A malformed or out-of-range parameter, or an unknown status, severity or category (the allowed values named)", body = ErrorBody),
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

/// Changes a case's status, routing or 8D fields; each change lands in its history.
#[utoipa::path(
    patch,
    path = "/api/cases/{id}",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = CaseUpdate,
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
    ApiJson(mut update): ApiJson<CaseUpdate>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        update.actor = c.name;
    }
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

/// Body of `POST /api/cases/{id}/merge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// Who merges (an engineer's name).
    /// Over HTTP the caller\'s token name is recorded instead.
    #[serde(default)]
    pub actor: String,
    /// The case that takes this case's occurrences.
    pub into: i64,
}

/// Body of `POST /api/cases/{id}/split`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// Who splits (an engineer's name).
    /// Over HTTP the caller\'s token name is recorded instead.
    #[serde(default)]
    pub actor: String,
    /// Feedback of this case that belong to a different issue.
    pub feedback_ids: Vec<uuid::Uuid>,
}

fn not_found_as_404(id: i64) -> impl Fn(crate::store::StoreError) -> ApiError {
    move |e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound(format!("case {id}")),
        other => other.into(),
    }
}

/// Merges this case into another (same issue reported as two cases): its
/// occurrences and knowledge matches move, it becomes `merged`, both
/// histories record it.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/merge",
    tag = "cases",
    params(("id" = i64, Path, description = "The case merged away")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The case that took the occurrences", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "Either case does not exist", body = ErrorBody),
        (status = 422, description = "Same case, or a closed, cancelled or merged case", body = ErrorBody),
    )
)]
pub async fn merge_case(
    State(state): State<ApiState>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<MergeRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    state
        .store
        .merge_cases(id, req.into, &req.actor, now_ms())
        .await
        .map_err(not_found_as_404(id))?;
    state
        .store
        .get_case(req.into)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("case {}", req.into)))
}

/// Splits feedback that belong to another issue out of this case into a new case.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/split",
    tag = "cases",
    params(("id" = i64, Path, description = "The case split")),
    request_body = SplitRequest,
    responses(
        (status = 201, description = "The new case", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "A feedback not in this case, none named, or none left", body = ErrorBody),
    )
)]
pub async fn split_case(
    State(state): State<ApiState>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<SplitRequest>,
) -> Result<(axum::http::StatusCode, Json<CaseDetail>), ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    let new_id = state
        .store
        .split_case(id, &req.feedback_ids, &req.actor, now_ms())
        .await
        .map_err(not_found_as_404(id))?;
    let case = state
        .store
        .get_case(new_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("case {new_id}")))?;
    Ok((axum::http::StatusCode::CREATED, Json(case)))
}

fn policy_of(
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
) -> crate::policy::Policy {
    policy.map(|p| (*p.0).clone()).unwrap_or_default()
}

/// Moves a case through its lifecycle (8D): `{"to": STATE, "actor": …,
/// "message"?, "reason"?, …fields}`. A transition that is not allowed from the
/// case's status, or lacks a required field, is refused with 422 naming it.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/transition",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = crate::store::lifecycle::Transition,
    responses(
        (status = 200, description = "The case in its new status", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Not allowed from this status, or required fields missing (named)", body = ErrorBody),
    )
)]
pub async fn transition_case(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut t): ApiJson<crate::store::lifecycle::Transition>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        t.actor = c.name;
    }
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .transition(id, &t, &policy, now_ms())
            .await
            .map_err(not_found_as_404(id))?,
    ))
}

/// Body of `POST /api/cases/{id}/satisfaction`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionRequest {
    /// Who reports it (`driver`, or the agent who called).
    /// Over HTTP the caller\'s token name is recorded instead.
    #[serde(default)]
    pub actor: String,
    /// 1 (very unhappy) to 5 (very happy).
    pub score: i64,
    /// What the driver said.
    pub comment: Option<String>,
}

/// The driver's satisfaction after resolution: closes the case when
/// satisfied, reopens it when not.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/satisfaction",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = SatisfactionRequest,
    responses(
        (status = 200, description = "The case, closed or reopened", body = CaseDetail),
        (status = 400, description = "The id or the body is malformed", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Score out of range, or the case is not resolved", body = ErrorBody),
    )
)]
pub async fn record_satisfaction(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut req): ApiJson<SatisfactionRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    if let Some(axum::Extension(c)) = caller {
        req.actor = c.name;
    }
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .record_satisfaction(
                id,
                req.score,
                req.comment.as_deref(),
                &req.actor,
                &policy,
                now_ms(),
            )
            .await
            .map_err(not_found_as_404(id))?,
    ))
}

/// Body of `POST /api/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `operator`, `engineer` or `admin`.
    pub role: Role,
    /// Whose token (recorded as the actor of their changes).
    pub name: String,
}

/// A token, shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Its role.
    pub role: Role,
    /// Its name.
    pub name: String,
}

/// Makes an API token (admins only).
#[utoipa::path(
    post,
    path = "/api/tokens",
    tag = "access",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "The token, shown once", body = TokenCreated),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "A bad role or name", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(axum::http::StatusCode, Json<TokenCreated>), ApiError> {
    let token = state
        .store
        .create_token(req.role, &req.name, now_ms())
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(TokenCreated {
            token,
            role: req.role,
            name: req.name.trim().to_string(),
        }),
    ))
}

/// Body of `POST /api/cases/{id}/message`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// What the driver is told.
    pub message: String,
}

/// Sends the cars that reported the case an update (no status change);
/// restarts the next-update SLA clock.
#[utoipa::path(
    post,
    path = "/api/cases/{id}/message",
    tag = "cases",
    params(("id" = i64, Path, description = "Case number")),
    request_body = UpdateRequest,
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 422, description = "Empty message, or the case takes no updates in its status", body = ErrorBody),
    )
)]
pub async fn send_update(
    State(state): State<ApiState>,
    policy: Option<axum::Extension<std::sync::Arc<crate::policy::Policy>>>,
    caller: Option<axum::Extension<Caller>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    let actor = caller.map_or_else(|| "api".to_string(), |c| c.0.name);
    let policy = policy_of(policy);
    Ok(Json(
        state
            .store
            .send_update(id, &req.message, &actor, &policy, now_ms())
            .await
            .map_err(not_found_as_404(id))?,
    ))
}
