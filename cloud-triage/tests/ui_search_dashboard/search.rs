//! Search and known issues: where hits link, highlights, facets and
//! paging, the partial, the 400s, no index, the known-issue page and 404.

use std::sync::{atomic::AtomicBool, Arc};

use cloud_triage::{
    api::{router, ApiState},
    domain::MatchKind,
    now_ms,
    store::{access::Role, CaseMatch, Store},
};
use qloop_knowledge::{import::parse_known_issues, DocKind, IndexDoc, KnowledgeIndex};
use reqwest::StatusCode;

use super::{new_store, report, triaged_case, HOUR, RECALL};
use crate::ui_support::{serve_ui_on, sign_in, ServedUi};

/// The NHTSA recalls stored and indexed, with every case and feedback,
/// and the first case as closed-case knowledge.
async fn index_everything(store: &Store) -> Arc<KnowledgeIndex> {
    let text = std::fs::read_to_string(
        qloop_protocol::shared_data().join("nhtsa/recalls-ford-toyota-tesla-2015-2025.jsonl"),
    )
    .unwrap();
    let recalls = parse_known_issues(&text).docs;
    store
        .save_known_issues(&recalls, "nhtsa.jsonl", now_ms())
        .await
        .unwrap();
    let index = KnowledgeIndex::in_memory().unwrap();
    index.upsert(&recalls).unwrap();
    let cases = store.case_index_docs().await.unwrap();
    // A closed case becomes knowledge in the index only (as the indexer does).
    let closed = IndexDoc {
        id: format!("{}-closed", cases[0].id),
        kind: Some(DocKind::KnownIssue),
        status: Some("closed".into()),
        remedy: Some("Bleed the brakes and replace the master cylinder seal.".into()),
        ..cases[0].clone()
    };
    index.upsert(&cases).unwrap();
    index.upsert(&[closed]).unwrap();
    index
        .upsert(&store.feedback_index_docs().await.unwrap())
        .unwrap();
    index.commit().unwrap();
    Arc::new(index)
}

/// Search data: one driver's brake-fluid report (with markup in it), the
/// recalls, and a case matched to recall 18V894000; served.
pub(crate) struct SearchWorld {
    pub(crate) ui: ServedUi,
    feedback: uuid::Uuid,
    case: i64,
    matched_case: i64,
}

pub(crate) async fn search_world() -> SearchWorld {
    let (store, dir) = new_store().await;
    let (feedback, case) = report(
        &store,
        1,
        "brake fluid warning <script>alert(1)</script> and the pedal went soft",
        now_ms() - HOUR,
    )
    .await;
    let matched = CaseMatch {
        doc_id: RECALL.into(),
        kind: MatchKind::KnownIssue,
        score: 0.0325,
        similarity: Some(0.81),
        title: "Block heater cable".into(),
        containment: None,
        remedy: Some("Replace the cable".into()),
    };
    let matched_case =
        triaged_case(&store, 50, 1, "block heater cord smells burnt", &[matched]).await;
    let index = index_everything(&store).await;
    let ui = serve_ui_on(store, dir, Some(index)).await;
    SearchWorld {
        ui,
        feedback,
        case,
        matched_case,
    }
}

#[tokio::test]
async fn each_hit_links_its_case_report_or_known_issue_with_highlights_and_score() {
    let w = search_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let page = olga.get("/ui/search?q=brake+fluid&kind=feedback").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.attrs(".hit a.hit-title", "href"),
        vec![format!("/ui/cases/{}#report-{}", w.case, w.feedback)],
        "a report links to its anchor on its case"
    );
    let marked: Vec<String> = page
        .texts(".hit .highlight mark")
        .iter()
        .map(|m| m.to_lowercase())
        .collect();
    assert_eq!(marked, ["brake", "fluid"], "the query's words are marked");
    assert!(page.texts(".hit .score")[0].starts_with("score "));

    let cases = olga.get("/ui/search?q=brake+fluid&kind=case").await;
    assert_eq!(
        cases.attrs(".hit a.hit-title", "href"),
        vec![format!("/ui/cases/{}", w.case)]
    );

    let recalls = olga
        .get("/ui/search?q=block+heater+cable&kind=known_issue&make=FORD")
        .await;
    let links = recalls.attrs(".hit a.hit-title", "href");
    assert!(
        links.contains(&format!("/ui/known-issues/{RECALL}")),
        "{links:?}"
    );
    assert!(links.iter().all(|l| l.starts_with("/ui/known-issues/")));
    assert!(recalls.texts(".hit .facts dd").iter().any(|d| d == "FORD"));
}

