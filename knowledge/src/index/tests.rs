//! Tests of the index: query syntax, an old schema, filtered ids.

use tantivy::{
    schema::{Schema, STORED, STRING},
    Index,
};

use super::*;
use crate::search::SearchRequest;

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
