//! Cases walked through every lifecycle path with a test clock: on time,
//! breached, paused while waiting on the customer, escalated major,
//! reopened after an unsatisfied follow-up, merged; and refused transitions
//! that name what is missing. Each SLA breach raises exactly one escalation.
//!
//! Time is explicit (Unix ms passed to each call) rather than paused tokio
//! time: a paused runtime auto-advances while sqlx waits on its SQLite
//! worker thread and fires the pool's acquire timeout, so the store is
//! driven by a clock the test owns instead.

use cloud_triage::{
    app::{ingest::Triaged, transition::Transition},
    policy::Policy,
    store::{IngestMeta, StoreError},
    triage::Assessment,
};
use qloop_protocol::EventKind;
use serde_json::{json, Map, Value};

use crate::{
    on_both_backends,
    support::{envelope, TestDb, CAPTURED_AT_MS, VIN},
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const T0: i64 = CAPTURED_AT_MS + 1_000;

fn assessment(severity: &str, axis: usize) -> Assessment {
    let mut v = vec![0.0; qloop_models::EMBEDDING_DIM];
    v[axis] = 1.0;
    Assessment {
        category: "brakes".into(),
        department: Some("Chassis".into()),
        severity: severity.into(),
        severity_reasons: vec![],
        hazard: None,
        confidence: 0.9,
        model_version: "test".into(),
        vector: Some(v),
    }
}

/// Opens a case at `T0` (its own issue: `axis` keeps reports apart).
async fn open(db: &TestDb, severity: &str, axis: usize, policy: &Policy) -> i64 {
    let env = envelope(VIN, "the brake pedal is soft");
    let meta = IngestMeta {
        received_at_ms: T0,
        envelope_bytes: 500,
        asr: None,
        audio: cloud_triage::store::AudioState::None,
    };
    let a = assessment(severity, axis);
    db.store
        .ingest_triaged_feedback(
            &env,
            &meta,
            Some(Triaged {
                assessment: &a,
                matches: &[],
                policy,
            }),
        )
        .await
        .unwrap()
        .case_id
}

fn to(state: &str, fields: Value) -> Transition {
    let mut fields: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
    let message = fields
        .remove("message")
        .and_then(|m| m.as_str().map(String::from));
    let reason = fields
        .remove("reason")
        .and_then(|m| m.as_str().map(String::from));
    Transition {
        to: state.into(),
        actor: "alice".into(),
        message,
        reason,
        fields,
    }
}

async fn go(
    db: &TestDb,
    id: i64,
    t: Transition,
    policy: &Policy,
    at: i64,
) -> cloud_triage::store::CaseDetail {
    db.store
        .transition(id, &t, policy, at)
        .await
        .unwrap_or_else(|e| panic!("{} at {at}: {e}", t.to))
}

/// The 8D path up to a verified fix.
async fn work_to_resolution(db: &TestDb, id: i64, policy: &Policy, start: i64, resolve_at: i64) {
    go(
        db,
        id,
        to("acknowledged", json!({"message": "We are on it."})),
        policy,
        start,
    )
    .await;
    go(
        db,
        id,
        to(
            "contained",
            json!({"ica_action": "check brake fluid at every stop", "ica_owner": "bob",
        "ica_implemented_at_ms": start + HOUR, "ica_verification": "no new reports"}),
        ),
        policy,
        start + HOUR,
    )
    .await;
    go(
        db,
        id,
        to(
            "root_cause_found",
            json!({"root_cause": "seal", "root_cause_occurrence": "supplier lot 7",
        "root_cause_escape_point": "no leak test", "root_cause_evidence": "teardown report"}),
        ),
        policy,
        start + 2 * HOUR,
    )
    .await;
    go(
        db,
        id,
        to(
            "corrective_action_implemented",
            json!({"pca_action": "new seal", "pca_owner": "carol",
        "pca_implemented_at_ms": start + 3 * HOUR, "pca_validation": "100 cycles"}),
        ),
        policy,
        start + 3 * HOUR,
    )
    .await;
    // Keep the driver posted every 12 hours while the fix is tested.
    let mut at = start + 12 * HOUR;
    while at < resolve_at {
        db.store
            .send_update(id, "The new seal is on test.", "bob", policy, at)
            .await
            .unwrap();
        at += 12 * HOUR;
    }
    go(
        db,
        id,
        to(
            "effectiveness_verified",
            json!({"verification": "no leaks in 30 days", "verification_owner": "dave",
        "message": "Your car's brake seal is replaced; it is fixed."}),
        ),
        policy,
        resolve_at,
    )
    .await;
}

async fn escalations(db: &TestDb, id: i64) -> Vec<(String, String)> {
    let mut conn = db.raw_connection().await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, metric FROM escalations WHERE case_id = $1 ORDER BY kind, metric",
    )
    .bind(id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows
}

async fn on_time_case_closes_with_every_clock_met_and_the_driver_told(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "minor", 0, &policy).await;
    work_to_resolution(db, id, &policy, T0 + 30 * MIN, T0 + 40 * HOUR).await;
    for at in [T0 + HOUR, T0 + 10 * HOUR, T0 + 47 * HOUR] {
        db.store.sla_tick(&policy.sla, at).await.unwrap();
    }
    // Day 5 after the fix: the car is asked, and the case is in follow-up.
    let day5 = T0 + 40 * HOUR + 5 * 24 * HOUR;
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, day5 - MIN)
            .await
            .unwrap()
            .follow_ups,
        0
    );
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, day5)
            .await
            .unwrap()
            .follow_ups,
        1
    );
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, day5 + MIN)
            .await
            .unwrap()
            .follow_ups,
        0,
        "asked once"
    );
    let asked = db.store.get_case(id).await.unwrap().unwrap();
    assert_eq!(asked.summary.status, "follow_up");
    let case = db
        .store
        .record_satisfaction(id, 5, Some("great"), "driver", &policy, day5 + HOUR)
        .await
        .unwrap();
    assert_eq!(case.summary.status, "closed");
    assert_eq!(case.closed_at_ms, Some(day5 + HOUR));
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, day5 + 3 * 24 * HOUR)
            .await
            .unwrap()
            .follow_ups,
        0,
        "a closed case is not asked again on day 7"
    );
    assert!(
        case.sla
            .iter()
            .all(|c| c.stopped_at_ms.is_some() && !c.breached),
        "{:?}",
        case.sla
    );
    let first = case
        .sla
        .iter()
        .find(|c| c.metric == "first_response")
        .unwrap();
    assert_eq!(first.elapsed_ms, 30 * MIN);
    assert_eq!(escalations(db, id).await, vec![], "nothing to escalate");
    let events = db.store.pending_downlink(100).await.unwrap();
    let kinds: Vec<EventKind> = events
        .iter()
        .filter(|(_, e)| e.case_number == Some(id))
        .map(|(_, e)| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Received,
            EventKind::FirstResponse,
            EventKind::Update,
            EventKind::Update,
            EventKind::Update,
            EventKind::Resolved,
            EventKind::FollowUp
        ]
    );
}
on_both_backends!(on_time_case_closes_with_every_clock_met_and_the_driver_told);