#[tokio::test]
async fn a_drivers_markup_in_a_highlight_is_shown_as_text_and_never_runs() {
    let w = search_world().await;
    let erin = sign_in(&w.ui, Role::Engineer, "erin").await;
    let page = erin.get("/ui/search?q=alert+brake&kind=feedback").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.count("main script"),
        0,
        "no script element from the driver's words"
    );
    assert_eq!(page.texts(".hit .highlight mark"), ["brake", "alert"]);
    assert_eq!(page.count(".hit .highlight script"), 0);
    assert_eq!(
        page.texts(".hit .highlight"),
        // Text nodes joined by a space: the tags are text around the mark.
        ["brake fluid warning <script> alert (1)</script> and the pedal went soft"],
        "the driver's tags are shown as the text they are"
    );
}

#[tokio::test]
async fn facets_add_their_filter_and_the_pager_walks_the_pages() {
    let w = search_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let page = olga
        .get("/ui/search?q=brake&kind=known_issue&limit=5")
        .await;
    let total: usize = page.texts("#results-heading")[0]
        .rsplit(" of ")
        .next()
        .unwrap()
        .trim_end_matches(" matches")
        .parse()
        .unwrap();
    assert!(total > 5, "more than one page of brake recalls");
    assert_eq!(page.count(".hit"), 5);
    let next = page.attrs(".pager a[rel=next]", "href");
    assert_eq!(
        next,
        ["/ui/search?q=brake&kind=known_issue&limit=5&offset=5"]
    );
    let second = olga.get(&next[0]).await;
    assert_eq!(second.attrs("ol.hits", "start"), ["6"]);
    assert_eq!(second.count(".pager a[rel=prev]"), 1);

    let toyota = page
        .attrs(".facets a", "href")
        .into_iter()
        .find(|h| h.ends_with("make=TOYOTA"))
        .expect("a make facet for Toyota");
    let count: usize = page
        .texts(".facets li")
        .iter()
        .find(|t| t.starts_with("TOYOTA "))
        .and_then(|t| t.split_whitespace().last()?.parse().ok())
        .unwrap();
    let filtered = olga.get(&toyota).await;
    assert!(filtered.texts("#results-heading")[0].ends_with(&format!("of {count} matches")));
    assert_eq!(
        filtered.texts(".active-filters a"),
        ["kind: known_issue ✕", "make: TOYOTA ✕"],
        "each filter in force, with a link that removes it"
    );
    assert_eq!(
        filtered.texts(".facets strong[aria-current=true]"),
        ["Known issue", "TOYOTA"],
        "the kind and make in force, the kind said as people say it"
    );
}

#[tokio::test]
async fn htmx_gets_the_search_area_and_an_empty_query_the_form_only() {
    let w = search_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let partial = olga.get_htmx("/ui/search?q=brake").await;
    assert_eq!(partial.status, StatusCode::OK);
    assert_eq!(
        (partial.count("header.top"), partial.count("#search")),
        (0, 1)
    );
    assert!(partial.count(".hit") > 0);
    let empty = olga.get("/ui/search").await;
    assert_eq!(
        (empty.count("form[role=search]"), empty.count(".hit")),
        (1, 0)
    );
    assert_eq!(empty.attrs("#search-q", "value"), [""]);
    assert_eq!(
        empty.count("label[for=search-q]"),
        1,
        "the field is labelled"
    );
}

