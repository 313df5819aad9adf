//! The hazard triage names for a major feedback reaches its case (issue
//! 13): a major feedback opens a case naming it, the escalation says it in
//! words and the notifications by name; a later major report, late words,
//! a merge or a split give it to a case that names none, and never
//! overwrite one; the case list filters on it.

use cloud_triage::{
    app::{ingest::Triaged, late_transcript::LateTranscript},
    policy::Policy,
    store::{AsrRecord, CaseDetail, CaseQuery},
    triage::Assessment,
};
use qloop_models::Hazard;
use serde_json::Value;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, CAPTURED_AT_MS, OTHER_VIN, VIN},
};

const MIN: i64 = 60_000;
const T0: i64 = CAPTURED_AT_MS + 1_000;
/// A third car.
const THIRD_VIN: &str = "1HGCM82633A004352";

/// Triage's findings: `severity`, naming `hazard`, on embedding axis `axis`
/// (reports on one axis join one case).
fn assessment(severity: &str, hazard: Option<&str>, axis: usize) -> Assessment {
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
        hazard: hazard.map(str::to_string),
        confidence: 0.9,
        model_version: "test".into(),
        vector: Some(v),
    }
}

async fn ingest(db: &TestDb, vin: &str, a: &Assessment, at: i64) -> i64 {
    let policy = Policy::default();
    let triaged = Triaged {
        assessment: a,
        matches: &[],
        policy: &policy,
    };
    db.store
        .ingest_triaged_feedback(
            &envelope(vin, "the brake pedal sank"),
            &meta(at),
            Some(triaged),
        )
        .await
        .unwrap()
        .case_id
}

async fn case(db: &TestDb, id: i64) -> CaseDetail {
    db.store.get_case(id).await.unwrap().unwrap()
}

/// The details of a case's escalations.
async fn escalation_details(db: &TestDb, id: i64) -> Vec<String> {
    let mut conn = db.raw_connection().await;
    sqlx::query_scalar("SELECT detail FROM escalations WHERE case_id = $1 ORDER BY at_ms")
        .bind(id)
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// The payload of each `kind` notification of case `id`, oldest first.
async fn payloads(db: &TestDb, id: i64, kind: &str) -> Vec<Value> {
    let events = db.store.notification_events(false).await.unwrap();
    events
        .into_iter()
        .filter(|e| e.case_id == Some(id) && e.kind.as_str() == kind)
        .map(|e| e.payload)
        .collect()
}

/// The history's new values of `field` on case `c`.
fn history(c: &CaseDetail, field: &str) -> Vec<String> {
    c.history
        .iter()
        .filter(|h| h.field == field)
        .filter_map(|h| h.new_value.clone())
        .collect()
}

/// A major feedback opens a case naming its hazard; the escalation says it
/// in words, the case-opened and escalation notifications by name.
async fn a_major_feedback_opens_a_case_naming_its_hazard(db: &TestDb) {
    let id = ingest(
        db,
        VIN,
        &assessment("major", Some("loss_of_braking"), 0),
        T0,
    )
    .await;
    let c = case(db, id).await;
    assert_eq!(c.summary.hazard, Some(Hazard::LossOfBraking));
    let detail = "major on arrival: hazard loss of braking (reasons: text: brake failure)";
    assert_eq!(escalation_details(db, id).await, [detail]);
    assert!(history(&c, "escalation").contains(&format!("major: {detail}")));
    assert_eq!(
        payloads(db, id, "case_opened").await[0]["hazard"],
        "loss_of_braking"
    );
    let escalated = payloads(db, id, "escalated").await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["hazard"], "loss_of_braking");
    assert_eq!(escalated[0]["detail"], detail);
    assert_eq!(
        serde_json::to_value(&c).unwrap()["hazard"],
        "loss_of_braking"
    );

    // A minor feedback names none, whatever triage carried.
    let minor = ingest(
        db,
        OTHER_VIN,
        &assessment("minor", Some("fire_or_smoke"), 1),
        T0,
    )
    .await;
    assert_eq!(case(db, minor).await.summary.hazard, None);
    assert!(payloads(db, minor, "case_opened").await[0]["hazard"].is_null());
}
on_both_backends!(a_major_feedback_opens_a_case_naming_its_hazard);

/// A major report that joins a case naming no hazard gives it its own (and
/// the escalation names it); a later major report of another hazard does
/// not overwrite it.
async fn a_later_major_report_fills_a_missing_hazard_but_never_overwrites_one(db: &TestDb) {
    let id = ingest(db, VIN, &assessment("minor", None, 2), T0).await;
    assert_eq!(case(db, id).await.summary.hazard, None);

    let joined = ingest(
        db,
        OTHER_VIN,
        &assessment("major", Some("fire_or_smoke"), 2),
        T0 + MIN,
    )
    .await;
    assert_eq!(joined, id, "the same issue");
    let c = case(db, id).await;
    assert_eq!(c.summary.hazard, Some(Hazard::FireOrSmoke));
    assert_eq!(history(&c, "hazard"), ["fire_or_smoke"]);
    let detail = "a major report joined: hazard fire or smoke (reasons: text: brake failure)";
    assert_eq!(escalation_details(db, id).await, [detail]);
    assert_eq!(
        payloads(db, id, "escalated").await[0]["hazard"],
        "fire_or_smoke"
    );

    let third = ingest(
        db,
        THIRD_VIN,
        &assessment("major", Some("loss_of_braking"), 2),
        T0 + 2 * MIN,
    )
    .await;
    assert_eq!(third, id);
    let c = case(db, id).await;
    assert_eq!(c.summary.hazard, Some(Hazard::FireOrSmoke), "kept");
    assert_eq!(history(&c, "hazard"), ["fire_or_smoke"], "no second change");
    assert_eq!(escalation_details(db, id).await.len(), 1, "escalated once");
}
on_both_backends!(a_later_major_report_fills_a_missing_hazard_but_never_overwrites_one);

