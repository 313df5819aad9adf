//! The policy applies on every path that opens a case, and a case that
//! becomes major by any path is escalated once and its open clocks take the
//! major targets: triage failing, a split, a PATCH, a transition's fields,
//! a report that joins, and a transcript that arrives late.

use cloud_triage::{
    app::{
        ingest::Triaged, late_transcript::LateTranscript, patch::CaseUpdate, transition::Transition,
    },
    domain::{Severity, SlaMetric},
    policy::Policy,
    store::{AsrRecord, CaseDetail},
    triage::Assessment,
};
use serde_json::{json, Map};

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, OTHER_VIN, VIN},
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Monday 2026-11-02 00:00 UTC.
const MONDAY: i64 = 1_793_577_600_000;

/// Business hours (08:00–18:00 UTC, Monday to Friday) and a first-response
/// target of 90 minutes, a routing target of 45, for every case.
fn business_policy() -> Policy {
    Policy::from_toml(
        "[sla.calendar]\nkind = \"business\"\nutc_offset_minutes = 0\n\
         days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
         start = \"08:00\"\nend = \"18:00\"\nholidays = []\n\
         [sla.default]\nfirst_response_minutes = 90\nroute_minutes = 45",
    )
    .unwrap()
}

fn clock(case: &CaseDetail, metric: SlaMetric) -> (i64, i64, Option<i64>) {
    let c = case
        .sla
        .iter()
        .find(|c| c.metric == metric)
        .unwrap_or_else(|| panic!("case {} has a {metric} clock", case.summary.id));
    (c.target_ms, c.due_at_ms, c.stopped_at_ms)
}

async fn case(db: &TestDb, id: i64) -> CaseDetail {
    db.store.get_case(id).await.unwrap().unwrap()
}

