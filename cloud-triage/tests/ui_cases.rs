//! The case list (`/ui/cases`) and its bulk merge, as HTML over real HTTP:
//! what each row shows, every filter, order and paging, the partial htmx
//! reloads, the refusals (bad filter, wrong role, nothing to merge), and
//! that the SLA filter finds exactly the cases whose badges say so.

mod ui_support;

#[path = "ui_cases/hazard.rs"]
mod hazard;

use cloud_triage::{
    app::{ingest::Triaged, patch::CaseUpdate, transition::Transition},
    now_ms,
    policy::Policy,
    store::{access::Role, AudioState, IngestMeta, Store},
    triage::Assessment,
};
use qloop_protocol::testing::EnvelopeBuilder;
use reqwest::StatusCode;
use ui_support::{get_anonymous, serve_ui, sign_in, Page};

/// A capture long ago: its case's clocks are long past due.
const LONG_AGO_MS: i64 = 1_717_000_000_000;

/// One report to open a case with.
struct Report<'a> {
    vin: String,
    text: &'a str,
    model: &'a str,
    software: (&'a str, &'a str),
    at_ms: i64,
}

impl<'a> Report<'a> {
    /// A report from a made-up VIN numbered `n`, said now.
    fn new(n: u32, text: &'a str) -> Self {
        Self {
            vin: format!("5YJ3E1EA7KF3{n:05}"),
            text,
            model: "Model 3",
            software: ("BCM", "1.0.0"),
            at_ms: now_ms(),
        }
    }

    fn envelope(&self) -> qloop_protocol::FeedbackEnvelope {
        let mut env = EnvelopeBuilder::new(&self.vin, self.text, self.at_ms)
            .software(self.software.0, self.software.1)
            .build();
        env.vehicle.model = self.model.into();
        env
    }

    fn meta(&self) -> IngestMeta {
        IngestMeta {
            received_at_ms: self.at_ms + 1_000,
            envelope_bytes: 500,
            asr: None,
            audio: AudioState::None,
        }
    }

    /// Opens its own case (no triage, so no linking); the case number.
    async fn open(&self, store: &Store) -> i64 {
        store
            .ingest_feedback(&self.envelope(), &self.meta())
            .await
            .unwrap()
            .case_id
    }
}

/// Reports from `vins` cars, triaged alike, so they join one case, which
/// becomes emerging at two vehicles; the case number.
async fn open_emerging(store: &Store, first_vin: u32, vins: u32) -> i64 {
    let mut policy = Policy::default();
    policy.emerging.min_vehicles = 2;
    let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
    vector[0] = 1.0;
    let assessment = Assessment {
        category: "brakes".into(),
        department: None,
        severity: "minor".into(),
        severity_reasons: vec![],
        hazard: None,
        confidence: 0.9,
        model_version: "test-model".into(),
        vector: Some(vector),
    };
    let mut case = 0;
    for n in first_vin..first_vin + vins {
        let report = Report::new(n, "the brake pedal sinks at lights");
        let triaged = Triaged {
            assessment: &assessment,
            matches: &[],
            policy: &policy,
        };
        case = store
            .ingest_triaged_feedback(&report.envelope(), &report.meta(), Some(triaged))
            .await
            .unwrap()
            .case_id;
    }
    case
}

/// The case numbers of a page's rows, in order.
fn row_ids(page: &Page) -> Vec<i64> {
    page.texts("#case-rows tbody td[data-label=Case] a")
        .iter()
        .map(|t| t.trim_start_matches('#').parse().unwrap())
        .collect()
}

