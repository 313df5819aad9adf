//! `GET /api/search`: the knowledge index (known issues, cases, feedback)
//! with filters, facets, highlights and paging. Unknown parameters, query
//! syntax errors and over-long queries are 400s that say what was wrong.

use std::sync::Arc;

use axum::{Extension, Json};
use qloop_knowledge::{DocKind, Filters, KnowledgeError, KnowledgeIndex, SearchRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};

/// Query parameters; any other parameter is refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What to look for (tantivy query syntax; plain words are ranked by BM25).
    #[serde(default)]
    pub q: String,
    /// `known_issue`, `case` or `feedback`.
    pub kind: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Manufacturer.
    pub make: Option<String>,
    /// Vehicle model.
    pub model: Option<String>,
    /// Earliest model year.
    pub year_from: Option<u16>,
    /// Latest model year.
    pub year_to: Option<u16>,
    /// Software version.
    pub software: Option<String>,
    /// Diagnostic trouble code.
    pub dtc: Option<String>,
    /// On or after this date, `YYYY-MM-DD`.
    pub date_from: Option<String>,
    /// On or before this date, `YYYY-MM-DD`.
    pub date_to: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Page size, 1..=100 (default 10).
    pub limit: Option<usize>,
    /// Hits to skip (default 0).
    pub offset: Option<usize>,
    /// `bm25`, `embedding` or `hybrid` (default: hybrid when this service has embeddings).
    pub mode: Option<String>,
}

impl SearchParams {
    fn request(self) -> Result<(SearchRequest, Option<qloop_knowledge::eval::Mode>), ApiError> {
        let mode = self
            .mode
            .as_deref()
            .map(|m| crate::cmd::knowledge::parse_mode(m).map_err(ApiError::BadRequest))
            .transpose()?;
        Ok((self.search_request()?, mode))
    }

    fn search_request(self) -> Result<SearchRequest, ApiError> {
        let kind = self
            .kind
            .as_deref()
            .map(|k| {
                DocKind::parse(k).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "kind {k:?} is not one of known_issue, case, feedback"
                    ))
                })
            })
            .transpose()?;
        let date = |name: &str, d: Option<String>| {
            d.map(|d| {
                qloop_knowledge::import::date_ms(&d).ok_or_else(|| {
                    ApiError::BadRequest(format!("{name} {d:?} is not a YYYY-MM-DD date"))
                })
            })
            .transpose()
        };
        Ok(SearchRequest {
            q: self.q,
            filters: Filters {
                kind,
                category: self.category,
                severity: self.severity,
                make: self.make,
                model: self.model,
                year_from: self.year_from,
                year_to: self.year_to,
                software: self.software,
                dtc: self.dtc,
                date_from_ms: date("date_from", self.date_from)?,
                date_to_ms: date("date_to", self.date_to)?,
                status: self.status,
            },
            limit: self.limit.unwrap_or(10),
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// Search known issues, cases and feedback.
#[utoipa::path(
    get,
    path = "/api/search",
    tag = "search",
    params(SearchParams),
    responses(
        (status = 200, description = "Hits, total and facets", content_type = "application/json"),
        (status = 400, description = "Unknown parameter, bad filter, query syntax error or query too long", body = ErrorBody),
        (status = 503, description = "This service runs without a knowledge index", body = ErrorBody),
    )
)]
pub async fn search(
    index: Option<Extension<Arc<KnowledgeIndex>>>,
    vectors: Option<Extension<Arc<crate::knowledge::Vectors>>>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<qloop_knowledge::SearchResults>, ApiError> {
    use qloop_knowledge::eval::Mode;
    let Some(Extension(index)) = index else {
        return Err(ApiError::Unavailable(
            "no knowledge index in this service".into(),
        ));
    };
    let (req, mode) = params.request()?;
    let results = match (mode, vectors) {
        (Some(Mode::Bm25), _) | (None, None) => {
            tokio::task::spawn_blocking(move || index.search(&req))
                .await
                .map_err(|e| ApiError::Internal(format!("search task failed: {e}")))?
        }
        (Some(_), None) => {
            return Err(ApiError::Unavailable(
                "this service has no embeddings; use mode=bm25".into(),
            ))
        }
        (mode, Some(Extension(vectors))) => {
            vectors
                .search(&index, &req, mode.unwrap_or(Mode::Hybrid))
                .await
        }
    };
    results.map(Json).map_err(|e| match e {
        e if e.is_bad_request() => ApiError::BadRequest(e.to_string()),
        KnowledgeError::Index(e) => ApiError::Internal(format!("search index: {e}")),
        e => ApiError::Internal(e.to_string()),
    })
}