/// A case made major with no hazard named (triage named none) takes the
/// hazard of the next major report that joins it.
async fn a_major_case_naming_none_takes_the_next_major_reports_hazard(db: &TestDb) {
    let id = ingest(db, VIN, &assessment("major", None, 3), T0).await;
    assert_eq!(case(db, id).await.summary.hazard, None);
    assert_eq!(
        escalation_details(db, id).await,
        ["major on arrival (text: brake failure)"]
    );
    assert!(payloads(db, id, "escalated").await[0]["hazard"].is_null());
    let joined = ingest(
        db,
        OTHER_VIN,
        &assessment("major", Some("loss_of_steering"), 3),
        T0 + MIN,
    )
    .await;
    assert_eq!(joined, id);
    assert_eq!(
        case(db, id).await.summary.hazard,
        Some(Hazard::LossOfSteering)
    );
    assert_eq!(escalation_details(db, id).await.len(), 1, "escalated once");
}
on_both_backends!(a_major_case_naming_none_takes_the_next_major_reports_hazard);

/// Late words that make an untriaged case major give it their hazard, and
/// the escalation names it.
async fn late_major_words_give_the_case_their_hazard(db: &TestDb) {
    let mut env = envelope(VIN, "");
    env.utterance = None;
    let id = db
        .store
        .ingest_feedback(&env, &meta(T0))
        .await
        .unwrap()
        .case_id;
    let asr = AsrRecord {
        status: "transcribed".parse().unwrap(),
        model: "whisper-tiny.en@ct2".into(),
        language: Some("en".into()),
        elapsed_ms: 400,
        error: None,
        head_unit_transcript: None,
        head_unit_confidence: None,
    };
    let mut major = assessment("major", Some("loss_of_braking"), 4);
    major.vector = None;
    let policy = Policy::default();
    let late = LateTranscript {
        feedback_id: env.feedback_id,
        asr: &asr,
        text: "the brakes failed on the motorway",
        confidence: 0.9,
    };
    let triaged = Triaged {
        assessment: &major,
        matches: &[],
        policy: &policy,
    };
    let outcome = db
        .store
        .apply_late_transcript(late, Some(triaged), T0 + 5 * MIN)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.retriaged);
    assert_eq!(
        case(db, id).await.summary.hazard,
        Some(Hazard::LossOfBraking)
    );
    assert_eq!(
        escalation_details(db, id).await,
        ["major once transcribed: hazard loss of braking (reasons: text: brake failure)"]
    );
    assert_eq!(
        payloads(db, id, "escalated").await[0]["hazard"],
        "loss_of_braking"
    );
}
on_both_backends!(late_major_words_give_the_case_their_hazard);

/// A merge gives the surviving case a major merged case's hazard when it
/// names none; a split's new case keeps the hazard of the case it left.
async fn merges_and_splits_carry_the_hazard(db: &TestDb) {
    let major = ingest(
        db,
        VIN,
        &assessment("major", Some("wheel_or_tire_failure"), 5),
        T0,
    )
    .await;
    let minor = ingest(db, OTHER_VIN, &assessment("minor", None, 6), T0).await;
    db.store
        .merge_cases(major, minor, "alice", T0 + MIN)
        .await
        .unwrap();
    let c = case(db, minor).await;
    assert_eq!(c.summary.hazard, Some(Hazard::WheelOrTireFailure));
    assert_eq!(
        escalation_details(db, minor).await,
        [format!(
            "merged from major case {major}: hazard wheel or tire failure"
        )]
    );

    let moved = c.feedback_ids[0];
    let split = db
        .store
        .split_case(minor, &[moved], "alice", T0 + 2 * MIN)
        .await
        .unwrap();
    assert_eq!(
        case(db, split).await.summary.hazard,
        Some(Hazard::WheelOrTireFailure)
    );
    assert_eq!(
        payloads(db, split, "case_opened").await[0]["hazard"],
        "wheel_or_tire_failure"
    );
}
on_both_backends!(merges_and_splits_carry_the_hazard);

/// The case list filters on a hazard, or on none, and refuses other text
/// naming the allowed values.
async fn the_case_list_filters_on_the_hazard(db: &TestDb) {
    let brakes = ingest(
        db,
        VIN,
        &assessment("major", Some("loss_of_braking"), 7),
        T0,
    )
    .await;
    let fire = ingest(
        db,
        OTHER_VIN,
        &assessment("major", Some("fire_or_smoke"), 8),
        T0,
    )
    .await;
    let plain = ingest(db, THIRD_VIN, &assessment("minor", None, 9), T0).await;
    let ids = |hazard: &str| {
        let q = CaseQuery {
            hazard: Some(hazard.into()),
            ..CaseQuery::default()
        };
        async move {
            let page = db.store.list_cases(&q).await.unwrap();
            assert_eq!(page.total, page.items.len() as i64);
            page.items.iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("loss_of_braking").await, [brakes]);
    assert_eq!(ids("fire_or_smoke").await, [fire]);
    assert_eq!(ids("none").await, [plain]);
    assert!(ids("loss_of_steering").await.is_empty());
    let q = CaseQuery {
        hazard: Some("brakes".into()),
        ..CaseQuery::default()
    };
    let refused = db.store.list_cases(&q).await.unwrap_err().to_string();
    assert!(
        refused.contains("hazard: \"brakes\" is not one of loss_of_braking, "),
        "{refused}"
    );
}
on_both_backends!(the_case_list_filters_on_the_hazard);