#[tokio::test]
async fn each_row_shows_number_title_counts_and_one_sla_badge_per_metric() {
    let ui = serve_ui().await;
    let first = Report::new(1, "wipers smear at speed")
        .open(&ui.store)
        .await;
    let emerging = open_emerging(&ui.store, 10, 3).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let page = engineer.get("/ui/cases").await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(row_ids(&page), [emerging, first], "newest first");
    assert_eq!(
        page.attrs("#case-rows tbody td[data-label=Case] a", "href"),
        [
            format!("/ui/cases/{emerging}"),
            format!("/ui/cases/{first}")
        ]
    );
    assert_eq!(
        page.texts(&format!("#case-{first} td[data-label=Title]")),
        ["wipers smear at speed"]
    );
    assert_eq!(
        page.texts(&format!(
            "#case-{emerging} td[data-label=Title] .badge.emerging"
        )),
        ["emerging"]
    );
    assert_eq!(page.count(&format!("#case-{first} .badge.emerging")), 0);
    assert_eq!(
        page.texts(&format!("#case-{emerging} td[data-label=Vehicles]")),
        ["3"]
    );
    assert_eq!(
        page.texts(&format!("#case-{emerging} td[data-label=Reports]")),
        ["3"]
    );
    assert_eq!(
        page.texts(&format!("#case-{emerging} td[data-label=Category]")),
        ["brakes"]
    );
    assert_eq!(
        page.texts(&format!("#case-{first} td[data-label=Severity]")),
        ["unassessed"]
    );
    // A new case's clocks: routing, first response and resolution, all running.
    assert_eq!(
        page.attrs(&format!("#case-{first} .badge[data-metric]"), "data-metric"),
        ["route", "first_response", "resolution"]
    );
    assert_eq!(page.count(&format!("#case-{first} .badge.running")), 3);
    let route = &page.texts(&format!("#case-{first} .badge[data-metric=route]"))[0];
    assert!(
        route.starts_with("Route: ") && route.ends_with(" left"),
        "{route}"
    );
    assert_eq!(page.texts(".pager .range"), ["1–2 of 2"]);
    // The page carries its script, no inline one, and the CSP.
    assert_eq!(
        page.attrs("head script[src='/ui/static/cases.js']", "defer"),
        [""]
    );
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
}

#[tokio::test]
async fn every_filter_narrows_the_list_and_the_form_keeps_what_was_chosen() {
    let ui = serve_ui().await;
    let store = &ui.store;
    let plain = Report::new(1, "door rattles").open(store).await;
    let other_model = Report {
        model: "model  y",
        ..Report::new(2, "seat heater dead")
    }
    .open(store)
    .await;
    let new_software = Report {
        software: ("ADAS", "2.4.1-rc"),
        ..Report::new(3, "lane assist tugs")
    }
    .open(store)
    .await;
    let emerging = open_emerging(store, 10, 2).await;
    let policy = store.policy();
    let waiting = Transition {
        to: "waiting_customer".into(),
        actor: "alice".into(),
        message: None,
        reason: Some("asked for a video".into()),
        fields: Default::default(),
    };
    store
        .transition(plain, &waiting, &policy, now_ms())
        .await
        .unwrap();
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let ids = |path: &'static str| {
        let engineer = engineer.clone();
        async move { row_ids(&engineer.get(path).await) }
    };
    assert_eq!(ids("/ui/cases?status=waiting_customer").await, [plain]);
    assert_eq!(ids("/ui/cases?category=brakes").await, [emerging]);
    assert_eq!(ids("/ui/cases?severity=minor").await, [emerging]);
    assert_eq!(ids("/ui/cases?model=MODEL+Y").await, [other_model]);
    assert_eq!(
        ids("/ui/cases?model=Model%203&status=new&category=untriaged").await,
        [new_software]
    );
    assert_eq!(ids("/ui/cases?software=2.4").await, [new_software]);
    assert_eq!(ids("/ui/cases?software=adas+2.4.1").await, [new_software]);
    assert_eq!(
        ids("/ui/cases?software=%25").await,
        Vec::<i64>::new(),
        "a wildcard is literal"
    );
    assert_eq!(ids("/ui/cases?emerging=yes").await, [emerging]);
    assert_eq!(
        ids("/ui/cases?emerging=no").await,
        [new_software, other_model, plain]
    );
    assert_eq!(ids("/ui/cases?sla=paused").await, [plain]);
    // Empty fields, as a GET form sends them, filter nothing.
    assert_eq!(
        ids("/ui/cases?status=&category=&severity=&model=&software=&emerging=&sla=&sort=&limit=")
            .await,
        [emerging, new_software, other_model, plain]
    );

    let page = engineer
        .get("/ui/cases?status=waiting_customer&model=model+y&sla=paused")
        .await;
    assert_eq!(
        page.attrs("#f-status option[selected]", "value"),
        ["waiting_customer"]
    );
    assert_eq!(page.attrs("#f-model", "value"), ["model y"]);
    assert_eq!(page.attrs("#f-sla option[selected]", "value"), ["paused"]);
    assert_eq!(page.texts(".pager .range"), ["0–0 of 0"]);
    assert_eq!(page.count(".notice"), 1, "an empty result says so");
    // Every control of the form has a label.
    for id in page.attrs(".filters select, .filters input", "id") {
        assert_eq!(
            page.count(&format!(".filters label[for={id}]")),
            1,
            "{id} is labelled"
        );
    }
}