async fn a_missed_first_response_breaches_once_after_an_imminent_warning(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "minor", 1, &policy).await;
    let r = db.store.sla_tick(&policy.sla, T0 + 90 * MIN).await.unwrap();
    assert_eq!((r.imminent, r.breached), (0, 0), "75% of two hours used");
    let r = db
        .store
        .sla_tick(&policy.sla, T0 + 100 * MIN)
        .await
        .unwrap();
    assert_eq!((r.imminent, r.breached), (1, 0), "past 80%");
    let r = db
        .store
        .sla_tick(&policy.sla, T0 + 121 * MIN)
        .await
        .unwrap();
    assert_eq!(r.breached, 1);
    for at in [T0 + 122 * MIN, T0 + 3 * HOUR] {
        let again = db.store.sla_tick(&policy.sla, at).await.unwrap();
        assert_eq!(again.breached, 0, "a breach escalates once");
    }
    let case = go(
        db,
        id,
        to("acknowledged", json!({"message": "Sorry for the wait."})),
        &policy,
        T0 + 3 * HOUR,
    )
    .await;
    let first = case
        .sla
        .iter()
        .find(|c| c.metric == "first_response")
        .unwrap();
    assert!(first.breached);
    assert_eq!(first.breached_at_ms, Some(T0 + 2 * HOUR));
    assert_eq!(first.elapsed_ms, 3 * HOUR);
    assert_eq!(
        escalations(db, id).await,
        vec![
            ("breach_imminent".into(), "first_response".into()),
            ("breached".into(), "first_response".into())
        ]
    );
    let breached_events = db
        .store
        .notification_events(false)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "breached" && e.case_id == Some(id))
        .count();
    assert_eq!(breached_events, 1);
}
on_both_backends!(a_missed_first_response_breaches_once_after_an_imminent_warning);

