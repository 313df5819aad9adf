//! A simulated month: 2,000 feedbacks from 300 vehicles about 60 issues,
//! replayed in time order with engineers working the cases (first answers
//! sometimes late, customers sometimes slow, fixes that sometimes do not
//! satisfy) and the SLA scheduler ticking every 30 minutes. At the end the
//! monthly report, the metrics and the database agree, and every SLA breach
//! produced exactly one escalation.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap},
};

use cloud_triage::{
    app::{ingest::Triaged, transition::Transition},
    policy::Policy,
    store::{AudioState, IngestMeta},
    triage::Assessment,
};
use serde_json::{json, Map, Value};
use sqlx::Row;

use crate::{
    on_both_backends,
    support::{envelope, TestDb},
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-10-01T00:00:00Z.
const OCTOBER: i64 = 1_790_812_800_000;
const MODELS: [&str; 5] = ["Model 3", "Model Y", "Forte", "Genesis", "Yaris"];

/// xorshift64*: deterministic, so every run replays the same month.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Feedback { issue: usize, vin: usize },
    Work { case: i64, step: u8 },
}

fn transition(to: &str, fields: Value, message: Option<&str>, reason: Option<&str>) -> Transition {
    Transition {
        to: to.into(),
        actor: "sim".into(),
        message: message.map(String::from),
        reason: reason.map(String::from),
        fields: fields.as_object().cloned().unwrap_or_else(Map::new),
    }
}

