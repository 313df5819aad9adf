//! Server time of the web UI's two heaviest pages: the case list
//! (`/ui/cases`, the default page and a filtered one) and the case page of
//! a case of 300 reports (`/ui/cases/{id}`), over a SQLite store of about
//! 10,000 cases. No network: each request goes through the axum router
//! with `tower::ServiceExt::oneshot`, signed in with a real session cookie,
//! and its time includes reading the whole body. The named baseline,
//! measured the same way on the same store, is the JSON API's same read
//! (`/api/cases`, `/api/cases/{id}` with a Bearer token), so `ratio_p99`
//! is what drawing HTML costs over serving JSON.
//!
//! `cargo run --release -p cloud-triage --example bench_ui [-- CASES]`
//! seeds through the ingest use case (10,000 cases by default, one report
//! each, no triage so none link; then 300 triaged reports that link into
//! one case), prints one JSON line for the seed and one per route.

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request, Router};
use cloud_triage::{
    api::{router, ApiState},
    app::ingest::Triaged,
    now_ms,
    policy::Policy,
    store::{access::Role, AudioState, IngestMeta, Store},
    triage::Assessment,
    views::{CaseQuery, CaseSort},
};
use qloop_protocol::{testing::EnvelopeBuilder, FeedbackEnvelope};
use tower::ServiceExt;

/// Requests measured per route (after the warm-up).
const REQUESTS: usize = 300;
/// Requests sent first and not measured.
const WARM_UP: usize = 30;
/// Reports in the big case.
const BIG_CASE_REPORTS: u32 = 300;
/// The vehicle models the seeded cases spread over.
const MODELS: [&str; 3] = ["Model 3", "Model Y", "Model S"];
/// The filtered list measured: model, SLA state and an order, all at once.
const FILTERED: &str = "/ui/cases?model=model+y&sla=breached&sort=vehicles";
/// The same filters the JSON API knows (status, severity), for its baseline.
const FILTERED_BASELINE: &str = "/api/cases?status=new&severity=unassessed";

/// Report `i` of the seed: its own VIN and words, a model and a software
/// version of a few, and one case in three (of every model) captured a
/// month ago (its clocks breached by now).
fn seed_report(i: u32, now: i64) -> (FeedbackEnvelope, IngestMeta) {
    let at = if (i / 3).is_multiple_of(3) {
        now - 30 * 86_400_000
    } else {
        now - 60_000
    };
    let mut env = EnvelopeBuilder::new(
        &format!("5YJ3E1EA7KF{i:06}"),
        &format!(
            "report {i}: the {} rattles near {} km/h",
            ["door", "seat", "dash", "mirror"][i as usize % 4],
            40 + i % 90
        ),
        at,
    )
    .software("BCM", &format!("2.{}.{}", i % 7, i % 3))
    .speed(&[(at - 500, 50.0), (at, 52.0)])
    .build();
    env.vehicle.model = MODELS[i as usize % MODELS.len()].into();
    let meta = IngestMeta {
        received_at_ms: at + 1_000,
        envelope_bytes: 1_000,
        asr: None,
        audio: AudioState::None,
    };
    (env, meta)
}

/// Seeds `cases` single-report cases and one case of 300 reports; returns
/// the big case's number.
async fn seed(store: &Store, cases: u32) -> anyhow::Result<i64> {
    let now = now_ms();
    for i in 0..cases {
        let (env, meta) = seed_report(i, now);
        store.ingest_feedback(&env, &meta).await?;
    }
    let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
    vector[0] = 1.0;
    let assessment = Assessment {
        category: "brakes".into(),
        department: Some("chassis".into()),
        severity: "minor".into(),
        severity_reasons: vec![],
        hazard: None,
        confidence: 0.9,
        model_version: "bench".into(),
        vector: Some(vector),
    };
    let policy = Policy::default();
    let mut big = 0;
    for i in 0..BIG_CASE_REPORTS {
        // One model, captured and received within the last minutes: all
        // of them link (linking keeps model families and windows apart).
        let (mut env, mut meta) = seed_report(cases + i, now);
        env.vehicle.model = MODELS[0].into();
        env.captured_at_ms = now - 600_000 + i64::from(i);
        meta.received_at_ms = env.captured_at_ms + 1_000;
        let triaged = Triaged {
            assessment: &assessment,
            matches: &[],
            policy: &policy,
        };
        big = store
            .ingest_triaged_feedback(&env, &meta, Some(triaged))
            .await?
            .case_id;
    }
    Ok(big)
}

