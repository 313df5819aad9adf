//! Search (`/ui/search`), known issues (`/ui/known-issues/{id}`), the
//! dashboard (`/ui/dashboard`) and the monthly report downloads, as HTML
//! over real HTTP: what each page computes and shows, where every hit
//! links, that a driver's markup stays text, the htmx partials, each role,
//! and the error pages (bad query, unknown known issue, bad period, bad
//! month, no index).

#[path = "ui_search_dashboard/dashboard.rs"]
mod dashboard;
#[path = "ui_search_dashboard/search.rs"]
mod search;
mod ui_support;

use cloud_triage::{
    app::{ingest::Triaged, transition::Transition},
    now_ms,
    policy::Policy,
    store::{access::Role, AudioState, CaseMatch, IngestMeta, Store},
    triage::Assessment,
};
use qloop_protocol::testing::EnvelopeBuilder;
use reqwest::StatusCode;
use ui_support::{get_anonymous, sign_in};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// A Ford recall in the NHTSA file: the block heater cable (2015–2019 F-150).
const RECALL: &str = "18V894000";

/// A fresh SQLite store in its own directory.
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
        hazard: None,
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

#[tokio::test]
async fn every_role_sees_every_page_and_nobody_without_signing_in() {
    let w = search::search_world().await;
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
