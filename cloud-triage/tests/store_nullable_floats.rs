//! Nullable `DOUBLE PRECISION` binds through `sqlx::any`, on SQLite and
//! PostgreSQL (issue 21, item 4.1).
//!
//! sqlx 0.8's `Any` driver turns a NULL `f64` into a NULL `f32` (FLOAT4) for
//! PostgreSQL and a non-NULL `f64` into FLOAT8, and PostgreSQL prepares a
//! statement once per connection with the parameter types of its first
//! execution. A statement first run with NULL in a float column then fails
//! with "incorrect binary data format in bind parameter N" for every later
//! non-NULL value on that connection. Each test below runs a statement with
//! NULL first and a value second on the same connection: in one ingest
//! transaction, or after as many NULL ingests as the pool has connections
//! (sequential acquires take idle connections in turn, so each of them has
//! prepared the statement with NULL before the value comes).

#[path = "store_suite/support.rs"]
#[allow(dead_code)]
mod support;

use cloud_triage::{
    app::ingest::Triaged,
    policy::Policy,
    store::{AsrRecord, CaseMatch, IngestMeta},
    triage::Assessment,
};
use qloop_protocol::FeedbackEnvelope;

use support::{envelope, meta, TestDb, VIN};

/// More than the store's pool holds (8), so every connection in it has run
/// a statement with NULL before the first value is bound.
const EVERY_CONNECTION: usize = 9;

fn assessment(confidence: f64) -> Assessment {
    Assessment {
        category: "brakes".into(),
        department: Some("chassis".into()),
        severity: "minor".into(),
        severity_reasons: vec![],
        hazard: None,
        confidence,
        model_version: "test-model".into(),
        // No embedding: no linking, every report opens its own case.
        vector: None,
    }
}

fn found(doc_id: &str, kind: &str, similarity: Option<f64>) -> CaseMatch {
    CaseMatch {
        doc_id: doc_id.into(),
        kind: kind.parse().unwrap(),
        score: 0.03,
        similarity,
        title: format!("document {doc_id}"),
        containment: None,
        remedy: None,
    }
}

/// `case_matches.similarity` ($5): a document without an embedding (NULL)
/// is saved before one with an embedding, in one ingest transaction.
async fn matches_with_and_without_similarity_are_saved_in_one_ingest(db: &TestDb) {
    let policy = Policy::default();
    let a = assessment(0.8);
    let matches = [
        found("case-7", "similar_case", None),
        found("RC-24V-001", "known_issue", Some(0.62)),
        found("case-9", "similar_case", None),
        found("RC-24V-002", "known_issue", Some(0.41)),
    ];
    let env = envelope(VIN, "the brakes squeal when cold");
    let outcome = db
        .store
        .ingest_triaged_feedback(
            &env,
            &meta(env.captured_at_ms + 1_000),
            Some(Triaged {
                assessment: &a,
                matches: &matches,
                policy: &policy,
            }),
        )
        .await
        .expect("a NULL similarity then a value are both stored");
    let case = db.store.get_case(outcome.case_id).await.unwrap().unwrap();
    let mut stored: Vec<(String, Option<f64>)> = case
        .matches
        .iter()
        .map(|m| (m.doc_id.clone(), m.similarity))
        .collect();
    stored.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        stored,
        vec![
            ("RC-24V-001".to_string(), Some(0.62)),
            ("RC-24V-002".to_string(), Some(0.41)),
            ("case-7".to_string(), None),
            ("case-9".to_string(), None),
        ]
    );
}
on_both_backends!(matches_with_and_without_similarity_are_saved_in_one_ingest);

/// `cases.confidence` ($9 of the case insert): an untriaged case (NULL),
/// then a triaged one.
async fn an_untriaged_case_then_a_triaged_one(db: &TestDb) {
    let policy = Policy::default();
    let mut untriaged = None;
    for _ in 0..EVERY_CONNECTION {
        let first = envelope(VIN, "the radio is dead");
        let outcome = db
            .store
            .ingest_feedback(&first, &meta(first.captured_at_ms + 1_000))
            .await
            .unwrap();
        untriaged = Some(outcome);
    }
    let untriaged = untriaged.unwrap();
    let a = assessment(0.75);
    let second = envelope(VIN, "the brakes squeal");
    let triaged = db
        .store
        .ingest_triaged_feedback(
            &second,
            &meta(second.captured_at_ms + 1_000),
            Some(Triaged {
                assessment: &a,
                matches: &[],
                policy: &policy,
            }),
        )
        .await
        .expect("a case with a confidence after one without");
    let confidence = |id| async move { db.store.get_case(id).await.unwrap().unwrap().confidence };
    assert_eq!(confidence(untriaged.case_id).await, None);
    assert_eq!(confidence(triaged.case_id).await, Some(0.75));
}
on_both_backends!(an_untriaged_case_then_a_triaged_one);

fn asr(head_unit_confidence: Option<f64>) -> AsrRecord {
    AsrRecord {
        status: "transcribed".parse().unwrap(),
        model: "whisper-tiny.en".into(),
        language: Some("en".into()),
        elapsed_ms: 120,
        error: None,
        head_unit_transcript: Some("the brakes squeak".into()),
        head_unit_confidence,
    }
}

/// Ingests `env` with `asr` and returns its id.
async fn ingest_heard(db: &TestDb, env: FeedbackEnvelope, asr: AsrRecord) -> uuid::Uuid {
    let m = IngestMeta {
        asr: Some(asr),
        ..meta(env.captured_at_ms + 1_000)
    };
    db.store
        .ingest_feedback(&env, &m)
        .await
        .expect("the feedback is stored");
    env.feedback_id
}

/// `feedback.transcript_confidence` ($11 of the feedback insert): feedback
/// whose head unit gave no confidence, then one that did.
async fn feedback_without_then_with_a_transcript_confidence(db: &TestDb) {
    let said = |confidence| {
        let mut env = envelope(VIN, "the brakes squeal");
        env.utterance.as_mut().unwrap().confidence = confidence;
        env
    };
    let mut without = None;
    for _ in 0..EVERY_CONNECTION {
        without = Some(ingest_heard(db, said(None), asr(Some(0.5))).await);
    }
    let with = ingest_heard(db, said(Some(0.25)), asr(Some(0.5))).await;

    let read = |id| async move { db.store.get_feedback(id).await.unwrap().unwrap() };
    assert_eq!(read(without.unwrap()).await.transcript_confidence, None);
    assert_eq!(read(with).await.transcript_confidence, Some(0.25));
}
on_both_backends!(feedback_without_then_with_a_transcript_confidence);

/// `feedback.head_unit_confidence` ($33 of the feedback insert): the cloud
/// replaced words the head unit gave no confidence for, then words it did.
async fn feedback_without_then_with_a_head_unit_confidence(db: &TestDb) {
    let mut without = None;
    for _ in 0..EVERY_CONNECTION {
        without = Some(ingest_heard(db, envelope(VIN, "the brakes squeal"), asr(None)).await);
    }
    let with = ingest_heard(db, envelope(VIN, "the brakes squeal"), asr(Some(0.125))).await;

    let head_unit = |id| async move {
        let fb = db.store.get_feedback(id).await.unwrap().unwrap();
        fb.asr
            .expect("recognition is recorded")
            .head_unit_confidence
    };
    assert_eq!(head_unit(without.unwrap()).await, None);
    assert_eq!(head_unit(with).await, Some(0.125));
}
on_both_backends!(feedback_without_then_with_a_head_unit_confidence);
