//! Search (`/ui/search`), known issues (`/ui/known-issues/{id}`), the
//! dashboard (`/ui/dashboard`) and the monthly report downloads, as HTML
//! over real HTTP: what each page computes and shows, where every hit
//! links, that a driver's markup stays text, the htmx partials, each role,
//! and the error pages (bad query, unknown known issue, bad period, bad
//! month, no index).

mod ui_support;

use std::sync::{atomic::AtomicBool, Arc};

use cloud_triage::{
    api::{router, ApiState},
    app::{ingest::Triaged, transition::Transition},
    domain::MatchKind,
    now_ms,
    policy::Policy,
    store::{access::Role, AudioState, CaseMatch, IngestMeta, Store},
    triage::Assessment,
};
use qloop_knowledge::{import::parse_known_issues, KnowledgeIndex};
use qloop_protocol::testing::EnvelopeBuilder;
use reqwest::StatusCode;
use ui_support::{get_anonymous, serve_ui_on, sign_in, ServedUi};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const RECALL: &str = "18V894000";

async fn new_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ui.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

/// A report from car number `n` saying `text`, received at `at_ms`; its
/// feedback id and case (its own case: no triage, so no linking).
async fn report(store: &Store, n: u32, text: &str, at_ms: i64) -> (uuid::Uuid, i64) {
    let env = EnvelopeBuilder::new(&format!("1FTEW1EP5JFA{n:05}"), text, at_ms - 1_000).build();
    let meta = IngestMeta {
        received_at_ms: at_ms,
        envelope_bytes: 500,
        asr: None,
        audio: AudioState::None,
    };
    let case = store.ingest_feedback(&env, &meta).await.unwrap().case_id;
    (env.feedback_id, case)
}

/// Reports from `cars` cars triaged alike, matched to `matches`: one case,
/// emerging from two vehicles on; its number.
async fn triaged_case(
    store: &Store,
    first: u32,
    cars: u32,
    text: &str,
    matches: &[CaseMatch],
) -> i64 {
    let mut policy = Policy::default();
    policy.emerging.min_vehicles = 2;
    let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
    vector[0] = 1.0;
    let assessment = Assessment {
        category: "brakes".into(),
        department: None,
        severity: "minor".into(),
        severity_reasons: vec![],
        confidence: 0.9,
        model_version: "test-model".into(),
        vector: Some(vector),
    };
    let mut case = 0;
    for n in first..first + cars {
        let at = now_ms() - 30 * 60_000;
        let env = EnvelopeBuilder::new(&format!("5YJ3E1EA7KF3{n:05}"), text, at).build();
        let meta = IngestMeta {
            received_at_ms: at + 1_000,
            envelope_bytes: 500,
            asr: None,
            audio: AudioState::None,
        };
        let triaged = Triaged {
            assessment: &assessment,
            matches,
            policy: &policy,
        };
        case = store
            .ingest_triaged_feedback(&env, &meta, Some(triaged))
            .await
            .unwrap()
            .case_id;
    }
    case
}

/// Moves case `id` to `to` at `at_ms` as engineer olga.
async fn transition(store: &Store, id: i64, to: &str, at_ms: i64) {
    let t = Transition {
        to: to.into(),
        actor: "olga".into(),
        message: Some("We are on it.".into()),
        reason: Some("duplicate report".into()),
        fields: Default::default(),
    };
    store
        .transition(id, &t, &Policy::default(), at_ms)
        .await
        .unwrap();
}

/// The NHTSA recalls stored and indexed, with every case and feedback.
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
    index
        .upsert(&store.case_index_docs().await.unwrap())
        .unwrap();
    index
        .upsert(&store.feedback_index_docs().await.unwrap())
        .unwrap();
    index.commit().unwrap();
    Arc::new(index)
}

/// Search data: one driver's brake-fluid report (with markup in it), the
/// recalls, and a case matched to recall 18V894000; served.
struct SearchWorld {
    ui: ServedUi,
    feedback: uuid::Uuid,
    case: i64,
    matched_case: i64,
}

