//! The index's schema: its fields, and an [`IndexDoc`] as a tantivy document.

use tantivy::{
    schema::{Field, Schema, FAST, INDEXED, STORED, STRING, TEXT},
    TantivyDocument,
};

use super::KnowledgeIndex;
use crate::record::IndexDoc;

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) id: Field,
    pub(super) kind: Field,
    pub(super) title: Field,
    pub(super) text: Field,
    pub(super) consequence: Field,
    pub(super) category: Field,
    pub(super) severity: Field,
    pub(super) make: Field,
    pub(super) model: Field,
    pub(super) year: Field,
    pub(super) software: Field,
    pub(super) dtc: Field,
    pub(super) date: Field,
    pub(super) status: Field,
    pub(super) source: Field,
}

/// The schema and its fields.
pub(super) fn schema() -> (Schema, Fields) {
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

impl KnowledgeIndex {
    /// `doc` as a tantivy document, its JSON in the stored `source` field.
    pub(super) fn to_tantivy(&self, doc: &IndexDoc) -> TantivyDocument {
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
}
