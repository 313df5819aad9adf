//! The real NHTSA recall files import, and searching them behaves: BM25
//! finds the campaign a driver describes, filters and facets agree with the
//! documents, highlights mark query words, pages do not overlap, and bad
//! queries are the caller's errors.

use std::path::PathBuf;

use qloop_knowledge::{
    import::parse_known_issues, DocKind, KnowledgeError, KnowledgeIndex, SearchRequest,
};

fn nhtsa(file: &str) -> String {
    // QLOOP_SHARED_DATA as in qloop_protocol::shared_data (not a dependency here).
    let path = std::env::var_os("QLOOP_SHARED_DATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
            PathBuf::from,
        )
        .join("nhtsa")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn index_all() -> KnowledgeIndex {
    let index = KnowledgeIndex::in_memory().unwrap();
    for file in [
        "recalls-ford-toyota-tesla-2015-2025.jsonl",
        "recall-documents-2020-2026.jsonl",
        "recalls-sample.jsonl",
    ] {
        let imported = parse_known_issues(&nhtsa(file));
        assert!(
            imported.rejected.is_empty(),
            "{file}: {:?}",
            imported.rejected.first()
        );
        index.upsert(&imported.docs).unwrap();
    }
    index.commit().unwrap();
    index
}

#[test]
fn every_recall_in_the_three_files_imports_once_by_campaign_number() {
    let index = index_all();
    let lines: usize = [
        "recalls-ford-toyota-tesla-2015-2025.jsonl",
        "recall-documents-2020-2026.jsonl",
        "recalls-sample.jsonl",
    ]
    .iter()
    .map(|f| nhtsa(f).lines().filter(|l| !l.trim().is_empty()).count())
    .sum();
    let mut ids = std::collections::BTreeSet::new();
    for f in [
        "recalls-ford-toyota-tesla-2015-2025.jsonl",
        "recall-documents-2020-2026.jsonl",
        "recalls-sample.jsonl",
    ] {
        ids.extend(parse_known_issues(&nhtsa(f)).docs.into_iter().map(|d| d.id));
    }
    assert!(lines >= ids.len());
    assert_eq!(
        index.len() as usize,
        ids.len(),
        "one document per distinct campaign"
    );
    // Importing again replaces, never duplicates.
    index
        .upsert(&parse_known_issues(&nhtsa("recalls-sample.jsonl")).docs)
        .unwrap();
    index.commit().unwrap();
    assert_eq!(index.len() as usize, ids.len());
}

#[test]
fn a_campaign_is_found_by_its_own_words_with_highlights_and_remedy() {
    let index = index_all();
    let first = parse_known_issues(&nhtsa("recalls-ford-toyota-tesla-2015-2025.jsonl")).docs;
    // Pick a few campaigns and query with a phrase from their own summary.
    for doc in first.iter().step_by(53).take(6) {
        let words: Vec<&str> = doc.text.split_whitespace().skip(8).take(12).collect();
        let q = words
            .iter()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.len() > 3)
            .collect::<Vec<_>>()
            .join(" ");
        let results = index.search(&SearchRequest::new(q.clone())).unwrap();
        let top5: Vec<&str> = results.hits.iter().take(5).map(|h| h.id.as_str()).collect();
        assert!(
            top5.contains(&doc.id.as_str()),
            "{} not in top 5 for {q:?}: {top5:?}",
            doc.id
        );
        let hit = results.hits.iter().find(|h| h.id == doc.id).unwrap();
        assert!(
            hit.highlight.contains("<b>"),
            "highlight marks query words: {}",
            hit.highlight
        );
        assert_eq!(hit.kind, Some(DocKind::KnownIssue));
        assert_eq!(hit.doc.remedy, doc.remedy);
    }
}

#[test]
fn filters_hold_on_every_hit_and_facets_count_the_matches() {
    let index = index_all();
    let mut req = SearchRequest::new("brake");
    req.filters.make = Some("ford".into());
    req.filters.year_from = Some(2015);
    req.filters.year_to = Some(2017);
    req.limit = 100;
    let results = index.search(&req).unwrap();
    assert!(results.total > 0);
    for hit in &results.hits {
        assert_eq!(hit.doc.make.as_deref(), Some("FORD"));
        assert!(
            hit.doc.years.iter().any(|y| (2015..=2017).contains(y)),
            "{:?}",
            hit.doc.years
        );
    }
    let makes = &results.facets["make"];
    assert_eq!(makes.len(), 1);
    assert_eq!(makes[0].value, "FORD");
    assert_eq!(makes[0].count as usize, results.total);
    let by_severity: u64 = results.facets["severity"].iter().map(|f| f.count).sum();
    assert_eq!(
        by_severity as usize, results.total,
        "every recall has a severity"
    );
}

#[test]
fn pages_are_disjoint_and_together_equal_one_big_page() {
    let index = index_all();
    let mut req = SearchRequest::new("airbag inflator");
    req.limit = 20;
    let all: Vec<String> = index
        .search(&req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    req.limit = 10;
    let p1: Vec<String> = index
        .search(&req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    req.offset = 10;
    let p2: Vec<String> = index
        .search(&req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!([p1, p2].concat(), all);
}

#[test]
fn syntax_errors_and_unknown_fields_are_the_callers_errors() {
    let index = index_all();
    for q in [
        "title:(unclosed",
        "\"unterminated phrase",
        "nosuchfield:brake",
        "year:[2010 TO",
    ] {
        let err = index.search(&SearchRequest::new(q)).unwrap_err();
        assert!(err.is_bad_request(), "{q:?} gave {err}");
        assert!(matches!(err, KnowledgeError::Query(_)), "{q:?} gave {err}");
    }
    let err = index
        .search(&SearchRequest::new("a".repeat(10_000)))
        .unwrap_err();
    assert!(matches!(err, KnowledgeError::TooLong { .. }));
}