#[tokio::test]
async fn the_sla_filter_finds_exactly_the_cases_whose_badges_show_that_state() {
    let ui = serve_ui().await;
    let store = &ui.store;
    let running = Report::new(1, "radio resets").open(store).await;
    let breached = Report {
        at_ms: LONG_AGO_MS,
        ..Report::new(2, "boot will not latch")
    }
    .open(store)
    .await;
    let paused = Report::new(3, "mirror fold stuck").open(store).await;
    let routed = Report::new(4, "trunk light flickers").open(store).await;
    let policy = store.policy();
    let waiting = Transition {
        to: "waiting_customer".into(),
        actor: "alice".into(),
        message: None,
        reason: Some("asked for a photo".into()),
        fields: Default::default(),
    };
    store
        .transition(paused, &waiting, &policy, now_ms())
        .await
        .unwrap();
    let route = CaseUpdate {
        actor: "alice".into(),
        expected_updated_at_ms: None,
        set: serde_json::json!({"department": "body"})
            .as_object()
            .unwrap()
            .clone(),
    };
    store.update_case(routed, &route, now_ms()).await.unwrap();
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;
    let all = engineer.get("/ui/cases").await;

    for state in ["breached", "running", "paused", "met"] {
        let mut by_badges: Vec<i64> = row_ids(&all)
            .into_iter()
            .filter(|id| all.count(&format!("#case-{id} .badge.{state}")) > 0)
            .collect();
        by_badges.sort_unstable();
        let mut filtered = row_ids(&engineer.get(&format!("/ui/cases?sla={state}")).await);
        filtered.sort_unstable();
        assert_eq!(filtered, by_badges, "sla={state}");
    }
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?sla=breached").await),
        [breached]
    );
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?sla=paused").await),
        [paused]
    );
    assert_eq!(row_ids(&engineer.get("/ui/cases?sla=met").await), [routed]);
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?sla=running").await),
        [routed, running],
        "a routed case's other clocks still run"
    );
}

#[tokio::test]
async fn orders_and_pages_link_to_each_other_keeping_the_filters() {
    let ui = serve_ui().await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(Report::new(n, "horn weak").open(&ui.store).await);
    }
    let wide = open_emerging(&ui.store, 10, 3).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let oldest = engineer.get("/ui/cases?sort=oldest").await;
    assert_eq!(row_ids(&oldest), [ids[0], ids[1], ids[2], ids[3], wide]);
    let most = engineer.get("/ui/cases?sort=vehicles").await;
    assert_eq!(row_ids(&most)[0], wide);
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?sort=reports").await)[0],
        wide
    );
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?sort=severity").await)[0],
        wide,
        "minor before unassessed"
    );

    let first = engineer.get("/ui/cases?sort=oldest&limit=2").await;
    assert_eq!(row_ids(&first), [ids[0], ids[1]]);
    assert_eq!(first.texts(".pager .range"), ["1–2 of 5"]);
    assert_eq!(first.count(".pager a[rel=prev]"), 0);
    let next = first.attrs(".pager a[rel=next]", "href");
    assert_eq!(next, ["/ui/cases?sort=oldest&limit=2&offset=2"]);
    assert_eq!(first.attrs(".pager a[rel=next]", "hx-get"), next);

    let last = engineer.get("/ui/cases?sort=oldest&limit=2&offset=4").await;
    assert_eq!(row_ids(&last), [wide]);
    assert_eq!(last.texts(".pager .range"), ["5–5 of 5"]);
    assert_eq!(last.count(".pager a[rel=next]"), 0);
    assert_eq!(
        last.attrs(".pager a[rel=prev]", "href"),
        ["/ui/cases?sort=oldest&limit=2&offset=2"]
    );
    assert_eq!(last.attrs("#f-sort option[selected]", "value"), ["oldest"]);
}

#[tokio::test]
async fn htmx_gets_only_the_rows_which_reload_every_30_s_from_their_own_address() {
    let ui = serve_ui().await;
    let case = Report::new(1, "key fob not found").open(&ui.store).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let rows = engineer
        .get_htmx("/ui/cases?status=new&sort=last_seen")
        .await;

    assert_eq!(rows.status, StatusCode::OK);
    assert_eq!(rows.count("h1"), 0, "no page around the rows");
    assert_eq!(rows.count("form.filters"), 0);
    assert_eq!(row_ids(&rows), [case]);
    assert_eq!(
        rows.attrs("#case-rows", "hx-trigger"),
        ["every 30s, cases-refresh"]
    );
    assert_eq!(
        rows.attrs("#case-rows", "hx-get"),
        ["/ui/cases?status=new&sort=last_seen"]
    );
    assert_eq!(rows.attrs("#case-rows", "hx-swap"), ["outerHTML"]);

    let full = engineer.get("/ui/cases").await;
    assert_eq!(full.attrs("form.filters", "hx-get"), ["/ui/cases"]);
    assert_eq!(full.attrs("form.filters", "hx-target"), ["#case-rows"]);
    assert_eq!(full.attrs("form.filters", "hx-push-url"), ["true"]);
    assert_eq!(
        full.attrs("form.filters", "method"),
        ["get"],
        "works without JavaScript"
    );
}

