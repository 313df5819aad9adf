//! From a request to a tantivy query: the words (plain sentences or query
//! syntax) and the filters.

use std::ops::Bound;

use tantivy::{
    query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery},
    schema::{Field, IndexRecordOption},
    Term,
};

use super::KnowledgeIndex;
use crate::{error::KnowledgeError, search::SearchRequest};

impl KnowledgeIndex {
    /// The query for the words `q`: every document for none.
    pub(super) fn text_query(&self, q: &str) -> Result<Box<dyn Query>, KnowledgeError> {
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

    /// `text` with `req`'s filters as required clauses.
    pub(super) fn with_filters(
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
}

/// Whether `q` uses tantivy's query syntax (fields, grouping, phrases,
/// ranges, boosts, fuzziness, required/excluded terms, boolean operators).
pub fn uses_query_syntax(q: &str) -> bool {
    q.contains([':', '(', ')', '[', ']', '{', '}', '"', '^', '~', '*', '\\'])
        || q.split_whitespace().any(|w| {
            matches!(w, "AND" | "OR" | "NOT" | "IN") || w.starts_with('+') || w.starts_with('-')
        })
}