async fn waiting_on_the_customer_pauses_every_clock(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "minor", 2, &policy).await;
    go(
        db,
        id,
        to(
            "waiting_customer",
            json!({"reason": "asked for the VIN photo"}),
        ),
        &policy,
        T0 + 30 * MIN,
    )
    .await;
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, T0 + 10 * HOUR)
            .await
            .unwrap()
            .breached,
        0,
        "paused"
    );
    let refused = db
        .store
        .transition(id, &to("contained", json!({})), &policy, T0 + 10 * HOUR)
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("can become new")),
        "{refused:?}"
    );
    let case = go(db, id, to("new", json!({})), &policy, T0 + 10 * HOUR).await;
    let first = case
        .sla
        .iter()
        .find(|c| c.metric == "first_response")
        .unwrap();
    assert_eq!(first.paused, vec![(T0 + 30 * MIN, Some(T0 + 10 * HOUR))]);
    assert_eq!(
        first.due_at_ms,
        T0 + 10 * HOUR + 90 * MIN,
        "the wait moved the due time"
    );
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, T0 + 11 * HOUR)
            .await
            .unwrap()
            .breached,
        0
    );
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, T0 + 11 * HOUR + 31 * MIN)
            .await
            .unwrap()
            .breached,
        1
    );
}
on_both_backends!(waiting_on_the_customer_pauses_every_clock);

async fn a_major_case_escalates_on_arrival_with_shorter_targets(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "major", 3, &policy).await;
    assert_eq!(escalations(db, id).await, vec![("major".into(), "".into())]);
    let case = db.store.get_case(id).await.unwrap().unwrap();
    let first = case
        .sla
        .iter()
        .find(|c| c.metric == "first_response")
        .unwrap();
    assert_eq!(first.target_ms, HOUR);
    assert_eq!(
        db.store
            .sla_tick(&policy.sla, T0 + 61 * MIN)
            .await
            .unwrap()
            .breached,
        1
    );
}
on_both_backends!(a_major_case_escalates_on_arrival_with_shorter_targets);

async fn an_unsatisfied_driver_reopens_the_case_and_the_loop_repeats(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "minor", 4, &policy).await;
    work_to_resolution(db, id, &policy, T0 + MIN, T0 + 20 * HOUR).await;
    let case = db
        .store
        .record_satisfaction(
            id,
            2,
            Some("still squeaks"),
            "driver",
            &policy,
            T0 + 5 * 24 * HOUR,
        )
        .await
        .unwrap();
    assert_eq!(case.summary.status, "reopened");
    assert_eq!(case.reopen_count, 1);
    let resolution = case.sla.iter().find(|c| c.metric == "resolution").unwrap();
    assert_eq!(
        (resolution.started_at_ms, resolution.stopped_at_ms),
        (T0 + 5 * 24 * HOUR, None),
        "a new resolution clock"
    );
    let cycles: Vec<(i64, bool)> = case
        .sla
        .iter()
        .filter(|c| c.metric == "resolution")
        .map(|c| (c.cycle, c.stopped_at_ms.is_some()))
        .collect();
    assert_eq!(
        cycles,
        vec![(1, false), (0, true)],
        "the first cycle is kept, stopped, under its own cycle"
    );
    let again = T0 + 5 * 24 * HOUR;
    go(
        db,
        id,
        to("acknowledged", json!({"message": "We look again."})),
        &policy,
        again + HOUR,
    )
    .await;
    // The fields of the first cycle still stand; the path repeats.
    go(
        db,
        id,
        to("contained", json!({})),
        &policy,
        again + 2 * HOUR,
    )
    .await;
    go(
        db,
        id,
        to("root_cause_found", json!({})),
        &policy,
        again + 3 * HOUR,
    )
    .await;
    go(
        db,
        id,
        to("corrective_action_implemented", json!({})),
        &policy,
        again + 4 * HOUR,
    )
    .await;
    go(
        db,
        id,
        to("effectiveness_verified", json!({"message": "Fixed again."})),
        &policy,
        again + 5 * HOUR,
    )
    .await;
    let case = db
        .store
        .record_satisfaction(id, 4, None, "driver", &policy, again + 7 * 24 * HOUR)
        .await
        .unwrap();
    assert_eq!(case.summary.status, "closed");
    let mut conn = db.raw_connection().await;
    let follow_ups: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM follow_ups WHERE case_id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(follow_ups, 4, "days 5 and 7 for each of two resolutions");
}
on_both_backends!(an_unsatisfied_driver_reopens_the_case_and_the_loop_repeats);

