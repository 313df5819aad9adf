//! Ingest: one feedback, one case, one queued event — exactly once.

use std::collections::HashSet;

use cloud_triage::store::{AudioState, IngestMeta};
use qloop_protocol::EventKind;
use sqlx::{Executor, Row};

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

async fn ingest_creates_one_feedback_one_case_and_one_queued_received_event(db: &TestDb) {
    let env = envelope(VIN, "the wipers stop mid-sweep");
    let outcome = db
        .store
        .ingest_feedback(&env, &meta(1_717_000_001_000))
        .await
        .unwrap();

    assert!(outcome.created);
    assert_eq!(outcome.feedback_id, env.feedback_id);
    let event = outcome.event.expect("a new case queues a Received event");
    assert_eq!(event.kind, EventKind::Received);
    assert_eq!(event.case_number, Some(outcome.case_id));
    assert_eq!(event.feedback_id, Some(env.feedback_id));
    assert!(
        event.message.contains(&format!("case {}", outcome.case_id)),
        "{}",
        event.message
    );

    let counts = db.store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases, counts.downlink_pending),
        (1, 1, 1)
    );
    let case = db.store.get_case(outcome.case_id).await.unwrap().unwrap();
    assert_eq!(case.summary.status, "new");
    assert_eq!(case.summary.category, qloop_models::UNTRIAGED);
    assert_eq!(case.summary.severity, qloop_models::UNASSESSED);
    assert_eq!(case.summary.title, "the wipers stop mid-sweep");
    assert_eq!(case.feedback_ids, vec![env.feedback_id]);
    assert_eq!(case.history.len(), 1);
    assert_eq!(case.history[0].field, "opened");
}
on_both_backends!(ingest_creates_one_feedback_one_case_and_one_queued_received_event);

async fn the_same_envelope_twice_is_stored_once_with_one_case(db: &TestDb) {
    let env = envelope(VIN, "seat heater stays on");
    let first = db
        .store
        .ingest_feedback(&env, &meta(1_717_000_001_000))
        .await
        .unwrap();
    let again = db
        .store
        .ingest_feedback(&env, &meta(1_717_000_009_000))
        .await
        .unwrap();

    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.case_id, first.case_id);
    assert_eq!(again.event, None);
    let counts = db.store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases, counts.downlink_pending),
        (1, 1, 1)
    );
    let stored = db
        .store
        .get_feedback(env.feedback_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.received_at_ms, 1_717_000_001_000,
        "the first arrival is kept"
    );
}
on_both_backends!(the_same_envelope_twice_is_stored_once_with_one_case);

async fn twenty_concurrent_ingests_of_one_feedback_store_exactly_one(db: &TestDb) {
    let env = envelope(VIN, "phone keeps disconnecting");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, env) = (db.store.clone(), env.clone());
            tokio::spawn(async move {
                store
                    .ingest_feedback(&env, &meta(1_717_000_001_000 + i))
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().expect("every racing ingest succeeds"));
    }

    assert_eq!(
        outcomes.iter().filter(|o| o.created).count(),
        1,
        "exactly one winner"
    );
    let case_ids: HashSet<i64> = outcomes.iter().map(|o| o.case_id).collect();
    assert_eq!(case_ids.len(), 1, "every caller is told the same case");
    let counts = db.store.counts().await.unwrap();
    assert_eq!(
        (counts.feedback, counts.cases, counts.downlink_pending),
        (1, 1, 1)
    );
}
on_both_backends!(twenty_concurrent_ingests_of_one_feedback_store_exactly_one);

async fn case_numbers_are_unique_and_increasing_across_a_hundred_ingests(db: &TestDb) {
    let mut previous = 0;
    for i in 0..100 {
        let outcome = db
            .store
            .ingest_feedback(
                &envelope(VIN, &format!("report {i}")),
                &meta(1_717_000_001_000 + i),
            )
            .await
            .unwrap();
        assert!(
            outcome.case_id > previous,
            "case {} after {previous}",
            outcome.case_id
        );
        previous = outcome.case_id;
    }
    assert_eq!(previous, 100, "numbers start at 1 and skip none");
    assert_eq!(db.store.counts().await.unwrap().cases, 100);
}
on_both_backends!(case_numbers_are_unique_and_increasing_across_a_hundred_ingests);