async fn search_world() -> SearchWorld {
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
        filtered.texts(".facets strong[aria-current=true]").len(),
        2,
        "kind and make in force"
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

/// Dashboard data, as of now: A opened 2 days ago and answered in 1 h,
/// B 5 days ago in 3 h, C 10 days ago never answered, D cancelled, E an
/// emerging issue from two cars half an hour ago.
struct DashboardWorld {
    ui: ServedUi,
    a: i64,
    b: i64,
    c: i64,
    d: i64,
    e: i64,
}

async fn dashboard_world() -> DashboardWorld {
    let (store, dir) = new_store().await;
    let now = now_ms();
    let (_, a) = report(&store, 1, "door rattles", now - 2 * DAY).await;
    transition(&store, a, "acknowledged", now - 2 * DAY + HOUR).await;
    let (_, b) = report(&store, 2, "wipers stop", now - 5 * DAY).await;
    transition(&store, b, "acknowledged", now - 5 * DAY + 3 * HOUR).await;
    let (_, c) = report(&store, 3, "seat heater cold", now - 10 * DAY).await;
    let (_, d) = report(&store, 4, "radio off", now - HOUR).await;
    transition(&store, d, "cancelled", now - HOUR / 2).await;
    let e = triaged_case(&store, 10, 2, "the brake pedal sinks at lights", &[]).await;
    let ui = serve_ui_on(store, dir, None).await;
    DashboardWorld { ui, a, b, c, d, e }
}

fn case_links(page: &ui_support::Page, css: &str) -> Vec<String> {
    page.attrs(css, "href")
}

#[tokio::test]
async fn the_dashboard_shows_the_periods_times_backlog_and_emerging_issues() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let page = olga.get("/ui/dashboard?period=7d").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.texts("#dash-cases"),
        ["4"],
        "A, B, D and E; C is older"
    );
    assert_eq!(
        page.texts("#dash-first-response dd"),
        ["1 h 0 min", "3 h 0 min", "2"],
        "p50, p90 (nearest rank) and how many were answered"
    );
    assert_eq!(
        case_links(&page, ".dash-backlog-cases a"),
        [w.b, w.a, w.e].map(|id| format!("/ui/cases/{id}")),
        "open cases oldest first; the cancelled one is not on the backlog"
    );
    assert_eq!(
        page.texts(".dash-backlog-matrix tfoot td"),
        ["1", "1", "1", "0", "3"]
    );
    assert_eq!(
        case_links(&page, ".dash-emerging a"),
        [format!("/ui/cases/{}", w.e)]
    );
    let series = page.attrs("figure[data-chart=first-response]", "data-p50");
    let points: Vec<&str> = series[0].split(',').collect();
    assert_eq!(points.len(), 7, "one point a day");
    assert!(
        points.contains(&"1.00") && points.contains(&"3.00"),
        "{points:?}"
    );
    assert_eq!(
        page.count(".dash-series tbody tr"),
        7,
        "the same numbers in a table"
    );
    assert!(page
        .body
        .contains("/ui/static/vendor/uplot-1.6.32.iife.min.js"));
    assert!(page.body.contains("/ui/static/dashboard.js"));
    assert_eq!(page.attrs("#dash-period option[selected]", "value"), ["7d"]);

    let month = olga.get("/ui/dashboard?period=30d").await;
    assert_eq!(month.texts("#dash-cases"), ["5"]);
    assert_eq!(
        case_links(&month, ".dash-backlog-cases a")[0],
        format!("/ui/cases/{}", w.c)
    );
    let breaches = month.texts(".dash-breaches tbody tr");
    assert!(
        breaches.contains(&"First response 2 3 66.7 %".to_string()),
        "B answered in 3 h of 2, C not at all and overdue: {breaches:?}"
    );
    assert!(
        !month.body.contains(&format!("/ui/cases/{}\"", w.d)),
        "D is cancelled"
    );
}

