//! Reading the index: BM25 search with facets, highlights and pagination,
//! ids for fusion and filtered embedding search, documents by id.

use std::collections::BTreeMap;

use tantivy::{
    aggregation::{agg_req::Aggregations, agg_result::AggregationResults, AggregationCollector},
    collector::{Count, TopDocs},
    query::{AllQuery, Query, TermQuery},
    schema::{IndexRecordOption, Value},
    snippet::SnippetGenerator,
    DocAddress, TantivyDocument, Term,
};

use super::KnowledgeIndex;
use crate::{
    error::KnowledgeError,
    record::IndexDoc,
    search::{Facet, SearchHit, SearchRequest, SearchResults},
};

/// Facets returned with every search, and how many values each.
const FACETS: &[&str] = &["kind", "category", "severity", "make", "status"];
const FACET_SIZE: u32 = 20;

impl KnowledgeIndex {
    /// BM25 search with filters, facets, highlights and pagination.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, KnowledgeError> {
        req.validate()?;
        let searcher = self.reader.searcher();
        let text_query = self.text_query(&req.q)?;
        let query = self.with_filters(text_query.box_clone(), req)?;
        let (total, top) = searcher.search(
            &*query,
            &(Count, TopDocs::with_limit(req.limit).and_offset(req.offset)),
        )?;
        let mut snippets = SnippetGenerator::create(&searcher, &*text_query, self.fields.text)?;
        snippets.set_max_num_chars(240);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc = self.stored(&searcher, address)?;
            let highlight = snippets.snippet(&doc.text).to_html();
            hits.push(SearchHit {
                id: doc.id.clone(),
                kind: doc.kind,
                title: doc.title.clone(),
                score,
                highlight,
                doc,
            });
        }
        let facets = self.facets(&searcher, &*query)?;
        Ok(SearchResults {
            total,
            offset: req.offset,
            limit: req.limit,
            hits,
            facets,
        })
    }

    /// Ids of the top `limit` BM25 matches with filters, best first (for fusion).
    pub fn bm25_ids(
        &self,
        req: &SearchRequest,
        limit: usize,
    ) -> Result<Vec<(String, f32)>, KnowledgeError> {
        req.validate()?;
        let searcher = self.reader.searcher();
        let query = self.with_filters(self.text_query(&req.q)?, req)?;
        let top = searcher.search(&*query, &TopDocs::with_limit(limit.max(1)))?;
        // Ids come from the id column: loading each stored document (its
        // whole compressed block) just for the id was most of a hybrid search.
        let mut columns = BTreeMap::new();
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            if let Some(id) = id_at(&searcher, &mut columns, address)? {
                out.push((id, score));
            }
        }
        Ok(out)
    }

    /// Ids of every document passing `req`'s filters (the query text is
    /// ignored), read from the id column without loading documents: the
    /// candidate set of a filtered embedding search.
    pub fn filtered_ids(
        &self,
        req: &SearchRequest,
    ) -> Result<std::collections::HashSet<String>, KnowledgeError> {
        req.validate()?;
        let searcher = self.reader.searcher();
        let query = self.with_filters(Box::new(AllQuery), req)?;
        let addresses = searcher.search(&*query, &tantivy::collector::DocSetCollector)?;
        let mut columns = BTreeMap::new();
        let mut ids = std::collections::HashSet::with_capacity(addresses.len());
        for address in addresses {
            if let Some(id) = id_at(&searcher, &mut columns, address)? {
                ids.insert(id);
            }
        }
        Ok(ids)
    }

    /// `text` with the words of query `q` in `<b>…</b>` (best fragment).
    pub fn highlight(&self, q: &str, text: &str) -> Result<String, KnowledgeError> {
        let searcher = self.reader.searcher();
        let query = self.text_query(q)?;
        let mut snippets = SnippetGenerator::create(&searcher, &*query, self.fields.text)?;
        snippets.set_max_num_chars(240);
        Ok(snippets.snippet(text).to_html())
    }

    /// Highlights of several texts for one query (one snippet generator).
    pub fn highlights(&self, q: &str, texts: &[&str]) -> Result<Vec<String>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let query = self.text_query(q)?;
        let mut snippets = SnippetGenerator::create(&searcher, &*query, self.fields.text)?;
        snippets.set_max_num_chars(240);
        Ok(texts
            .iter()
            .map(|t| snippets.snippet(t).to_html())
            .collect())
    }

    /// The stored document with this id, if indexed.
    pub fn get(&self, id: &str) -> Result<Option<IndexDoc>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&query, &TopDocs::with_limit(1))?;
        top.first()
            .map(|(_, address)| self.stored(&searcher, *address))
            .transpose()
    }

    /// The stored document at `address`.
    fn stored(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> Result<IndexDoc, KnowledgeError> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let source = doc
            .get_first(self.fields.source)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        serde_json::from_str(source).map_err(|e| {
            KnowledgeError::Index(tantivy::TantivyError::InternalError(format!(
                "stored document does not decode: {e}"
            )))
        })
    }

    /// Counts per value of each of [`FACETS`] among the matches of `query`.
    fn facets(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
    ) -> Result<BTreeMap<String, Vec<Facet>>, KnowledgeError> {
        let request: serde_json::Map<String, serde_json::Value> = FACETS
            .iter()
            .map(|name| {
                (
                    name.to_string(),
                    serde_json::json!({ "terms": { "field": name, "size": FACET_SIZE } }),
                )
            })
            .collect();
        let aggs: Aggregations = serde_json::from_value(serde_json::Value::Object(request))
            .map_err(|e| {
                KnowledgeError::Index(tantivy::TantivyError::InternalError(e.to_string()))
            })?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let results: AggregationResults = searcher.search(query, &collector)?;
        let json = serde_json::to_value(results).map_err(|e| {
            KnowledgeError::Index(tantivy::TantivyError::InternalError(e.to_string()))
        })?;
        let mut facets = BTreeMap::new();
        for name in FACETS {
            let buckets = json[*name]["buckets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            facets.insert(
                name.to_string(),
                buckets
                    .iter()
                    .filter_map(|b| {
                        Some(Facet {
                            value: b["key"].as_str()?.to_string(),
                            count: b["doc_count"].as_u64()?,
                        })
                    })
                    .collect(),
            );
        }
        Ok(facets)
    }
}

/// The id of the document at `address`, from its segment's id column
/// (columns cached per segment in `columns`).
fn id_at(
    searcher: &tantivy::Searcher,
    columns: &mut BTreeMap<u32, Option<tantivy::columnar::StrColumn>>,
    address: DocAddress,
) -> Result<Option<String>, KnowledgeError> {
    let column = match columns.entry(address.segment_ord) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => e.insert(
            searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .str("id")?,
        ),
    };
    let Some(column) = column.as_ref() else {
        return Ok(None);
    };
    let mut id = String::new();
    for ord in column.term_ords(address.doc_id) {
        let found = column
            .ord_to_str(ord, &mut id)
            .map_err(|e| KnowledgeError::Index(e.into()))?;
        if found {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