async fn placeholders_bound_out_of_order_land_in_their_own_columns(db: &TestDb) {
    let mut conn = db.raw_connection().await;
    conn.execute(
        sqlx::query(
            "INSERT INTO rejected_messages (error, id, topic, received_at_ms, payload_bytes) VALUES ($3, $1, $2, $5, $4)",
        )
        .bind("row-1")
        .bind("qloop/v1/vehicles/X/feedback")
        .bind("bad magic")
        .bind(77_i64)
        .bind(1_717_000_000_123_i64),
    )
    .await
    .unwrap();
    let row = sqlx::query("SELECT id, topic, error, payload_bytes, received_at_ms FROM rejected_messages WHERE id = $1")
        .bind("row-1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        row.get::<String, _>("topic"),
        "qloop/v1/vehicles/X/feedback"
    );
    assert_eq!(row.get::<String, _>("error"), "bad magic");
    assert_eq!(row.get::<i64, _>("payload_bytes"), 77);
    assert_eq!(row.get::<i64, _>("received_at_ms"), 1_717_000_000_123);
    let reused = sqlx::query(
        "SELECT COUNT(*) AS n FROM rejected_messages WHERE id = $1 AND (topic = $2 OR id = $1)",
    )
    .bind("row-1")
    .bind("no such topic")
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        reused.get::<i64, _>("n"),
        1,
        "a placeholder used twice binds one value"
    );
}
on_both_backends!(placeholders_bound_out_of_order_land_in_their_own_columns);

async fn chunked_audio_is_expected_until_marked_complete(db: &TestDb) {
    let mut env = envelope(VIN, "rattle from the dashboard");
    env.audio = Some(qloop_protocol::AudioClip {
        codec: qloop_protocol::AudioCodec::Wav,
        sample_rate: 16_000,
        channels: 1,
        duration_ms: 4_000,
        payload: qloop_protocol::AudioPayload::Chunked {
            chunks: 2,
            total_bytes: 128_044,
            crc32: 0xDEAD_BEEF,
        },
    });
    let id = env.feedback_id;
    assert_eq!(
        db.store.audio_expected(id).await.unwrap(),
        None,
        "nothing expected before the envelope"
    );
    db.store
        .record_audio_chunk(id, 1, 2, "/audio/x.1", 28_044, 5)
        .await
        .unwrap();
    db.store
        .record_audio_chunk(id, 1, 2, "/audio/x.1-again", 28_044, 6)
        .await
        .unwrap();
    let pending = IngestMeta {
        received_at_ms: 7,
        envelope_bytes: 1_000,
        asr: None,
        audio: AudioState::Pending {
            chunks: 2,
            total_bytes: 128_044,
        },
    };
    db.store.ingest_feedback(&env, &pending).await.unwrap();
    db.store
        .record_audio_chunk(id, 0, 2, "/audio/x.0", 100_000, 8)
        .await
        .unwrap();

    assert_eq!(
        db.store.audio_expected(id).await.unwrap(),
        Some((2, 128_044))
    );
    assert_eq!(db.store.audio_crc32(id).await.unwrap(), Some(0xDEAD_BEEF));
    assert_eq!(
        db.store.audio_chunk_paths(id).await.unwrap(),
        vec![(0, "/audio/x.0".to_string()), (1, "/audio/x.1".to_string())],
        "in index order, the first recording of a repeated chunk kept"
    );
    db.store
        .set_audio(id, "complete", Some("/audio/x.wav"), Some(128_044))
        .await
        .unwrap();
    assert_eq!(db.store.audio_expected(id).await.unwrap(), None);
    let audio = db.store.get_feedback(id).await.unwrap().unwrap().audio;
    assert_eq!(
        (audio.status.as_str(), audio.path.as_deref(), audio.bytes),
        ("complete", Some("/audio/x.wav"), Some(128_044))
    );
    assert_eq!(
        (audio.codec.as_deref(), audio.sample_rate, audio.duration_ms),
        (Some("wav"), Some(16_000), Some(4_000))
    );
    assert!(
        db.store.set_audio(id, "melted", None, None).await.is_err(),
        "unknown status refused"
    );
    assert!(
        db.store
            .set_audio(uuid::Uuid::now_v7(), "corrupt", None, None)
            .await
            .is_err(),
        "unknown feedback refused"
    );
}
on_both_backends!(chunked_audio_is_expected_until_marked_complete);
