//! Fleet-wide cases in the store: linking by similarity, category, model
//! and window; the case's occurrence aggregates; escalation; emerging
//! issues; suggested fixes; merge and split. Embeddings here are made-up
//! unit vectors, so each rule is tested on its own.

use cloud_triage::{
    app::ingest::Triaged,
    policy::Policy,
    store::{CaseMatch, IngestMeta, StoreError},
    triage::Assessment,
};
use qloop_protocol::FeedbackEnvelope;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, CAPTURED_AT_MS, OTHER_VIN, VIN},
};

const DIM: usize = qloop_models::EMBEDDING_DIM;
const DAY_MS: i64 = 86_400_000;

/// A unit vector mostly along `axis`, tilted slightly towards `tilt`.
fn direction(axis: usize, tilt: usize, amount: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[axis] = 1.0;
    v[tilt] += amount;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn assessment(category: &str, severity: &str, vector: Vec<f32>) -> Assessment {
    Assessment {
        category: category.into(),
        department: Some("chassis".into()),
        severity: severity.into(),
        severity_reasons: if severity == "major" {
            vec!["text: brake failure".into()]
        } else {
            vec![]
        },
        hazard: None,
        confidence: 0.9,
        model_version: "test-model".into(),
        vector: Some(vector),
    }
}

/// A report from `vin` (a made-up VIN of the same shape when `n` > 0).
fn report(vin: &str, n: u32, text: &str, at_ms: i64, software: &str) -> FeedbackEnvelope {
    let mut env = envelope(vin, text);
    if n > 0 {
        env.vehicle.vin = format!("{}{:05}", &vin[..12], n);
    }
    env.captured_at_ms = at_ms;
    env.vehicle.software[0].version = software.into();
    env
}

async fn ingest(
    db: &TestDb,
    env: &FeedbackEnvelope,
    a: &Assessment,
    matches: &[CaseMatch],
    policy: &Policy,
) -> cloud_triage::app::ingest::IngestOutcome {
    let m: IngestMeta = meta(env.captured_at_ms + 1_000);
    db.store
        .ingest_triaged_feedback(
            env,
            &m,
            Some(Triaged {
                assessment: a,
                matches,
                policy,
            }),
        )
        .await
        .unwrap()
}

async fn similar_reports_join_one_case_that_counts_vehicles_versions_and_dates(db: &TestDb) {
    let policy = Policy::default();
    let t = CAPTURED_AT_MS;
    let brakes = |tilt| assessment("brakes", "minor", direction(0, tilt, 0.2));
    let first = ingest(
        db,
        &report(VIN, 0, "brakes squeal", t, "1.0"),
        &brakes(1),
        &[],
        &policy,
    )
    .await;
    assert_eq!(first.linked, None, "the first report opens a case");
    let second = ingest(
        db,
        &report(VIN, 0, "squealing brakes", t + DAY_MS, "1.1"),
        &brakes(2),
        &[],
        &policy,
    )
    .await;
    let third = ingest(
        db,
        &report(OTHER_VIN, 0, "brakes squeak", t - DAY_MS, "1.1"),
        &brakes(3),
        &[],
        &policy,
    )
    .await;
    assert_eq!(
        (second.case_id, third.case_id),
        (first.case_id, first.case_id)
    );
    assert!(second.linked.unwrap() > 0.9, "{:?}", second.linked);

    let case = db.store.get_case(first.case_id).await.unwrap().unwrap();
    assert_eq!(case.summary.occurrence_count, 3);
    assert_eq!(
        case.summary.vehicle_count, 2,
        "two reports came from one car"
    );
    assert_eq!(case.software_versions, vec!["VCFRONT 1.0", "VCFRONT 1.1"]);
    assert_eq!(case.model_families, vec!["MODEL 3"]);
    assert_eq!(
        (case.summary.first_seen_ms, case.summary.last_seen_ms),
        (t - DAY_MS, t + DAY_MS)
    );
    assert_eq!(case.occurrences.len(), 3);
    assert_eq!(
        case.history
            .iter()
            .filter(|h| h.field == "occurrence")
            .count(),
        2,
        "each joining report is in the history"
    );

    // Each rule on its own sends a report to a new case.
    let dissimilar = ingest(
        db,
        &report(VIN, 0, "radio dead", t, "1.0"),
        &assessment("brakes", "minor", direction(7, 8, 0.1)),
        &[],
        &policy,
    )
    .await;
    let other_category = ingest(
        db,
        &report(VIN, 0, "x", t, "1.0"),
        &assessment("hvac", "minor", direction(0, 1, 0.2)),
        &[],
        &policy,
    )
    .await;
    let mut other_model = report(VIN, 0, "brakes squeal", t, "1.0");
    other_model.vehicle.model = "Model Y".into();
    let other_model = ingest(db, &other_model, &brakes(1), &[], &policy).await;
    let too_late = ingest(
        db,
        &report(
            VIN,
            0,
            "brakes squeal",
            t + DAY_MS * (i64::from(policy.linking.window_days) + 2),
            "1.0",
        ),
        &brakes(1),
        &[],
        &policy,
    )
    .await;
    let unsure = ingest(
        db,
        &report(VIN, 0, "hmm", t, "1.0"),
        &assessment(
            qloop_models::NEEDS_HUMAN_TRIAGE,
            "minor",
            direction(0, 1, 0.2),
        ),
        &[],
        &policy,
    )
    .await;
    for (what, outcome) in [
        ("dissimilar", &dissimilar),
        ("other category", &other_category),
        ("other model", &other_model),
        ("outside the window", &too_late),
        ("needs human triage", &unsure),
    ] {
        assert_eq!(outcome.linked, None, "{what} must open a case");
        assert_ne!(outcome.case_id, first.case_id, "{what}");
    }
    let again = ingest(
        db,
        &report(VIN, 0, "brakes squeal", t + 2 * DAY_MS, "1.2"),
        &brakes(4),
        &[],
        &policy,
    )
    .await;
    assert_eq!(
        again.case_id, first.case_id,
        "the case still takes similar reports"
    );
}
on_both_backends!(similar_reports_join_one_case_that_counts_vehicles_versions_and_dates);

async fn a_major_report_escalates_the_minor_case_it_joins(db: &TestDb) {
    let policy = Policy::default();
    let t = CAPTURED_AT_MS;
    let minor = ingest(
        db,
        &report(VIN, 0, "soft pedal", t, "1"),
        &assessment("brakes", "minor", direction(0, 1, 0.1)),
        &[],
        &policy,
    )
    .await;
    let major = ingest(
        db,
        &report(OTHER_VIN, 0, "brakes failed", t, "1"),
        &assessment("brakes", "major", direction(0, 2, 0.1)),
        &[],
        &policy,
    )
    .await;
    assert_eq!(major.case_id, minor.case_id);
    let case = db.store.get_case(minor.case_id).await.unwrap().unwrap();
    assert_eq!(case.summary.severity, "major");
    assert!(case.history.iter().any(|h| h.field == "severity"
        && h.old_value.as_deref() == Some("minor")
        && h.new_value.as_deref() == Some("major")));
    let events = db.store.notification_events(false).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "escalated" && e.case_id == Some(minor.case_id))
            .count(),
        1
    );
}
on_both_backends!(a_major_report_escalates_the_minor_case_it_joins);