#[tokio::test]
async fn a_bad_filter_is_a_400_page_naming_the_allowed_values() {
    let ui = serve_ui().await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    for (query, says) in [
        (
            "status=open",
            "status: \"open\" is not one of new, acknowledged, contained",
        ),
        (
            "severity=high",
            "severity: \"high\" is not one of major, minor, unassessed",
        ),
        (
            "category=tyres-and-more",
            "category: \"tyres-and-more\" is not one of ",
        ),
        (
            "sla=late",
            "sla: \"late\" is not one of breached, running, paused, met",
        ),
        (
            "sort=name",
            "sort: \"name\" is not one of newest, oldest, last_seen",
        ),
        (
            "emerging=maybe",
            "emerging: \"maybe\" is not one of yes, no",
        ),
        ("limit=0", "limit must be between 1 and 500, got 0"),
        ("offset=-1", "offset must not be negative, got -1"),
        ("limit=ten", "limit must be a whole number, got \"ten\""),
    ] {
        let page = engineer.get(&format!("/ui/cases?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        let message = page.texts("p.error").join(" ");
        assert!(message.contains(says), "{query}: {message}");
    }
    let page = engineer.get("/ui/cases?category=nope").await;
    assert!(
        page.texts("p.error")[0].contains("brakes"),
        "the categories are named"
    );
}

#[tokio::test]
async fn the_list_needs_a_session_and_escapes_what_cars_send() {
    let ui = serve_ui().await;
    Report::new(1, "<script>alert(1)</script> & <b>bold</b>")
        .open(&ui.store)
        .await;
    let anonymous = get_anonymous(&ui.base, "/ui/cases").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(anonymous
        .header("location")
        .unwrap()
        .starts_with("/ui/login?next="));

    let page = sign_in(&ui, Role::Operator, "olga")
        .await
        .get("/ui/cases")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(page.count("td script, td b"), 0);
    assert!(page.texts("td[data-label=Title]")[0].starts_with("<script>alert(1)</script> & <b>"));
}

#[tokio::test]
async fn operators_see_no_merge_control_and_are_refused_a_merge() {
    let ui = serve_ui().await;
    let a = Report::new(1, "fan loud").open(&ui.store).await;
    let b = Report::new(2, "fan noisy").open(&ui.store).await;
    let operator = sign_in(&ui, Role::Operator, "olga").await;

    let page = operator.get("/ui/cases").await;
    assert_eq!(row_ids(&page), [b, a]);
    assert_eq!(page.count("input[name=ids]"), 0);
    assert_eq!(page.count("#bulk-merge"), 0);

    let refused = operator
        .post_htmx(
            "/ui/cases/bulk-merge",
            &[
                ("ids", a.to_string().as_str()),
                ("into", b.to_string().as_str()),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.texts("p.error")[0].contains("POST /api/cases/{id}/merge"));
    let still = ui.store.get_case(a).await.unwrap().unwrap();
    assert_eq!(still.summary.status.as_str(), "new");

    for role in [Role::Engineer, Role::Admin] {
        let page = sign_in(&ui, role, "erin").await.get("/ui/cases").await;
        assert_eq!(page.count("#bulk-merge input[name=ids]"), 2, "{role:?}");
        assert_eq!(
            page.attrs("#bulk-merge input[name=ids]", "aria-label"),
            [
                format!("Select case #{b} for merging"),
                format!("Select case #{a} for merging")
            ]
        );
        assert_eq!(page.count("#bulk-merge label[for=merge-into]"), 1);
    }
}

#[tokio::test]
async fn a_bulk_merge_merges_each_selected_case_and_reports_each() {
    let ui = serve_ui().await;
    let a = Report::new(1, "sunroof leaks").open(&ui.store).await;
    let b = Report::new(2, "sunroof drips").open(&ui.store).await;
    let c = Report::new(3, "sunroof wet").open(&ui.store).await;
    let closed = Report::new(4, "roof wet").open(&ui.store).await;
    let policy = ui.store.policy();
    let cancel = Transition {
        to: "cancelled".into(),
        actor: "alice".into(),
        message: None,
        reason: Some("duplicate".into()),
        fields: Default::default(),
    };
    ui.store
        .transition(closed, &cancel, &policy, now_ms())
        .await
        .unwrap();
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let (a_, b_, c_, closed_) = (
        a.to_string(),
        b.to_string(),
        c.to_string(),
        closed.to_string(),
    );
    let answer = engineer
        .post_htmx(
            "/ui/cases/bulk-merge",
            &[
                ("ids", a_.as_str()),
                ("ids", b_.as_str()),
                ("ids", closed_.as_str()),
                ("ids", "999"),
                ("into", format!("#{c_}").as_str()),
            ],
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("hx-trigger").as_deref(), Some("cases-merged"));
    assert_eq!(answer.texts("p[role=status]"), ["2 of 4 merged."]);
    assert_eq!(
        answer.attrs(".merge-outcomes li a", "href"),
        [a, b, closed, 999].map(|id| format!("/ui/cases/{id}"))
    );
    let outcomes = answer.texts(".merge-outcomes li .outcome");
    assert_eq!(outcomes[0], format!("merged into #{c}"));
    assert_eq!(outcomes[1], format!("merged into #{c}"));
    assert_eq!(
        outcomes[2],
        format!("case {closed} is cancelled; only open cases can be merged")
    );
    assert_eq!(outcomes[3], "case 999 not found");
    assert_eq!(answer.count(".merge-outcomes li.refused"), 2);

    for merged in [a, b] {
        let case = ui.store.get_case(merged).await.unwrap().unwrap();
        assert_eq!(case.summary.status.as_str(), "merged");
        assert_eq!(case.summary.merged_into, Some(c));
        assert!(case
            .history
            .iter()
            .any(|h| h.actor == "alice" && h.field == "merged_into"));
    }
    let target = ui.store.get_case(c).await.unwrap().unwrap();
    assert_eq!(target.summary.occurrence_count, 3);
    assert_eq!(target.summary.vehicle_count, 3);
    let list = engineer.get("/ui/cases?status=merged").await;
    assert_eq!(row_ids(&list), [b, a]);
}

#[tokio::test]
async fn a_bulk_merge_that_merges_nothing_is_a_422_saying_why() {
    let ui = serve_ui().await;
    let a = Report::new(1, "wiper squeaks").open(&ui.store).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;
    let a_ = a.to_string();

    for (fields, says) in [
        (
            vec![("into", a_.as_str())],
            "Select at least one case to merge.".to_string(),
        ),
        (
            vec![("ids", a_.as_str()), ("into", "")],
            "Name the case to merge into by its number.".into(),
        ),
        (
            vec![("ids", a_.as_str()), ("into", "77")],
            "There is no case #77 to merge into.".into(),
        ),
    ] {
        let answer = engineer.post_htmx("/ui/cases/bulk-merge", &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert_eq!(answer.texts("p.error[role=alert]"), [says]);
        assert_eq!(answer.header("hx-trigger"), None);
    }
    // Into itself: the merge use case's own refusal, per case.
    let answer = engineer
        .post_htmx(
            "/ui/cases/bulk-merge",
            &[("ids", a_.as_str()), ("into", a_.as_str())],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.texts("p[role=status]"), ["0 of 1 merged."]);
    assert_eq!(
        answer.texts(".merge-outcomes li.refused .outcome"),
        ["into: a case cannot be merged into itself"]
    );
    assert_eq!(
        ui.store
            .get_case(a)
            .await
            .unwrap()
            .unwrap()
            .summary
            .status
            .as_str(),
        "new"
    );
}

#[tokio::test]
async fn a_bulk_merge_without_javascript_answers_with_the_whole_list_and_needs_the_csrf_token() {
    let ui = serve_ui().await;
    let a = Report::new(1, "tailgate slow").open(&ui.store).await;
    let b = Report::new(2, "tailgate sluggish").open(&ui.store).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;
    let (a_, b_) = (a.to_string(), b.to_string());

    let forged = engineer
        .post_raw(
            "/ui/cases/bulk-merge",
            &[("ids", a_.as_str()), ("into", b_.as_str())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ui.store
            .get_case(a)
            .await
            .unwrap()
            .unwrap()
            .summary
            .status
            .as_str(),
        "new"
    );

    let page = engineer
        .post(
            "/ui/cases/bulk-merge",
            &[("ids", a_.as_str()), ("into", b_.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1"), ["Cases"]);
    assert_eq!(
        page.texts("#merge-result .merge-outcomes li .outcome"),
        [format!("merged into #{b}")]
    );
    assert_eq!(
        page.attrs("#bulk-merge input[name=csrf]", "value"),
        [engineer.csrf.as_str()]
    );
    assert_eq!(
        page.texts(&format!("#case-{a} td[data-label=Status]")),
        ["merged"]
    );
}
