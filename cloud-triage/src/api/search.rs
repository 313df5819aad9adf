//! `GET /api/search`: the knowledge index (known issues, cases, feedback)
//! with filters, facets, highlights and paging. Unknown parameters, query
//! syntax errors and over-long queries are 400s that say what was wrong.

use std::sync::Arc;

use axum::{Extension, Json};
use qloop_knowledge::{
    eval::Mode, DocKind, Filters, KnowledgeError, KnowledgeIndex, SearchRequest,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};

/// Most hits skipped: `offset + limit` stays within the index's window
/// ([`qloop_knowledge::search::MAX_WINDOW`]) whatever the page size.
const MAX_OFFSET: usize = 9_900;

/// What kind of document to search.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    /// Known issues (recalls, service bulletins).
    KnownIssue,
    /// Cases.
    Case,
    /// Driver feedback.
    Feedback,
}

/// How hits are ranked.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Words only (BM25).
    Bm25,
    /// Embeddings only.
    Embedding,
    /// Both, fused.
    Hybrid,
}

/// Query parameters; any other parameter is refused. A query that does not
/// parse, or a range whose start is after its end, is a 400 too: those
/// rules the schema cannot state.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What to look for (tantivy query syntax; plain words are ranked by BM25), at most 1000 characters.
    #[param(max_length = 1000)]
    pub q: String,
    /// The kind of document.
    #[param(inline)]
    pub kind: Option<SearchKind>,
    /// Category.
    pub category: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Manufacturer.
    pub make: Option<String>,
    /// Vehicle model.
    pub model: Option<String>,
    /// Earliest model year, 1900 to 2100.
    #[param(minimum = 1900, maximum = 2100)]
    pub year_from: Option<u16>,
    /// Latest model year, 1900 to 2100.
    #[param(minimum = 1900, maximum = 2100)]
    pub year_to: Option<u16>,
    /// Software version.
    pub software: Option<String>,
    /// Diagnostic trouble code.
    pub dtc: Option<String>,
    /// On or after this date, `YYYY-MM-DD`, 1900 to 2100.
    #[param(format = Date, pattern = "^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub date_from: Option<String>,
    /// On or before this date, `YYYY-MM-DD`, 1900 to 2100.
    #[param(format = Date, pattern = "^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub date_to: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// Hits to skip, 0 to 9900 (default 0).
    #[param(minimum = 0, maximum = 9900)]
    pub offset: Option<usize>,
    /// Ranking (default: hybrid when this service has embeddings, else bm25).
    #[param(inline)]
    pub mode: Option<SearchMode>,
}

/// `YYYY-MM-DD`, a real calendar date in 1900..=2100, as Unix ms; `None` otherwise.
pub(crate) fn strict_date_ms(d: &str) -> Option<i64> {
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    let (y, m, day): (u32, u32, u32) = (
        d[..4].parse().ok()?,
        d[5..7].parse().ok()?,
        d[8..].parse().ok()?,
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=days).contains(&day) {
        return None;
    }
    qloop_knowledge::import::date_ms(d)
}

impl SearchParams {
    fn request(self) -> Result<(SearchRequest, Option<Mode>), ApiError> {
        let mode = self.mode.map(|m| match m {
            SearchMode::Bm25 => Mode::Bm25,
            SearchMode::Embedding => Mode::Embedding,
            SearchMode::Hybrid => Mode::Hybrid,
        });
        Ok((self.search_request()?, mode))
    }

    fn search_request(self) -> Result<SearchRequest, ApiError> {
        if let Some(offset) = self.offset.filter(|o| *o > MAX_OFFSET) {
            return Err(ApiError::BadRequest(format!(
                "offset must be at most {MAX_OFFSET}, got {offset}"
            )));
        }
        let kind = self.kind.map(|k| match k {
            SearchKind::KnownIssue => DocKind::KnownIssue,
            SearchKind::Case => DocKind::Case,
            SearchKind::Feedback => DocKind::Feedback,
        });
        let date = |name: &str, d: Option<String>| {
            d.map(|d| {
                strict_date_ms(&d).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "{name} {d:?} is not a YYYY-MM-DD date in 1900..=2100"
                    ))
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
    let Some(Extension(index)) = index else {
        return Err(ApiError::Unavailable(
            "no knowledge index in this service".into(),
        ));
    };
    run_search(index, vectors.map(|Extension(v)| v), params)
        .await
        .map(Json)
}

/// Runs a search as `GET /api/search` does (the web UI's search page too):
/// BM25 when asked or when there are no embeddings, else the requested
/// mode (hybrid by default); bad queries and filters are 400s.
pub async fn run_search(
    index: Arc<KnowledgeIndex>,
    vectors: Option<Arc<crate::knowledge::Vectors>>,
    params: SearchParams,
) -> Result<qloop_knowledge::SearchResults, ApiError> {
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
        (mode, Some(vectors)) => {
            vectors
                .search(&index, &req, mode.unwrap_or(Mode::Hybrid))
                .await
        }
    };
    results.map_err(|e| match e {
        e if e.is_bad_request() => ApiError::BadRequest(e.to_string()),
        KnowledgeError::Index(e) => ApiError::Internal(format!("search index: {e}")),
        e => ApiError::Internal(e.to_string()),
    })
}