#[tokio::test]
async fn the_period_can_be_dates_and_htmx_gets_the_figures_only() {
    let w = dashboard_world().await;
    let erin = sign_in(&w.ui, Role::Engineer, "erin").await;
    let today = time::OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(6);
    let page = erin
        .get(&format!("/ui/dashboard?from={from}&to={today}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attrs("#dash-from", "value"), [from.to_string()]);
    assert!(page.count(".dash-backlog-cases a") >= 2, "A and E at least");
    let partial = erin.get_htmx("/ui/dashboard?period=90d").await;
    assert_eq!(
        (partial.count("header.top"), partial.count("#dashboard")),
        (0, 1)
    );
    assert_eq!(partial.texts("#dash-cases"), ["5"]);
}

#[tokio::test]
async fn bad_periods_are_400_pages_and_a_reversed_range_is_refused_as_the_api_does() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    for (query, says) in [
        ("period=fortnight", "period \"fortnight\""),
        ("period=0d", "period"),
        ("from=2026-13-01", "from \"2026-13-01\""),
        ("to=soon", "to \"soon\""),
    ] {
        let page = olga.get(&format!("/ui/dashboard?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            page.texts(".error")[0].contains(says),
            "{query}: {}",
            page.body
        );
    }
    let reversed = olga
        .get("/ui/dashboard?from=2026-06-10&to=2026-06-01")
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reversed.texts(".error")[0].contains("before"));
}

#[tokio::test]
async fn the_monthly_report_downloads_as_html_and_csv_from_the_cli_code() {
    let w = dashboard_world().await;
    let olga = sign_in(&w.ui, Role::Operator, "olga").await;
    let dashboard = olga.get("/ui/dashboard").await;
    assert_eq!(dashboard.attrs("#dash-month", "name"), ["month"]);
    assert_eq!(
        dashboard.attrs("button[formaction]", "formaction"),
        ["/ui/reports/monthly.csv"]
    );
    let month = time::OffsetDateTime::now_utc().date().to_string()[..7].to_string();
    let csv = olga
        .get(&format!("/ui/reports/monthly.csv?month={month}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some(format!("attachment; filename=\"qloop-report-{month}.csv\""))
    );
    let (from, to) = cloud_triage::cmd::report::month_range(&month).unwrap();
    let report =
        w.ui.store
            .monthly_report(&month, from, to, &w.ui.store.calendar())
            .await
            .unwrap();
    assert_eq!(
        csv.body,
        cloud_triage::cmd::report::csv(&report),
        "the CLI's CSV"
    );
    let html = olga
        .get(&format!("/ui/reports/monthly.html?month={month}"))
        .await;
    assert!(html
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(html.texts("h1"), [format!("Complaint analysis, {month}")]);
    for bad in ["", "?month=2026-13", "?month=last"] {
        let page = olga.get(&format!("/ui/reports/monthly.csv{bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.texts(".error")[0].contains("month"), "{bad}");
    }
}

#[tokio::test]
async fn every_role_sees_every_page_and_nobody_without_signing_in() {
    let w = search_world().await;
    let pages = [
        "/ui/search?q=brake".to_string(),
        format!("/ui/known-issues/{RECALL}"),
        "/ui/dashboard".to_string(),
        "/ui/reports/monthly.csv?month=2026-11".to_string(),
    ];
    for (role, name) in [
        (Role::Operator, "olga"),
        (Role::Engineer, "erin"),
        (Role::Admin, "ada"),
    ] {
        let who = sign_in(&w.ui, role, name).await;
        for path in &pages {
            let page = who.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{name} on {path}");
            assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        }
    }
    for path in &pages {
        let page = get_anonymous(&w.ui.base, path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page
            .header("location")
            .unwrap()
            .starts_with("/ui/login?next="));
    }
}