async fn a_merged_case_stops_its_clocks_and_never_breaches(db: &TestDb) {
    let policy = Policy::default();
    let a = open(db, "minor", 5, &policy).await;
    let b = open(db, "minor", 6, &policy).await;
    db.store.merge_cases(a, b, "alice", T0 + MIN).await.unwrap();
    db.store
        .sla_tick(&policy.sla, T0 + 100 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        escalations(db, a).await,
        vec![],
        "merged away before any target"
    );
    let kinds: Vec<String> = escalations(db, b)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(
        kinds.contains(&"breached".to_string()) && kinds.contains(&"unresolved".to_string()),
        "{kinds:?}"
    );
}
on_both_backends!(a_merged_case_stops_its_clocks_and_never_breaches);

async fn refused_transitions_name_what_is_missing(db: &TestDb) {
    let policy = Policy::default();
    let id = open(db, "minor", 7, &policy).await;
    let err = |r: Result<_, StoreError>| match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let m = err(db
        .store
        .transition(id, &to("contained", json!({})), &policy, T0)
        .await);
    assert!(
        m.contains("a new case cannot become contained") && m.contains("acknowledged"),
        "{m}"
    );
    let m = err(db
        .store
        .transition(id, &to("acknowledged", json!({})), &policy, T0)
        .await);
    assert!(m.contains("message"), "{m}");
    go(
        db,
        id,
        to("acknowledged", json!({"message": "hi"})),
        &policy,
        T0 + MIN,
    )
    .await;
    let m = err(db
        .store
        .transition(
            id,
            &to("contained", json!({"ica_action": "x"})),
            &policy,
            T0 + 2 * MIN,
        )
        .await);
    for field in ["ica_owner", "ica_implemented_at_ms", "ica_verification"] {
        assert!(m.contains(field), "{m} names {field}");
    }
    let case = db.store.get_case(id).await.unwrap().unwrap();
    assert_eq!(
        case.summary.status, "acknowledged",
        "a refused transition changes nothing"
    );
    assert_eq!(case.ica.action, None, "not even the fields given with it");
    let m = err(db
        .store
        .transition(id, &to("exploded", json!({})), &policy, T0)
        .await);
    assert!(m.contains("not one of"), "{m}");
    assert!(matches!(
        db.store
            .transition(
                9_999,
                &to("acknowledged", json!({"message": "x"})),
                &policy,
                T0
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let m = err(db
        .store
        .record_satisfaction(id, 5, None, "driver", &policy, T0)
        .await);
    assert!(m.contains("not awaiting"), "{m}");
}
on_both_backends!(refused_transitions_name_what_is_missing);

/// The paths together in one database: the metrics are exactly what the
/// timeline implies (worked out by hand in the comments).
async fn metrics_are_exactly_what_the_paths_imply(db: &TestDb) {
    let policy = Policy::default();
    let wt = cloud_triage::sla::WorkingTime::default();
    // A: on time, closed. First response 30 min, resolution 40 h.
    let a = open(db, "minor", 10, &policy).await;
    work_to_resolution(db, a, &policy, T0 + 30 * MIN, T0 + 40 * HOUR).await;
    db.store
        .record_satisfaction(a, 5, None, "driver", &policy, T0 + 41 * HOUR)
        .await
        .unwrap();
    // B: first response after 3 h (breached), resolution after 50 h (breached), closed.
    let b = open(db, "minor", 11, &policy).await;
    work_to_resolution(db, b, &policy, T0 + 3 * HOUR, T0 + 50 * HOUR).await;
    db.store
        .record_satisfaction(b, 4, None, "driver", &policy, T0 + 51 * HOUR)
        .await
        .unwrap();
    // C: waits on the customer from 0:30 to 10:00, first response at 11:00
    // (1.5 h of clock); never resolved: due at 48 h + 9.5 h paused.
    let c = open(db, "minor", 12, &policy).await;
    go(
        db,
        c,
        to("waiting_customer", json!({"reason": "photo"})),
        &policy,
        T0 + 30 * MIN,
    )
    .await;
    go(db, c, to("new", json!({})), &policy, T0 + 10 * HOUR).await;
    go(
        db,
        c,
        to("acknowledged", json!({"message": "thanks"})),
        &policy,
        T0 + 11 * HOUR,
    )
    .await;
    // D: first response after 1 min, resolved at 20 h, reopened on day 5.
    let d = open(db, "minor", 13, &policy).await;
    work_to_resolution(db, d, &policy, T0 + MIN, T0 + 20 * HOUR).await;
    db.store
        .record_satisfaction(d, 2, None, "driver", &policy, T0 + 5 * 24 * HOUR)
        .await
        .unwrap();
    // E: merged into C; it counts nowhere.
    let e = open(db, "minor", 14, &policy).await;
    db.store
        .merge_cases(e, c, "alice", T0 + 12 * HOUR)
        .await
        .unwrap();

    let to_ms = T0 + 6 * 24 * HOUR;
    let m = db.store.response_times(T0 - 1, to_ms, &wt).await.unwrap();
    assert_eq!(m.cases, 4, "A, B, C, D");
    // First responses 1 min, 30 min, 90 min, 180 min: nearest-rank p50 is
    // the 2nd, p90 the 4th.
    assert_eq!(
        (
            m.first_response.n,
            m.first_response.p50_ms,
            m.first_response.p90_ms
        ),
        (4, Some(30 * MIN), Some(180 * MIN))
    );
    // Resolutions that stopped: A 40 h, B 50 h (D's clock restarted on reopening).
    assert_eq!(
        (m.resolution.n, m.resolution.p50_ms, m.resolution.p90_ms),
        (2, Some(40 * HOUR), Some(50 * HOUR))
    );
    let fr = &m.breaches["first_response"];
    assert_eq!((fr.measured, fr.breached), (4, 1), "B");
    let res = &m.breaches["resolution"];
    assert_eq!(
        (res.measured, res.breached),
        (3, 2),
        "A, B stopped; C running past due; B and C late"
    );
    let route = &m.breaches["route"];
    assert_eq!(
        (route.measured, route.breached),
        (4, 0),
        "routed on arrival"
    );
    assert_eq!(m.closure_rate, 0.5, "A and B of four");
    assert_eq!(m.on_time_closed_loop_rate, 0.5, "A on time, B late");
    assert!((m.reopen_rate - 1.0 / 3.0).abs() < 1e-12, "D of A, B, D");
    let backlog: Vec<(String, Vec<(String, usize)>)> = m
        .backlog
        .iter()
        .map(|(age, cats)| {
            (
                age.clone(),
                cats.iter().map(|(c, n)| (c.clone(), *n)).collect(),
            )
        })
        .collect();
    assert_eq!(
        backlog,
        vec![("3-7d".to_string(), vec![("brakes".to_string(), 2)])],
        "C and D are open, 6 days old"
    );
    assert!(matches!(
        db.store.response_times(to_ms, T0, &wt).await,
        Err(StoreError::Invalid(_))
    ));
}
on_both_backends!(metrics_are_exactly_what_the_paths_imply);