#[tokio::test]
async fn bad_searches_are_400_pages_with_the_apis_message() {
    let w = search_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    for (query, says) in [
        ("q=title:(unclosed", "parse"),
        ("q=x&year_from=twenty", "year_from"),
        ("q=x&kind=recall", "kind"),
        ("q=x&colour=red", "colour"),
        ("q=x&date_from=2026-02-30", "date_from"),
    ] {
        let page = olga.get(&format!("/ui/search?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        let message = page.texts(".error").join(" ");
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[tokio::test]
async fn without_a_knowledge_index_the_search_page_says_so() {
    let (store, _dir) = new_store().await;
    let state = ApiState {
        store: store.clone(),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let app = router(state.clone()).merge(cloud_triage::ui::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let ui = ServedUi {
        base,
        store,
        dir: tempfile::tempdir().unwrap(),
    };
    let olga = sign_in(&ui, Role::Operator, "olga").await;
    let page = olga.get("/ui/search?q=brake").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.texts(".notice")[0].contains("without a knowledge index"));
    assert_eq!(
        page.count("form[role=search]"),
        1,
        "the form is still there"
    );
}

#[tokio::test]
async fn a_known_issue_shows_its_defect_consequence_remedy_and_matching_cases() {
    let w = search_world().await;
    let admin = sign_in(&w.ui, Role::Admin, "ada").await;
    let page = admin.get(&format!("/ui/known-issues/{RECALL}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("h1")[0].starts_with(&format!("Known issue {RECALL} ENGINE:")));
    assert_eq!(
        page.count(".ki-id"),
        0,
        "the title holds the number already"
    );
    assert!(page.texts(".ki-defect")[0].contains("block heater cable"));
    assert!(page.texts(".ki-consequence")[0].contains("risk of a fire"));
    assert!(page.texts(".ki-remedy")[0].contains("free of charge"));
    let facts = page.texts(".kv dd");
    assert!(facts.contains(&"F-150".to_string()), "{facts:?}");
    assert!(facts.contains(&"2015–2019".to_string()), "{facts:?}");
    assert!(
        facts.contains(&"2018-12-18 00:00 UTC".to_string()),
        "{facts:?}"
    );
    assert_eq!(
        page.attrs(".ki-matches a", "href"),
        [format!("/ui/cases/{}", w.matched_case)]
    );
    let partial = admin.get_htmx(&format!("/ui/known-issues/{RECALL}")).await;
    assert_eq!(
        (partial.count("header.top"), partial.count("#known-issue")),
        (0, 1)
    );

    let missing = admin.get("/ui/known-issues/99X999000").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.texts(".error")[0].contains("99X999000"));
}

#[tokio::test]
async fn a_closed_case_kept_as_knowledge_links_back_to_its_case() {
    let w = search_world().await;
    let erin = sign_in(&w.ui, Role::Engineer, "erin").await;
    let id = format!("case-{}-closed", w.case);
    let hits = erin
        .get("/ui/search?q=brake+fluid+soft&kind=known_issue&status=closed")
        .await;
    assert_eq!(
        hits.attrs(".hit a.hit-title", "href"),
        [format!("/ui/known-issues/{id}")]
    );
    let page = erin.get(&format!("/ui/known-issues/{id}")).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "found in the index, not the database"
    );
    assert!(page.texts(".ki-remedy")[0].contains("master cylinder seal"));
    assert!(page.texts(".ki-defect")[0].contains("brake fluid warning"));
    assert_eq!(
        page.attrs(".kv a", "href"),
        [format!("/ui/cases/{}", w.case)],
        "the case it came from"
    );
    let not_knowledge = erin.get(&format!("/ui/known-issues/case-{}", w.case)).await;
    assert_eq!(
        not_knowledge.status,
        StatusCode::NOT_FOUND,
        "an open case is not a known issue"
    );
}
