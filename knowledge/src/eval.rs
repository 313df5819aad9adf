//! Retrieval quality: recall@5 and MRR of BM25 alone, embeddings alone and
//! their reciprocal-rank fusion, on labelled queries.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::{
    error::KnowledgeError,
    index::KnowledgeIndex,
    search::{reciprocal_rank_fusion, SearchRequest, RRF_K},
    vectors::VectorIndex,
};

/// How deep each ranker's list goes before fusion.
pub const FUSION_DEPTH: usize = 100;

/// One labelled query: what a driver said and the documents that answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledQuery {
    /// The words.
    pub q: String,
    /// Ids of every relevant document.
    pub relevant: Vec<String>,
    /// The driver's make, known from the VIN; used as a filter by every mode.
    #[serde(default)]
    pub make: Option<String>,
}

/// Reads JSON lines of [`LabelledQuery`].
pub fn parse_queries(text: &str) -> Result<Vec<LabelledQuery>, KnowledgeError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| KnowledgeError::Import {
                line: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// A ranker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// tantivy BM25.
    Bm25,
    /// Cosine similarity of embeddings.
    Embedding,
    /// Reciprocal-rank fusion of both.
    Hybrid,
}

/// Scores of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The ranker.
    pub mode: Mode,
    /// Queries scored.
    pub n: usize,
    /// Share of relevant documents found in the top 5, averaged over queries.
    pub recall_at_5: f64,
    /// Mean reciprocal rank of the first relevant document (0 when none in the top 100).
    pub mrr: f64,
}

/// Ids ranked by `mode` for one request; `query_vector` is needed for the
/// embedding and hybrid modes.
pub fn ranked_ids(
    index: &KnowledgeIndex,
    vectors: Option<&VectorIndex>,
    req: &SearchRequest,
    query_vector: Option<&[f32]>,
    mode: Mode,
) -> Result<Vec<String>, KnowledgeError> {
    let bm25 = || -> Result<Vec<String>, KnowledgeError> {
        Ok(index
            .bm25_ids(req, FUSION_DEPTH)?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    };
    let dense = || -> Result<Vec<String>, KnowledgeError> {
        let (Some(vectors), Some(qv)) = (vectors, query_vector) else {
            return Ok(Vec::new());
        };
        let has_filters = req.filters != crate::search::Filters::default();
        let allow: Option<HashSet<String>> = if has_filters {
            Some(index.filtered_ids(req)?)
        } else {
            None
        };
        Ok(vectors
            .top_k(qv, FUSION_DEPTH, allow.as_ref())
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    };
    Ok(match mode {
        Mode::Bm25 => bm25()?,
        Mode::Embedding => dense()?,
        Mode::Hybrid => reciprocal_rank_fusion(&[bm25()?, dense()?], RRF_K)
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    })
}

/// Recall@5 and MRR of `mode` over `queries` (`query_vectors[i]` belongs to `queries[i]`).
pub fn evaluate(
    index: &KnowledgeIndex,
    vectors: Option<&VectorIndex>,
    queries: &[LabelledQuery],
    query_vectors: Option<&[Vec<f32>]>,
    mode: Mode,
) -> Result<Metrics, KnowledgeError> {
    let (mut recall, mut rr) = (0.0, 0.0);
    for (i, lq) in queries.iter().enumerate() {
        let mut req = SearchRequest::new(lq.q.clone());
        req.filters.make = lq.make.clone();
        let qv = query_vectors.and_then(|v| v.get(i)).map(Vec::as_slice);
        let ranked = ranked_ids(index, vectors, &req, qv, mode)?;
        let (r, m) = score(&ranked, &lq.relevant);
        recall += r;
        rr += m;
    }
    let n = queries.len().max(1) as f64;
    Ok(Metrics {
        mode,
        n: queries.len(),
        recall_at_5: recall / n,
        mrr: rr / n,
    })
}

/// (recall@5, reciprocal rank) of one ranking.
pub fn score(ranked: &[String], relevant: &[String]) -> (f64, f64) {
    if relevant.is_empty() {
        return (0.0, 0.0);
    }
    let top5 = ranked
        .iter()
        .take(5)
        .filter(|id| relevant.contains(id))
        .count();
    let rr = ranked
        .iter()
        .position(|id| relevant.contains(id))
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0));
    (top5 as f64 / relevant.len().min(5) as f64, rr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_relevant_in_top_five_and_rr_is_the_first_hit() {
        let ranked: Vec<String> = ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
        assert_eq!(score(&ranked, &["c".into()]), (1.0, 1.0 / 3.0));
        assert_eq!(score(&ranked, &["f".into(), "b".into()]), (0.5, 0.5));
        assert_eq!(score(&ranked, &["z".into()]), (0.0, 0.0));
        // More than five relevant: recall is over the five that could fit.
        let many: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
            .map(String::from)
            .to_vec();
        assert_eq!(score(&ranked, &many).0, 1.0);
    }
}