async fn enough_vehicles_within_the_window_make_an_emerging_issue_once(db: &TestDb) {
    let mut policy = Policy::default();
    policy.emerging.min_vehicles = 3;
    policy.emerging.window_days = 7;
    let t = CAPTURED_AT_MS;
    let a = || assessment("brakes", "minor", direction(0, 1, 0.1));
    // Two cars, then a third car 30 days later: never 3 cars within 7 days.
    let case = ingest(
        db,
        &report(VIN, 1, "the brake pedal goes to the floor", t, "1"),
        &a(),
        &[],
        &policy,
    )
    .await
    .case_id;
    ingest(
        db,
        &report(VIN, 2, "pedal sinks", t + DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    ingest(
        db,
        &report(VIN, 2, "pedal sinks again", t + 2 * DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    let late = ingest(
        db,
        &report(VIN, 3, "pedal sinks", t + 30 * DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    assert_eq!(late.case_id, case);
    assert!(!late.emerging, "three cars, but not within seven days");
    // Two more cars near the third: now three within the window.
    let fourth = ingest(
        db,
        &report(VIN, 4, "pedal soft", t + 31 * DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    assert!(!fourth.emerging);
    let fifth = ingest(
        db,
        &report(VIN, 5, "pedal soft", t + 32 * DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    assert!(fifth.emerging, "cars 3, 4 and 5 within seven days");
    let sixth = ingest(
        db,
        &report(VIN, 6, "pedal soft", t + 32 * DAY_MS, "1"),
        &a(),
        &[],
        &policy,
    )
    .await;
    assert!(!sixth.emerging, "a case becomes emerging once");

    let detail = db.store.get_case(case).await.unwrap().unwrap();
    assert!(detail.summary.emerging_at_ms.is_some());
    let review = detail
        .history
        .iter()
        .find(|h| h.field == "severity_review")
        .expect("severity reviewed");
    assert!(
        review.new_value.as_deref().unwrap().contains("major"),
        "\"the brake pedal goes to the floor\" is a safety sign: {review:?}"
    );
    assert_eq!(detail.summary.severity, "major");
    let emerging: Vec<_> = db
        .store
        .notification_events(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "emerging_issue")
        .collect();
    assert_eq!(emerging.len(), 1);
    assert_eq!(emerging[0].payload["vehicles"], 3);
}
on_both_backends!(enough_vehicles_within_the_window_make_an_emerging_issue_once);

fn known_issue(id: &str, similarity: f64) -> CaseMatch {
    CaseMatch {
        doc_id: id.into(),
        kind: "known_issue".parse().unwrap(),
        score: 0.03,
        similarity: Some(similarity),
        title: format!("recall {id}"),
        containment: Some(format!("park the car ({id})")),
        remedy: Some(format!("replace the master cylinder ({id})")),
    }
}

async fn the_most_similar_known_issue_suggests_ica_and_pca_until_an_engineer_writes_them(
    db: &TestDb,
) {
    let policy = Policy::default();
    let a = assessment("brakes", "minor", direction(0, 1, 0.1));
    let matches = [
        known_issue("19V-001", 0.62),
        known_issue("20V-002", 0.71),
        known_issue("21V-003", 0.2),
    ];
    let case_id = ingest(
        db,
        &report(VIN, 0, "pedal soft", CAPTURED_AT_MS, "1"),
        &a,
        &matches,
        &policy,
    )
    .await
    .case_id;
    let case = db.store.get_case(case_id).await.unwrap().unwrap();
    assert_eq!(case.ica.action.as_deref(), Some("park the car (20V-002)"));
    assert_eq!(
        case.pca.action.as_deref(),
        Some("replace the master cylinder (20V-002)")
    );
    assert!(case.ica.suggested && case.pca.suggested);
    assert_eq!(
        case.matches.len(),
        3,
        "every match is attached with its score"
    );
    assert!(case
        .matches
        .iter()
        .any(|m| m.doc_id == "21V-003" && m.similarity == Some(0.2)));

    let change = cloud_triage::app::patch::CaseUpdate {
        actor: "alice".into(),
        expected_updated_at_ms: None,
        set: serde_json::json!({"ica_action": "tow to a dealer"})
            .as_object()
            .unwrap()
            .clone(),
    };
    let case = db
        .store
        .update_case(case_id, &change, CAPTURED_AT_MS + 5_000)
        .await
        .unwrap();
    assert!(!case.ica.suggested, "written by an engineer");
    assert!(case.pca.suggested, "the PCA is still only suggested");

    let weak = [known_issue("21V-003", 0.2)];
    let other = ingest(
        db,
        &report(OTHER_VIN, 0, "radio", CAPTURED_AT_MS, "1"),
        &assessment("infotainment", "minor", direction(9, 10, 0.1)),
        &weak,
        &policy,
    )
    .await;
    let case = db.store.get_case(other.case_id).await.unwrap().unwrap();
    assert_eq!(
        case.ica.action, None,
        "similarity 0.2 is below the threshold"
    );
    assert!(!case.ica.suggested);
}
on_both_backends!(the_most_similar_known_issue_suggests_ica_and_pca_until_an_engineer_writes_them);

async fn merging_and_splitting_move_occurrences_and_keep_history(db: &TestDb) {
    let policy = Policy::default();
    let t = CAPTURED_AT_MS;
    let a = ingest(
        db,
        &report(VIN, 1, "door rattles", t, "1"),
        &assessment("body", "minor", direction(0, 1, 0.1)),
        &[known_issue("K-1", 0.6)],
        &policy,
    )
    .await;
    let a2 = ingest(
        db,
        &report(VIN, 2, "door rattles too", t + 1, "2"),
        &assessment("body", "minor", direction(0, 2, 0.1)),
        &[],
        &policy,
    )
    .await;
    let b = ingest(
        db,
        &report(VIN, 3, "trim buzzes", t + 2, "3"),
        &assessment("body", "major", direction(5, 6, 0.1)),
        &[],
        &policy,
    )
    .await;
    assert_eq!(a2.case_id, a.case_id);
    assert_ne!(b.case_id, a.case_id);

    db.store
        .merge_cases(a.case_id, b.case_id, "alice", t + 10)
        .await
        .unwrap();
    let merged = db.store.get_case(a.case_id).await.unwrap().unwrap();
    let into = db.store.get_case(b.case_id).await.unwrap().unwrap();
    assert_eq!(merged.summary.status, "merged");
    assert_eq!(merged.summary.merged_into, Some(b.case_id));
    assert_eq!(into.summary.occurrence_count, 3);
    assert_eq!(into.summary.vehicle_count, 3);
    assert_eq!(into.software_versions.len(), 3);
    assert_eq!(
        into.summary.severity, "major",
        "the merged case keeps the higher severity"
    );
    assert!(
        into.matches.iter().any(|m| m.doc_id == "K-1"),
        "knowledge matches move too"
    );
    assert!(merged
        .history
        .iter()
        .any(|h| h.field == "merged_into" && h.actor == "alice"));
    assert!(into.history.iter().any(|h| h.field == "merged_from"));
    assert!(
        matches!(
            db.store
                .merge_cases(a.case_id, b.case_id, "alice", t + 11)
                .await,
            Err(StoreError::Invalid(_))
        ),
        "a merged case cannot be merged again"
    );
    assert!(matches!(
        db.store.merge_cases(b.case_id, b.case_id, "alice", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.store.merge_cases(b.case_id, 9_999, "alice", t).await,
        Err(StoreError::NotFound)
    ));
    // A later similar report of the merged-away case joins the surviving one.
    let later = ingest(
        db,
        &report(VIN, 4, "door rattles", t + 20, "1"),
        &assessment("body", "minor", direction(0, 1, 0.1)),
        &[],
        &policy,
    )
    .await;
    assert_eq!(later.case_id, b.case_id);

    let split_out = vec![a.feedback_id, a2.feedback_id];
    let new_id = db
        .store
        .split_case(b.case_id, &split_out, "bob", t + 30)
        .await
        .unwrap();
    let new_case = db.store.get_case(new_id).await.unwrap().unwrap();
    let rest = db.store.get_case(b.case_id).await.unwrap().unwrap();
    assert_eq!(new_case.summary.occurrence_count, 2);
    assert_eq!(new_case.summary.title, "door rattles");
    assert_eq!(rest.summary.occurrence_count, 2);
    let mut moved = new_case.feedback_ids.clone();
    moved.sort();
    let mut want = split_out.clone();
    want.sort();
    assert_eq!(moved, want);
    assert!(rest
        .history
        .iter()
        .any(|h| h.field == "split" && h.actor == "bob"));
    assert!(new_case
        .history
        .iter()
        .any(|h| h.field == "opened" && h.new_value.as_deref().unwrap().contains("split from")));
    for bad in [
        vec![],
        vec![b.feedback_id, later.feedback_id],
        vec![uuid::Uuid::now_v7()],
    ] {
        assert!(
            matches!(
                db.store.split_case(b.case_id, &bad, "bob", t + 40).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
}
on_both_backends!(merging_and_splitting_move_occurrences_and_keep_history);

/// Two stores (two workers) ingesting reports of one new issue at once
/// still make one case: linking decisions are serialised.
async fn concurrent_workers_link_reports_of_one_issue_into_one_case(db: &TestDb) {
    let second = cloud_triage::store::Store::connect(&db.url).await.unwrap();
    let policy = Policy::default();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16u32 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            second.clone()
        };
        let policy = policy.clone();
        tasks.spawn(async move {
            let env = report(
                VIN,
                i + 1,
                "wipers stop",
                CAPTURED_AT_MS + i64::from(i),
                "1",
            );
            let a = assessment("wipers", "minor", direction(3, 4 + i as usize, 0.05));
            store
                .ingest_triaged_feedback(
                    &env,
                    &meta(CAPTURED_AT_MS + 5_000),
                    Some(Triaged {
                        assessment: &a,
                        matches: &[],
                        policy: &policy,
                    }),
                )
                .await
                .unwrap()
                .case_id
        });
    }
    let mut cases = std::collections::BTreeSet::new();
    while let Some(id) = tasks.join_next().await {
        cases.insert(id.unwrap());
    }
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = db
        .store
        .get_case(*cases.first().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (case.summary.occurrence_count, case.summary.vehicle_count),
        (16, 16)
    );
    second.close().await;
}
on_both_backends!(concurrent_workers_link_reports_of_one_issue_into_one_case);

/// The cloud's recognition of a clip that came in chunks, as ingest records it.
fn recognised(status: &str) -> cloud_triage::store::AsrRecord {
    cloud_triage::store::AsrRecord {
        status: status.parse().unwrap(),
        model: "whisper-tiny.en@ct2".into(),
        language: Some("en".into()),
        elapsed_ms: 420,
        error: (status == "failed").then(|| "not a WAV file".into()),
        head_unit_transcript: None,
        head_unit_confidence: None,
    }
}

/// A feedback whose words arrive after it (its clip came in chunks): its
/// untouched case is triaged from them once, names the open case of the
/// same issue to merge into, and a redelivery changes nothing. A case an
/// engineer already categorised keeps the engineer's verdict and only gets
/// the words; a failed recognition is recorded without words.
async fn a_late_transcript_triages_its_untouched_case_once(db: &TestDb) {
    use cloud_triage::app::{late_transcript::LateTranscript, patch::CaseUpdate};
    let policy = Policy::default();
    let t = CAPTURED_AT_MS;
    let brakes = |tilt| assessment("brakes", "major", direction(0, tilt, 0.2));
    let known = ingest(
        db,
        &report(VIN, 0, "brakes squeal", t, "1.0"),
        &brakes(1),
        &[],
        &policy,
    )
    .await;
    let silent = |n: u32| {
        let mut env = report(OTHER_VIN, n, "", t + n as i64, "1.0");
        env.utterance = None;
        env
    };
    let spoken = silent(1);
    let stored = db
        .store
        .ingest_feedback(&spoken, &meta(t + 2_000))
        .await
        .unwrap();
    assert_ne!(stored.case_id, known.case_id, "no words, no link");
    let words = brakes(2);
    let late = LateTranscript {
        feedback_id: spoken.feedback_id,
        asr: &recognised("transcribed"),
        text: "the brakes squeal and grind",
        confidence: 0.81,
    };
    let triaged = || {
        Some(Triaged {
            assessment: &words,
            matches: &[],
            policy: &policy,
        })
    };
    let outcome = db
        .store
        .apply_late_transcript(late, triaged(), t + 3_000)
        .await
        .unwrap()
        .expect("the feedback is stored");
    assert!(outcome.retriaged);
    let (same, similarity) = outcome.same_issue_as.expect("the brakes case is found");
    assert_eq!(same, known.case_id);
    assert!(similarity > 0.9, "{similarity}");
    let case = db.store.get_case(stored.case_id).await.unwrap().unwrap();
    assert_eq!(
        (
            case.summary.category.as_str(),
            case.summary.severity.as_str()
        ),
        ("brakes", "major")
    );
    assert_eq!(case.summary.title, "the brakes squeal and grind");
    let fb = db
        .store
        .get_feedback(spoken.feedback_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            fb.transcript.as_deref(),
            fb.transcript_source.map(|s| s.as_str())
        ),
        (Some("the brakes squeal and grind"), Some("cloud_asr"))
    );
    assert_eq!(fb.transcript_confidence, Some(0.81));
    assert_eq!(fb.asr.as_ref().map(|a| a.elapsed_ms), Some(420));
    assert_eq!(
        db.store
            .apply_late_transcript(late, triaged(), t + 4_000)
            .await
            .unwrap(),
        None,
        "a redelivered chunk does nothing"
    );
    db.store
        .merge_cases(stored.case_id, same, "triage", t + 5_000)
        .await
        .unwrap();
    let merged = db.store.get_case(known.case_id).await.unwrap().unwrap();
    assert_eq!(merged.summary.occurrence_count, 2);

    // An engineer got there first: their category stands.
    let filed = silent(2);
    let filed_case = db
        .store
        .ingest_feedback(&filed, &meta(t + 6_000))
        .await
        .unwrap()
        .case_id;
    db.store
        .update_case(
            filed_case,
            &CaseUpdate {
                actor: "erin".into(),
                expected_updated_at_ms: None,
                set: serde_json::json!({"category": "hvac"})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
            t + 7_000,
        )
        .await
        .unwrap();
    let outcome = db
        .store
        .apply_late_transcript(
            LateTranscript {
                feedback_id: filed.feedback_id,
                ..late
            },
            triaged(),
            t + 8_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((outcome.retriaged, outcome.same_issue_as), (false, None));
    let case = db.store.get_case(filed_case).await.unwrap().unwrap();
    assert_eq!(case.summary.category, "hvac");
    assert_eq!(case.summary.title, "the brakes squeal and grind");

    // Recognition failed: recorded, no words.
    let broken = silent(3);
    db.store
        .ingest_feedback(&broken, &meta(t + 9_000))
        .await
        .unwrap();
    let outcome = db
        .store
        .apply_late_transcript(
            LateTranscript {
                feedback_id: broken.feedback_id,
                asr: &recognised("failed"),
                text: "",
                confidence: 0.0,
            },
            None,
            t + 10_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!outcome.retriaged);
    let fb = db
        .store
        .get_feedback(broken.feedback_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fb.transcript, None);
    let asr = fb.asr.expect("the attempt is recorded");
    assert_eq!(
        (asr.status.as_str(), asr.error.as_deref()),
        ("failed", Some("not a WAV file"))
    );
}
on_both_backends!(a_late_transcript_triages_its_untouched_case_once);