/// The case with the most reports, when the store holds any.
async fn largest_case(store: &Store) -> anyhow::Result<Option<i64>> {
    let query = CaseQuery {
        sort: Some(CaseSort::Reports),
        limit: Some(1),
        ..CaseQuery::default()
    };
    Ok(store.list_cases(&query).await?.items.first().map(|c| c.id))
}

/// One request's status and server time, the body read to its end.
async fn timed(app: &Router, path: &str, header: (&str, &str)) -> anyhow::Result<(u16, Duration)> {
    let request = Request::get(path)
        .header(header.0, header.1)
        .body(Body::empty())?;
    let start = Instant::now();
    let response = app.clone().oneshot(request).await?;
    let status = response.status().as_u16();
    axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, start.elapsed()))
}

/// The p50 and p99 of `REQUESTS` requests, in ms, and the status answered.
async fn measure(
    app: &Router,
    path: &str,
    header: (&str, &str),
) -> anyhow::Result<(u16, f64, f64)> {
    for _ in 0..WARM_UP {
        timed(app, path, header).await?;
    }
    let mut times = Vec::with_capacity(REQUESTS);
    let mut status = 0;
    for _ in 0..REQUESTS {
        let (s, t) = timed(app, path, header).await?;
        status = s;
        times.push(t.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((q * REQUESTS as f64).ceil() as usize).clamp(1, REQUESTS) - 1];
    Ok((status, at(0.50), at(0.99)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cases: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // QLOOP_BENCH_UI_DIR keeps the database there, and a second run
    // measures the one seeded before (for EXPLAIN and index work).
    let temp = tempfile::tempdir()?;
    let dir = std::env::var_os("QLOOP_BENCH_UI_DIR")
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let store = Store::connect(&url).await?;

    let started = Instant::now();
    let big = match largest_case(&store).await? {
        Some(id) => id,
        None => seed(&store, cases).await?,
    };
    let counts = store.counts().await?;
    let big_reports = store
        .get_case(big)
        .await?
        .map_or(0, |c| c.summary.occurrence_count);
    println!(
        "{}",
        serde_json::json!({
            "bench": "ui_seed", "cases": counts.cases, "feedback": counts.feedback,
            "big_case": big, "big_case_reports": big_reports,
            "seed_s": started.elapsed().as_secs_f64(),
        })
    );

    let state = ApiState {
        store: store.clone(),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let index = Arc::new(qloop_knowledge::KnowledgeIndex::in_memory()?);
    let app = router(state.clone())
        .merge(cloud_triage::ui::router(state))
        .layer(axum::Extension(index));
    let token = store
        .create_token(Role::Engineer, "bench", now_ms())
        .await?;
    let session = store
        .open_ui_session(&token, now_ms())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the bench token opened no session"))?;
    let cookie = format!("qloop_session={}", session.id);
    let bearer = format!("Bearer {token}");

    let case_page = format!("/ui/cases/{big}");
    let case_baseline = format!("/api/cases/{big}");
    let routes = [
        ("/ui/cases", "/api/cases"),
        (FILTERED, FILTERED_BASELINE),
        (case_page.as_str(), case_baseline.as_str()),
    ];
    for (route, baseline) in routes {
        let (status, p50, p99) = measure(&app, route, ("cookie", &cookie)).await?;
        let (baseline_status, _, baseline_p99) =
            measure(&app, baseline, ("authorization", &bearer)).await?;
        println!(
            "{}",
            serde_json::json!({
                "bench": "ui", "route": route, "status": status, "n": REQUESTS,
                "p50_ms": p50, "p99_ms": p99,
                "baseline": baseline, "baseline_status": baseline_status,
                "baseline_p99_ms": baseline_p99, "ratio_p99": p99 / baseline_p99,
            })
        );
    }
    Ok(())
}
