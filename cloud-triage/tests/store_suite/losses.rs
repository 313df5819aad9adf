//! What cars report lost: stored once, shown on the vehicle, counted for
//! `/metrics`; a chunk lost for good leaves the clip `incomplete` whichever
//! of report and envelope comes first; a cut-short capture says so.

use cloud_triage::store::{AudioState, IngestMeta};
use qloop_protocol::{CutShort, CutShortReason, LossReport, LostMessage};
use uuid::Uuid;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

fn report(feedback_id: Option<Uuid>, lost: LostMessage, resent: bool) -> LossReport {
    LossReport {
        report_id: Uuid::now_v7(),
        vin: VIN.into(),
        feedback_id,
        lost,
        reason: "outbox record 00000000000000000007.qlm unreadable: checksum mismatch".into(),
        resent,
        detected_at_ms: 1_717_000_100_000,
    }
}

fn chunked(received_at_ms: i64) -> IngestMeta {
    IngestMeta {
        audio: AudioState::Pending {
            chunks: 3,
            total_bytes: 250_000,
        },
        ..meta(received_at_ms)
    }
}

async fn a_lost_chunk_leaves_the_clip_incomplete_whether_reported_before_or_after_the_envelope(
    db: &TestDb,
) {
    // Envelope first, then the report.
    let first = envelope(VIN, "the seat heater stays on");
    db.store
        .ingest_feedback(&first, &chunked(1_000))
        .await
        .unwrap();
    let lost = report(
        Some(first.feedback_id),
        LostMessage::AudioChunk { index: 1 },
        false,
    );
    assert!(db.store.record_loss(&lost, 2_000).await.unwrap());
    assert!(
        !db.store.record_loss(&lost, 2_500).await.unwrap(),
        "a repeat is stored once"
    );
    let audio = db
        .store
        .get_feedback(first.feedback_id)
        .await
        .unwrap()
        .unwrap()
        .audio;
    assert_eq!(audio.status, "incomplete");

    // Report first (the envelope was delayed), then the envelope.
    let second = envelope(VIN, "the sunroof rattles");
    let early = report(
        Some(second.feedback_id),
        LostMessage::AudioChunk { index: 0 },
        false,
    );
    db.store.record_loss(&early, 3_000).await.unwrap();
    db.store
        .ingest_feedback(&second, &chunked(3_500))
        .await
        .unwrap();
    let audio = db
        .store
        .get_feedback(second.feedback_id)
        .await
        .unwrap()
        .unwrap()
        .audio;
    assert_eq!(audio.status, "incomplete");

    // A chunk the car resent from its source is no loss to the clip.
    let third = envelope(VIN, "the horn is weak");
    db.store
        .ingest_feedback(&third, &chunked(4_000))
        .await
        .unwrap();
    let resent = report(
        Some(third.feedback_id),
        LostMessage::AudioChunk { index: 2 },
        true,
    );
    db.store.record_loss(&resent, 4_500).await.unwrap();
    let audio = db
        .store
        .get_feedback(third.feedback_id)
        .await
        .unwrap()
        .unwrap()
        .audio;
    assert_eq!(audio.status, "partial");
}
on_both_backends!(
    a_lost_chunk_leaves_the_clip_incomplete_whether_reported_before_or_after_the_envelope
);

async fn a_lost_feedback_shows_on_its_vehicle_and_in_the_counts_until_it_arrives(db: &TestDb) {
    let arrived = envelope(VIN, "the wipers smear");
    db.store
        .ingest_feedback(&arrived, &meta(1_000))
        .await
        .unwrap();
    let never = Uuid::now_v7();
    db.store
        .record_loss(&report(Some(never), LostMessage::Feedback, false), 2_000)
        .await
        .unwrap();
    db.store
        .record_loss(
            &report(Some(arrived.feedback_id), LostMessage::Capture, false),
            2_100,
        )
        .await
        .unwrap();
    db.store
        .record_loss(&report(None, LostMessage::Unknown, false), 2_200)
        .await
        .unwrap();

    let view = db
        .store
        .vehicle_view(VIN)
        .await
        .unwrap()
        .expect("the vehicle sent something");
    assert_eq!(view.feedback.len(), 1);
    assert_eq!(view.losses.len(), 3);
    assert_eq!(view.lost_feedback, 1, "only the one that never arrived");
    let never_row = view
        .losses
        .iter()
        .find(|l| l.feedback_id == Some(never))
        .unwrap();
    assert_eq!(
        (never_row.lost.as_str(), never_row.feedback_arrived),
        ("feedback", false)
    );
    let arrived_row = view
        .losses
        .iter()
        .find(|l| l.feedback_id == Some(arrived.feedback_id))
        .unwrap();
    assert!(arrived_row.feedback_arrived);
    assert_eq!(db.store.lost_feedback_count().await.unwrap(), 1);
    let counts = db.store.loss_counts().await.unwrap();
    let total: i64 = counts.iter().map(|c| c.count).sum();
    assert_eq!(total, 3);
    assert!(db
        .store
        .vehicle_view("1FTFW1ET5DFC10312")
        .await
        .unwrap()
        .is_none());
}
on_both_backends!(a_lost_feedback_shows_on_its_vehicle_and_in_the_counts_until_it_arrives);

async fn a_cut_short_capture_is_stored_as_cut_short(db: &TestDb) {
    let mut env = envelope(VIN, "the car braked by itself");
    env.cut_short = Some(CutShort {
        reason: CutShortReason::AgentStopped,
        completed_at_ms: 1_717_000_050_000,
    });
    db.store.ingest_feedback(&env, &meta(1_000)).await.unwrap();
    let stored = db
        .store
        .get_feedback(env.feedback_id)
        .await
        .unwrap()
        .unwrap();
    let cut = stored.cut_short.expect("cut short");
    assert_eq!(
        (cut.reason.as_str(), cut.completed_at_ms),
        ("agent_stopped", 1_717_000_050_000)
    );
    let plain = envelope(VIN, "the radio is loud");
    db.store
        .ingest_feedback(&plain, &meta(2_000))
        .await
        .unwrap();
    let stored = db
        .store
        .get_feedback(plain.feedback_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.cut_short, None);
}
on_both_backends!(a_cut_short_capture_is_stored_as_cut_short);
