//! The tantivy index on disk: schema, upserts, and BM25 search with filters,
//! facets, highlights and pagination.

use std::{collections::BTreeMap, ops::Bound, path::Path, sync::Mutex};

use tantivy::{
    aggregation::{agg_req::Aggregations, agg_result::AggregationResults, AggregationCollector},
    collector::{Count, TopDocs},
    query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery},
    schema::{Field, IndexRecordOption, Schema, Value, FAST, INDEXED, STORED, STRING, TEXT},
    snippet::SnippetGenerator,
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};

use crate::{
    error::KnowledgeError,
    record::IndexDoc,
    search::{Facet, SearchHit, SearchRequest, SearchResults},
};

/// Heap for the index writer (tantivy's minimum is 15 MB).
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// Facets returned with every search, and how many values each.
const FACETS: &[&str] = &["kind", "category", "severity", "make", "status"];
const FACET_SIZE: u32 = 20;

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    kind: Field,
    title: Field,
    text: Field,
    consequence: Field,
    category: Field,
    severity: Field,
    make: Field,
    model: Field,
    year: Field,
    software: Field,
    dtc: Field,
    date: Field,
    status: Field,
    source: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        // FAST: filtered embedding search reads the ids of every match.
        id: b.add_text_field("id", STRING | STORED | FAST),
        kind: b.add_text_field("kind", STRING | FAST),
        title: b.add_text_field("title", TEXT | STORED),
        text: b.add_text_field("text", TEXT | STORED),
        consequence: b.add_text_field("consequence", TEXT),
        category: b.add_text_field("category", STRING | FAST),
        severity: b.add_text_field("severity", STRING | FAST),
        make: b.add_text_field("make", STRING | FAST),
        model: b.add_text_field("model", STRING),
        year: b.add_u64_field("year", INDEXED | FAST),
        software: b.add_text_field("software", STRING),
        dtc: b.add_text_field("dtc", STRING),
        date: b.add_i64_field("date", INDEXED | FAST),
        status: b.add_text_field("status", STRING | FAST),
        // The whole document as JSON, to return hits without a database trip.
        source: b.add_text_field("source", STORED),
    };
    (b.build(), fields)
}

/// The knowledge index. Cheap to share behind an `Arc`; writes are
/// serialised inside.
pub struct KnowledgeIndex {
    index: Index,
    reader: IndexReader,
    /// Taken on the first write: a process that only searches (the `search`
    /// command beside a running service) never holds the writer lock.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex").finish_non_exhaustive()
    }
}