async fn simulated_month_agrees_with_itself_and_escalates_each_breach_once(db: &TestDb) {
    let policy = Policy::default();
    let mut rng = Rng(0x5EED_2026_1001);
    const DIM: usize = qloop_models::EMBEDDING_DIM;
    // 60 issues: a model, a category, a direction; a tenth are safety issues.
    let issues: Vec<(usize, String, usize, bool)> = (0..60)
        .map(|i| (i % MODELS.len(), format!("cat{}", i % 12), i, i % 10 == 0))
        .collect();
    let vins: Vec<String> = (0..300)
        .map(|i| format!("5YJ3E1EA7KF{:06}", 300_000 + i))
        .collect();
    let mut queue: BinaryHeap<Reverse<(i64, Step)>> = BinaryHeap::new();
    for _ in 0..2_000 {
        // Popular issues get most reports.
        let issue = (rng.below(60) * rng.below(60) / 60) as usize;
        let model = issues[issue].0;
        let vin = (rng.below(60) as usize) * MODELS.len() + model;
        queue.push(Reverse((
            OCTOBER + rng.below(30 * DAY as u64) as i64,
            Step::Feedback { issue, vin },
        )));
    }
    let mut next_tick = OCTOBER;
    let mut worked: BTreeMap<i64, bool> = BTreeMap::new();
    let mut late_first_answers = 0usize;
    while let Some(Reverse((at, step))) = queue.pop() {
        while next_tick <= at {
            db.store.sla_tick(&policy.sla, next_tick).await.unwrap();
            next_tick += 30 * MIN;
        }
        match step {
            Step::Feedback { issue, vin } => {
                let (model, category, axis, major) = &issues[issue];
                let mut env = envelope(&vins[vin], &format!("issue {issue} again"));
                env.vehicle.model = MODELS[*model].into();
                env.captured_at_ms = at;
                let mut v = vec![0.0f32; DIM];
                v[*axis] = 1.0;
                v[(axis + 1 + rng.below(5) as usize) % DIM] = 0.3;
                let a = Assessment {
                    category: category.clone(),
                    department: Some("Quality".into()),
                    severity: if *major { "major" } else { "minor" }.into(),
                    severity_reasons: vec![],
                    hazard: None,
                    confidence: 0.9,
                    model_version: "sim".into(),
                    vector: Some(v),
                };
                let meta = IngestMeta {
                    received_at_ms: at,
                    envelope_bytes: 400,
                    asr: None,
                    audio: AudioState::None,
                };
                let out = db
                    .store
                    .ingest_triaged_feedback(
                        &env,
                        &meta,
                        Some(Triaged {
                            assessment: &a,
                            matches: &[],
                            policy: &policy,
                        }),
                    )
                    .await
                    .unwrap();
                if out.linked.is_none() && worked.insert(out.case_id, true).is_none() {
                    // First answer: mostly within the hour, one in six late.
                    let delay = if rng.chance(17) {
                        2 * HOUR + rng.below(6 * HOUR as u64) as i64
                    } else {
                        rng.below(HOUR as u64) as i64 + MIN
                    };
                    let target = if *major { HOUR } else { 2 * HOUR };
                    if delay > target {
                        late_first_answers += 1;
                    }
                    queue.push(Reverse((
                        at + delay,
                        Step::Work {
                            case: out.case_id,
                            step: 0,
                        },
                    )));
                }
            }
            Step::Work { case, step } => {
                let later = |rng: &mut Rng, max: i64| at + MIN + rng.below(max as u64) as i64;
                let next = match step {
                    0 => {
                        db.store
                            .transition(
                                case,
                                &transition(
                                    "acknowledged",
                                    json!({}),
                                    Some("We are looking into it."),
                                    None,
                                ),
                                &policy,
                                at,
                            )
                            .await
                            .unwrap();
                        Some((later(&mut rng, 20 * HOUR), 1))
                    }
                    1 if rng.chance(15) => {
                        db.store
                            .transition(
                                case,
                                &transition(
                                    "waiting_customer",
                                    json!({}),
                                    None,
                                    Some("need a photo"),
                                ),
                                &policy,
                                at,
                            )
                            .await
                            .unwrap();
                        Some((later(&mut rng, 2 * DAY), 2))
                    }
                    1 | 2 => {
                        if step == 2 {
                            db.store
                                .transition(
                                    case,
                                    &transition("acknowledged", json!({}), None, None),
                                    &policy,
                                    at,
                                )
                                .await
                                .unwrap();
                        }
                        db.store.transition(case, &transition("contained", json!({"ica_action": "inspect", "ica_owner": "sim", "ica_implemented_at_ms": at, "ica_verification": "ok"}), None, None), &policy, at).await.unwrap();
                        db.store.transition(case, &transition("root_cause_found", json!({"root_cause": "part", "root_cause_occurrence": "supplier", "root_cause_escape_point": "test gap", "root_cause_evidence": "teardown"}), None, None), &policy, at + MIN).await.unwrap();
                        Some((later(&mut rng, 60 * HOUR), 3))
                    }
                    3 => {
                        db.store.transition(case, &transition("corrective_action_implemented", json!({"pca_action": format!("new part for case {case}"), "pca_owner": "sim", "pca_implemented_at_ms": at, "pca_validation": "bench"}), None, None), &policy, at).await.unwrap();
                        db.store.transition(case, &transition("effectiveness_verified", json!({"verification": "fleet data", "verification_owner": "sim"}), Some("Fixed."), None), &policy, at + MIN).await.unwrap();
                        Some((at + 5 * DAY + HOUR, 4))
                    }
                    4 => {
                        let status = db
                            .store
                            .get_case(case)
                            .await
                            .unwrap()
                            .unwrap()
                            .summary
                            .status;
                        if matches!(status.as_str(), "effectiveness_verified" | "follow_up") {
                            let score = if rng.chance(85) { 5 } else { 2 };
                            db.store
                                .record_satisfaction(case, score, None, "driver", &policy, at)
                                .await
                                .unwrap();
                            (score < 4).then_some((at + HOUR, 0))
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                if let Some((when, step)) = next {
                    // Work stops at the end of the month: what is open stays open.
                    if when < OCTOBER + 31 * DAY {
                        queue.push(Reverse((when, Step::Work { case, step })));
                    }
                }
            }
        }
    }
    let end = OCTOBER + 31 * DAY;
    while next_tick <= end {
        db.store.sla_tick(&policy.sla, next_tick).await.unwrap();
        next_tick += 30 * MIN;
    }

    let wt = policy.sla.calendar.working_time().unwrap();
    let report = db
        .store
        .monthly_report("2026-10", OCTOBER, end, &wt)
        .await
        .unwrap();
    let metrics = db.store.response_times(OCTOBER, end, &wt).await.unwrap();
    let mut conn = db.raw_connection().await;
    let scalar = |sql: &'static str| sql;
    let count = |row: sqlx::any::AnyRow| row.get::<i64, _>(0);

    // The report and the metrics are the same figures.
    assert_eq!(report.sla, metrics);
    // Volumes add up to the feedback in the database.
    let feedback: i64 = count(
        sqlx::query(scalar("SELECT COUNT(*) FROM feedback"))
            .fetch_one(&mut conn)
            .await
            .unwrap(),
    );
    assert_eq!(feedback, 2_000);
    for map in [&report.by_category, &report.by_severity, &report.by_model] {
        assert_eq!(map.values().sum::<i64>(), feedback);
    }
    let cases: i64 = count(
        sqlx::query(scalar(
            "SELECT COUNT(*) FROM cases WHERE status <> 'merged'",
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap(),
    );
    assert_eq!(metrics.cases as i64, cases);
    assert!(
        cases < 400,
        "2,000 reports of 60 issues link into far fewer cases: {cases}"
    );
    let closed: i64 = count(
        sqlx::query(scalar("SELECT COUNT(*) FROM cases WHERE status = 'closed'"))
            .fetch_one(&mut conn)
            .await
            .unwrap(),
    );
    assert_eq!(metrics.closure_rate, closed as f64 / cases as f64);
    let top: i64 = count(
        sqlx::query("SELECT COUNT(*) FROM feedback WHERE case_id = $1")
            .bind(report.top_issues[0].0)
            .fetch_one(&mut conn)
            .await
            .unwrap(),
    );
    assert_eq!(report.top_issues[0].3, top);
    let actions: i64 = count(
        sqlx::query(scalar(
            "SELECT COUNT(*) FROM cases WHERE pca_implemented_at_ms IS NOT NULL",
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap(),
    );
    assert_eq!(report.preventive_actions.len() as i64, actions);
    assert!(actions > 20, "engineers fixed things this month: {actions}");

    // Every breached clock has exactly one `breached` escalation, and no
    // escalation lacks its breach.
    let breached: Vec<(i64, String)> = sqlx::query_as("SELECT case_id, metric FROM sla_clocks WHERE breached_at_ms IS NOT NULL ORDER BY case_id, metric")
        .fetch_all(&mut conn).await.unwrap();
    let escalated: Vec<(i64, String)> = sqlx::query_as(
        "SELECT case_id, metric FROM escalations WHERE kind = 'breached' ORDER BY case_id, metric",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(breached, escalated);
    assert_eq!(
        report.escalations.get("breached").copied().unwrap_or(0),
        escalated.len() as i64
    );
    // The simulator knows which first answers it gave late.
    let first_breaches = breached
        .iter()
        .filter(|(_, m)| m == "first_response")
        .count();
    assert_eq!(
        first_breaches, late_first_answers,
        "first responses given after their target"
    );
    assert!(
        late_first_answers > 5,
        "the month had late answers to count: {late_first_answers}"
    );
    let breach_total: usize = metrics.breaches.values().map(|b| b.breached).sum();
    let running_late: i64 = count(
        sqlx::query("SELECT COUNT(*) FROM sla_clocks s JOIN cases c ON c.id = s.case_id WHERE s.stopped_at_ms IS NULL AND s.breached_at_ms IS NULL AND s.due_at_ms <= $1 AND c.status NOT IN ('merged', 'cancelled')")
            .bind(end).fetch_one(&mut conn).await.unwrap(),
    );
    assert_eq!(running_late, 0, "the scheduler marked every clock past due");
    assert_eq!(
        breach_total,
        breached.len(),
        "metrics count each breached clock"
    );
    let majors: i64 = count(
        sqlx::query(scalar(
            "SELECT COUNT(*) FROM escalations WHERE kind = 'major'",
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap(),
    );
    let major_cases: i64 = count(
        sqlx::query(scalar(
            "SELECT COUNT(*) FROM cases WHERE severity = 'major'",
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap(),
    );
    assert_eq!(majors, major_cases, "each major case escalated once");
    let reopened: i64 = count(
        sqlx::query(scalar("SELECT COUNT(*) FROM cases WHERE reopen_count > 0"))
            .fetch_one(&mut conn)
            .await
            .unwrap(),
    );
    assert!(reopened > 0 && metrics.reopen_rate > 0.0);
    eprintln!(
        "simulated month: {feedback} feedback, {cases} cases, {closed} closed, {} breaches, {late_first_answers} late first answers, {reopened} reopened",
        breached.len()
    );
}
on_both_backends!(simulated_month_agrees_with_itself_and_escalates_each_breach_once);
