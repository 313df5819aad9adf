//! Hybrid search: BM25 and embedding similarity fused by reciprocal rank,
//! with the same filters, facets (over the BM25 matches), highlights and
//! paging as BM25 alone.

use crate::{
    error::KnowledgeError,
    eval::{ranked_ids, Mode},
    index::KnowledgeIndex,
    search::{reciprocal_rank_fusion, SearchHit, SearchRequest, SearchResults, RRF_K},
    vectors::VectorIndex,
};

/// Searches with `mode`; the embedding and hybrid modes need the query's
/// embedding and the documents' vectors.
pub fn search(
    index: &KnowledgeIndex,
    vectors: &VectorIndex,
    req: &SearchRequest,
    query_vector: Option<&[f32]>,
    mode: Mode,
) -> Result<SearchResults, KnowledgeError> {
    req.validate()?;
    let (Mode::Embedding | Mode::Hybrid, Some(qv)) = (mode, query_vector) else {
        return index.search(req);
    };
    let facets_from = SearchRequest {
        limit: 1,
        offset: 0,
        ..req.clone()
    };
    let bm25 = index.search(&facets_from)?;
    let ranked: Vec<(String, f32)> = match mode {
        Mode::Hybrid => {
            let lexical = ranked_ids(index, Some(vectors), req, Some(qv), Mode::Bm25)?;
            let dense = ranked_ids(index, Some(vectors), req, Some(qv), Mode::Embedding)?;
            reciprocal_rank_fusion(&[lexical, dense], RRF_K)
        }
        _ => ranked_ids(index, Some(vectors), req, Some(qv), Mode::Embedding)?
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, 1.0 / (i as f32 + 1.0)))
            .collect(),
    };
    let mut page = Vec::new();
    for (id, score) in ranked.iter().skip(req.offset).take(req.limit) {
        if let Some(doc) = index.get(id)? {
            page.push((id, *score, doc));
        }
    }
    let texts: Vec<&str> = page.iter().map(|(_, _, d)| d.text.as_str()).collect();
    let highlights = index.highlights(&req.q, &texts)?;
    let hits = page
        .into_iter()
        .zip(highlights)
        .map(|((id, score, doc), highlight)| SearchHit {
            id: id.clone(),
            kind: doc.kind,
            title: doc.title.clone(),
            score,
            highlight,
            doc,
        })
        .collect();
    Ok(SearchResults {
        total: ranked.len(),
        offset: req.offset,
        limit: req.limit,
        hits,
        facets: bm25.facets,
    })
}