impl KnowledgeIndex {
    /// Opens the index in `dir`, creating it (and the directory) when absent.
    pub fn open(dir: &Path) -> Result<Self, KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(|source| KnowledgeError::Io {
            context: format!("creating index directory {}", dir.display()),
            source,
        })?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| KnowledgeError::Index(e.into()))?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Err(tantivy::TantivyError::SchemaError(reason)) => {
                // An index written by an older qloop. It is derived data:
                // start it afresh (the service refills an empty index from
                // the database; `reindex` does it by hand).
                tracing::warn!(dir = %dir.display(), %reason, "knowledge index schema changed; starting it empty");
                remove_index_files(dir)?;
                let directory = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| KnowledgeError::Index(e.into()))?;
                Index::open_or_create(directory, schema)?
            }
            other => other?,
        };
        Self::from_index(index, fields)
    }

    /// An index held in memory only (tests, benchmarks of the search alone).
    pub fn in_memory() -> Result<Self, KnowledgeError> {
        let (schema, fields) = schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<Self, KnowledgeError> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
        })
    }

    /// Runs `f` with the index writer, taking it on first use.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, KnowledgeError>,
    ) -> Result<T, KnowledgeError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(self.index.writer(WRITER_HEAP_BYTES)?);
        }
        f(guard.as_mut().expect("writer just set"))
    }

    /// Adds or replaces documents (by id). Visible after [`Self::commit`].
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            for doc in docs {
                writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
                writer.add_document(self.to_tantivy(doc))?;
            }
            Ok(())
        })
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&self) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            writer.delete_all_documents()?;
            Ok(())
        })
    }

    /// Makes written documents durable and visible to searches.
    pub fn commit(&self) -> Result<(), KnowledgeError> {
        self.with_writer(|writer| {
            writer.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    /// Sees what other processes committed since the last look.
    pub fn refresh(&self) -> Result<(), KnowledgeError> {
        self.reader.reload()?;
        Ok(())
    }

    /// Documents searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// True when nothing is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_tantivy(&self, doc: &IndexDoc) -> TantivyDocument {
        let f = self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &doc.id);
        if let Some(kind) = doc.kind {
            d.add_text(f.kind, kind.as_str());
        }
        d.add_text(f.title, &doc.title);
        d.add_text(f.text, &doc.text);
        let opt = |d: &mut TantivyDocument, field, v: &Option<String>| {
            if let Some(v) = v {
                d.add_text(field, v);
            }
        };
        opt(&mut d, f.consequence, &doc.consequence);
        opt(&mut d, f.category, &doc.category);
        opt(&mut d, f.severity, &doc.severity);
        opt(&mut d, f.make, &doc.make);
        opt(&mut d, f.status, &doc.status);
        for m in &doc.models {
            d.add_text(f.model, m);
        }
        for y in &doc.years {
            d.add_u64(f.year, u64::from(*y));
        }
        for s in &doc.software {
            d.add_text(f.software, s);
        }
        for c in &doc.dtcs {
            d.add_text(f.dtc, c);
        }
        if let Some(ms) = doc.date_ms {
            d.add_i64(f.date, ms);
        }
        d.add_text(
            f.source,
            serde_json::to_string(doc).expect("documents always serialize"),
        );
        d
    }

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

    fn text_query(&self, q: &str) -> Result<Box<dyn Query>, KnowledgeError> {
        if q.trim().is_empty() {
            return Ok(Box::new(AllQuery));
        }
        let f = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.text, f.consequence]);
        parser.set_field_boost(f.title, 1.5);
        // A driver's sentence ("the airbag didn't deploy") is words, not
        // query syntax: without any operator in it, punctuation is dropped
        // instead of failing on a stray apostrophe. Queries that use the
        // syntax are parsed strictly, and their errors are the caller's.
        let text = if uses_query_syntax(q) {
            q.to_string()
        } else {
            q.chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                .collect()
        };
        if text.trim().is_empty() {
            return Ok(Box::new(AllQuery));
        }
        parser
            .parse_query(&text)
            .map_err(|e| KnowledgeError::Query(e.to_string()))
    }

    fn with_filters(
        &self,
        text: Box<dyn Query>,
        req: &SearchRequest,
    ) -> Result<Box<dyn Query>, KnowledgeError> {
        let f = self.fields;
        let flt = &req.filters;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
        let term = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            )
        };
        if let Some(kind) = &flt.kind {
            clauses.push(term(f.kind, kind.as_str()));
        }
        for (field, value) in [
            (f.category, &flt.category),
            (f.severity, &flt.severity),
            (f.status, &flt.status),
        ] {
            if let Some(v) = value {
                clauses.push(term(field, v));
            }
        }
        for (field, value) in [
            (f.make, &flt.make),
            (f.model, &flt.model),
            (f.software, &flt.software),
            (f.dtc, &flt.dtc),
        ] {
            if let Some(v) = value {
                let upper = if field == f.software {
                    v.clone()
                } else {
                    v.to_uppercase()
                };
                clauses.push(term(field, &upper));
            }
        }
        if flt.year_from.is_some() || flt.year_to.is_some() {
            let lo = flt.year_from.map_or(Bound::Unbounded, |y| {
                Bound::Included(Term::from_field_u64(f.year, u64::from(y)))
            });
            let hi = flt.year_to.map_or(Bound::Unbounded, |y| {
                Bound::Included(Term::from_field_u64(f.year, u64::from(y)))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if flt.date_from_ms.is_some() || flt.date_to_ms.is_some() {
            let lo = flt.date_from_ms.map_or(Bound::Unbounded, |d| {
                Bound::Included(Term::from_field_i64(f.date, d))
            });
            let hi = flt.date_to_ms.map_or(Bound::Unbounded, |d| {
                Bound::Included(Term::from_field_i64(f.date, d))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if clauses.len() == 1 {
            return Ok(clauses.pop().expect("one clause").1);
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

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

/// Removes tantivy's files from an index directory, keeping other files
/// (the embeddings beside the index).
fn remove_index_files(dir: &Path) -> Result<(), KnowledgeError> {
    let io = |source| KnowledgeError::Io {
        context: format!("clearing the old index in {}", dir.display()),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("vectors.bin") {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io)?;
        } else {
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

/// Whether `q` uses tantivy's query syntax (fields, grouping, phrases,
/// ranges, boosts, fuzziness, required/excluded terms, boolean operators).
pub fn uses_query_syntax(q: &str) -> bool {
    q.contains([':', '(', ')', '[', ']', '{', '}', '"', '^', '~', '*', '\\'])
        || q.split_whitespace().any(|w| {
            matches!(w, "AND" | "OR" | "NOT" | "IN") || w.starts_with('+') || w.starts_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sentences_are_words_and_operators_are_syntax() {
        assert!(!uses_query_syntax("the airbag didn't deploy, at all!"));
        assert!(!uses_query_syntax("F-150 brake pedal"));
        assert!(uses_query_syntax("title:airbag"));
        assert!(uses_query_syntax("\"brake fluid\""));
        assert!(uses_query_syntax("brake -squeal"));
        assert!(uses_query_syntax("brake AND fluid"));
    }

    #[test]
    fn an_apostrophe_in_a_drivers_sentence_is_not_a_syntax_error() {
        let index = KnowledgeIndex::in_memory().unwrap();
        index
            .upsert(&[IndexDoc {
                id: "KI-1".into(),
                title: "airbag".into(),
                text: "the passenger airbag did not deploy in a crash".into(),
                ..IndexDoc::default()
            }])
            .unwrap();
        index.commit().unwrap();
        let hits = index
            .search(&SearchRequest::new("the airbag didn't deploy"))
            .unwrap();
        assert_eq!(hits.hits[0].id, "KI-1");
        assert!(
            index.search(&SearchRequest::new("'")).is_ok(),
            "punctuation alone matches all"
        );
        assert!(index.search(&SearchRequest::new("title:(x")).is_err());
    }

    #[test]
    fn an_index_of_an_older_schema_is_started_afresh_keeping_the_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = Schema::builder();
        old.add_text_field("id", STRING | STORED);
        Index::create_in_dir(dir.path(), old.build()).unwrap();
        std::fs::write(dir.path().join("vectors.bin"), b"kept").unwrap();
        let index = KnowledgeIndex::open(dir.path()).unwrap();
        assert!(index.is_empty());
        assert_eq!(
            std::fs::read(dir.path().join("vectors.bin")).unwrap(),
            b"kept"
        );
        index
            .upsert(&[IndexDoc {
                id: "A".into(),
                ..IndexDoc::default()
            }])
            .unwrap();
        index.commit().unwrap();
        drop(index);
        assert_eq!(
            KnowledgeIndex::open(dir.path()).unwrap().len(),
            1,
            "and reopens"
        );
    }

    #[test]
    fn filtered_ids_are_exactly_the_documents_passing_the_filters() {
        let index = KnowledgeIndex::in_memory().unwrap();
        let doc = |id: &str, make: &str, year: u16| IndexDoc {
            id: id.into(),
            make: Some(make.into()),
            years: vec![year],
            ..IndexDoc::default()
        };
        index
            .upsert(&[
                doc("F1", "FORD", 2015),
                doc("F2", "FORD", 2021),
                doc("T1", "TESLA", 2021),
            ])
            .unwrap();
        index.commit().unwrap();
        let mut req = SearchRequest::new("");
        req.filters.make = Some("ford".into());
        let ids = index.filtered_ids(&req).unwrap();
        assert_eq!(ids, ["F1".to_string(), "F2".to_string()].into());
        req.filters.year_from = Some(2020);
        assert_eq!(index.filtered_ids(&req).unwrap(), ["F2".to_string()].into());
    }
}