/// Escalations of a case: (kind, metric) pairs.
async fn escalations(db: &TestDb, id: i64) -> Vec<(String, String)> {
    let mut conn = db.raw_connection().await;
    sqlx::query_as("SELECT kind, metric FROM escalations WHERE case_id = $1 ORDER BY kind, metric")
        .bind(id)
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

fn assessment(severity: &str, axis: usize) -> Assessment {
    let mut v = vec![0.0; qloop_models::EMBEDDING_DIM];
    v[axis] = 1.0;
    Assessment {
        category: "brakes".into(),
        department: Some("Chassis".into()),
        severity: severity.into(),
        severity_reasons: if severity == "major" {
            vec!["text: brake failure".into()]
        } else {
            vec![]
        },
        hazard: None,
        confidence: 0.9,
        model_version: "test".into(),
        vector: Some(v),
    }
}

async fn ingest_triaged(db: &TestDb, vin: &str, a: &Assessment, at: i64) -> i64 {
    let env = envelope(vin, "the brake pedal is soft");
    let policy = Policy::default();
    db.store
        .ingest_triaged_feedback(
            &env,
            &meta(at),
            Some(Triaged {
                assessment: a,
                matches: &[],
                policy: &policy,
            }),
        )
        .await
        .unwrap()
        .case_id
}

/// When triage fails the case still runs on the policy's targets and
/// calendar (it used to fall back to the built-in defaults, around the
/// clock), and so does a case opened by a split.
async fn every_path_that_opens_a_case_runs_on_the_policy(db: &TestDb) {
    let policy = business_policy();
    let at = MONDAY + 17 * HOUR;
    let untriaged = db
        .store
        .ingest_untriaged_feedback(&envelope(VIN, "radio resets"), &meta(at), &policy)
        .await
        .unwrap()
        .case_id;
    let opened = case(db, untriaged).await;
    // 90 working minutes from Monday 17:00: one hour on Monday, half an
    // hour from Tuesday 08:00.
    assert_eq!(
        clock(&opened, SlaMetric::FirstResponse),
        (90 * MIN, MONDAY + 24 * HOUR + 8 * HOUR + 30 * MIN, None)
    );
    assert_eq!(
        clock(&opened, SlaMetric::Route).0,
        45 * MIN,
        "the policy's routing target"
    );

    // Without a policy of its own a change runs on the store's.
    db.store.set_policy(policy.clone());
    let a = db
        .store
        .ingest_feedback(&envelope(VIN, "radio resets again"), &meta(at))
        .await
        .unwrap()
        .case_id;
    let b = db
        .store
        .ingest_feedback(&envelope(OTHER_VIN, "radio resets too"), &meta(at + MIN))
        .await
        .unwrap()
        .case_id;
    assert_eq!(
        clock(&case(db, a).await, SlaMetric::FirstResponse).0,
        90 * MIN
    );
    db.store
        .merge_cases(b, a, "alice", at + 2 * MIN)
        .await
        .unwrap();
    let moved = case(db, a).await.feedback_ids[1];
    let split_at = MONDAY + 2 * 24 * HOUR + 17 * HOUR + 30 * MIN;
    let split = db
        .store
        .split_case(a, &[moved], "alice", split_at)
        .await
        .unwrap();
    let split = case(db, split).await;
    // Wednesday 17:30 + 90 working minutes: Thursday 09:00.
    assert_eq!(
        clock(&split, SlaMetric::FirstResponse),
        (90 * MIN, MONDAY + 3 * 24 * HOUR + 9 * HOUR, None),
        "a split opens a case with running clocks on the policy"
    );
    assert_eq!(
        split.sla.len(),
        3,
        "route, first response, resolution: {:?}",
        split.sla
    );
}
on_both_backends!(every_path_that_opens_a_case_runs_on_the_policy);

/// The ingest handler without a triage verdict (no model, or it failed)
/// opens the case on its policy, not on the built-in defaults.
async fn an_untriaged_feedback_from_a_car_runs_on_the_handlers_policy(db: &TestDb) {
    use cloud_triage::{audio::AudioFiles, ingest::IngestHandler};
    use qloop_protocol::{encode, topic::feedback_topic, Message};
    let dir = tempfile::tempdir().unwrap();
    let handler = IngestHandler::new(
        db.store.clone(),
        AudioFiles::new(dir.path()).unwrap(),
        std::sync::Arc::default(),
    )
    .with_policy(business_policy());
    let env = envelope(VIN, "the seat heater stays on");
    let payload = encode(&Message::Feedback(Box::new(env.clone())));
    handler
        .handle(&feedback_topic(VIN), &payload)
        .await
        .unwrap();
    let id = db
        .store
        .get_feedback(env.feedback_id)
        .await
        .unwrap()
        .unwrap()
        .case_id
        .unwrap();
    let c = case(db, id).await;
    assert_eq!(c.summary.category, "untriaged");
    assert_eq!(clock(&c, SlaMetric::FirstResponse).0, 90 * MIN);
    assert_eq!(clock(&c, SlaMetric::Route).0, 45 * MIN);
}
on_both_backends!(an_untriaged_feedback_from_a_car_runs_on_the_handlers_policy);

/// An engineer's PATCH to major escalates the case once (history,
/// escalation, notification) and moves its open clocks to the major
/// targets; stopped clocks keep theirs. Back to minor and major again does
/// not escalate a second time. A transition's fields do the same.
async fn a_patch_to_major_escalates_once_and_retargets_the_open_clocks(db: &TestDb) {
    let t0 = MONDAY + 9 * HOUR;
    let id = ingest_triaged(db, VIN, &assessment("minor", 0), t0).await;
    let before = case(db, id).await;
    assert_eq!(clock(&before, SlaMetric::FirstResponse).0, 2 * HOUR);
    let route = clock(&before, SlaMetric::Route);
    assert!(route.2.is_some(), "routed on arrival: its clock stopped");
    let patch = |severity: &str| CaseUpdate {
        actor: "alice".into(),
        expected_updated_at_ms: None,
        set: json!({ "severity": severity }).as_object().unwrap().clone(),
    };

    let after = db
        .store
        .update_case(id, &patch("major"), t0 + 10 * MIN)
        .await
        .unwrap();
    assert_eq!(after.summary.severity, Severity::Major);
    assert_eq!(
        clock(&after, SlaMetric::FirstResponse),
        (HOUR, t0 + HOUR, None),
        "the major first-response target"
    );
    assert_eq!(clock(&after, SlaMetric::Resolution).0, 24 * HOUR);
    assert_eq!(
        clock(&after, SlaMetric::Route),
        route,
        "a stopped clock keeps its target"
    );
    assert_eq!(
        escalations(db, id).await,
        vec![("major".into(), String::new())]
    );
    assert!(after.history.iter().any(|h| h.field == "escalation"
        && h.actor == "alice"
        && h.new_value.as_deref() == Some("major: escalate at once (set by alice)")));
    let escalated = |events: &[cloud_triage::store::NotificationEvent]| {
        events
            .iter()
            .filter(|e| e.case_id == Some(id) && e.kind == "escalated")
            .count()
    };
    assert_eq!(
        escalated(&db.store.notification_events(false).await.unwrap()),
        1
    );

    let minor = db
        .store
        .update_case(id, &patch("minor"), t0 + 20 * MIN)
        .await
        .unwrap();
    assert_eq!(
        clock(&minor, SlaMetric::FirstResponse).0,
        2 * HOUR,
        "back to minor targets"
    );
    let again = db
        .store
        .update_case(id, &patch("major"), t0 + 30 * MIN)
        .await
        .unwrap();
    assert_eq!(clock(&again, SlaMetric::FirstResponse).0, HOUR);
    assert_eq!(escalations(db, id).await.len(), 1, "escalated once");
    assert_eq!(
        again
            .history
            .iter()
            .filter(|h| h.field == "escalation" && h.actor == "alice")
            .count(),
        1
    );
    assert_eq!(
        escalated(&db.store.notification_events(false).await.unwrap()),
        1
    );

    // The same rule when the severity comes with a transition.
    let other = ingest_triaged(db, OTHER_VIN, &assessment("minor", 1), t0).await;
    let mut fields = Map::new();
    fields.insert("severity".into(), json!("major"));
    let acked = db
        .store
        .transition(
            other,
            &Transition {
                to: "acknowledged".into(),
                actor: "bob".into(),
                message: Some("We are on it.".into()),
                reason: None,
                fields,
            },
            &Policy::default(),
            t0 + 5 * MIN,
        )
        .await
        .unwrap();
    assert_eq!(
        escalations(db, other).await,
        vec![("major".into(), String::new())]
    );
    assert_eq!(clock(&acked, SlaMetric::Resolution).0, 24 * HOUR);
    assert_eq!(
        clock(&acked, SlaMetric::NextUpdate).0,
        12 * HOUR,
        "the next update is due on the major target"
    );
}
on_both_backends!(a_patch_to_major_escalates_once_and_retargets_the_open_clocks);

/// A major report that joins a minor case escalates it and moves its clocks.
async fn a_major_report_that_joins_retargets_the_clocks(db: &TestDb) {
    let t0 = MONDAY + 9 * HOUR;
    let id = ingest_triaged(db, VIN, &assessment("minor", 2), t0).await;
    let joined = ingest_triaged(db, OTHER_VIN, &assessment("major", 2), t0 + MIN).await;
    assert_eq!(joined, id, "the same issue");
    let c = case(db, id).await;
    assert_eq!(c.summary.severity, Severity::Major);
    assert_eq!(clock(&c, SlaMetric::FirstResponse), (HOUR, t0 + HOUR, None));
    assert_eq!(
        escalations(db, id).await,
        vec![("major".into(), String::new())]
    );
}
on_both_backends!(a_major_report_that_joins_retargets_the_clocks);

/// Words that arrive late and make the case major escalate it once and
/// move its clocks to the major targets (they used to stay on minor ones).
async fn a_late_transcript_that_makes_a_case_major_escalates_and_retargets(db: &TestDb) {
    let t0 = MONDAY + 9 * HOUR;
    let mut env = envelope(VIN, "");
    env.utterance = None;
    let id = db
        .store
        .ingest_feedback(&env, &meta(t0))
        .await
        .unwrap()
        .case_id;
    assert_eq!(
        clock(&case(db, id).await, SlaMetric::FirstResponse).0,
        2 * HOUR
    );
    let asr = AsrRecord {
        status: "transcribed".parse().unwrap(),
        model: "whisper-tiny.en@ct2".into(),
        language: Some("en".into()),
        elapsed_ms: 400,
        error: None,
        head_unit_transcript: None,
        head_unit_confidence: None,
    };
    let mut major = assessment("major", 3);
    major.vector = None;
    let policy = Policy::default();
    let outcome = db
        .store
        .apply_late_transcript(
            LateTranscript {
                feedback_id: env.feedback_id,
                asr: &asr,
                text: "the brakes failed on the motorway",
                confidence: 0.9,
            },
            Some(Triaged {
                assessment: &major,
                matches: &[],
                policy: &policy,
            }),
            t0 + 5 * MIN,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.retriaged);
    let c = case(db, id).await;
    assert_eq!(c.summary.severity, Severity::Major);
    assert_eq!(clock(&c, SlaMetric::FirstResponse), (HOUR, t0 + HOUR, None));
    assert_eq!(clock(&c, SlaMetric::Resolution).0, 24 * HOUR);
    assert_eq!(
        escalations(db, id).await,
        vec![("major".into(), String::new())]
    );
    assert!(c.history.iter().any(|h| h.field == "escalation"
        && h.new_value.as_deref() == Some("major: escalate at once (text: brake failure)")));
}
on_both_backends!(a_late_transcript_that_makes_a_case_major_escalates_and_retargets);
