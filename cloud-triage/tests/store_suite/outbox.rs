//! The downlink outbox: pending until published, receipts matched by event and VIN.

use qloop_protocol::EventReceipt;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, OTHER_VIN, VIN},
};

async fn events_stay_pending_oldest_first_until_published(db: &TestDb) {
    let mut queued = Vec::new();
    for (i, vin) in [VIN, OTHER_VIN, VIN].into_iter().enumerate() {
        let outcome = db
            .store
            .ingest_feedback(&envelope(vin, "noise"), &meta(1_000 + i as i64))
            .await
            .unwrap();
        queued.push((vin.to_string(), outcome.event.unwrap()));
    }

    assert_eq!(
        db.store.pending_downlink(10).await.unwrap(),
        queued,
        "all three, oldest first, with their VIN"
    );
    assert_eq!(
        db.store.pending_downlink(2).await.unwrap(),
        queued[..2],
        "the limit holds"
    );

    db.store
        .mark_downlink_published(queued[0].1.event_id, 5_000)
        .await
        .unwrap();
    db.store
        .mark_downlink_published(queued[0].1.event_id, 6_000)
        .await
        .unwrap();
    assert_eq!(db.store.pending_downlink(10).await.unwrap(), queued[1..]);
    assert_eq!(db.store.counts().await.unwrap().downlink_pending, 2);
}
on_both_backends!(events_stay_pending_oldest_first_until_published);

async fn a_receipt_is_recorded_only_for_its_own_event_and_vehicle(db: &TestDb) {
    let event = db
        .store
        .ingest_feedback(&envelope(VIN, "noise"), &meta(1_000))
        .await
        .unwrap()
        .event
        .unwrap();
    let receipt = |vin: &str, event_id| EventReceipt {
        vin: vin.into(),
        event_id,
        received_at_ms: 9_000,
    };

    assert!(
        !db.store
            .record_receipt(&receipt(OTHER_VIN, event.event_id))
            .await
            .unwrap(),
        "another car's receipt"
    );
    assert!(
        !db.store
            .record_receipt(&receipt(VIN, uuid::Uuid::now_v7()))
            .await
            .unwrap(),
        "an unknown event"
    );
    assert_eq!(db.store.receipt_at(event.event_id).await.unwrap(), None);

    assert!(db
        .store
        .record_receipt(&receipt(VIN, event.event_id))
        .await
        .unwrap());
    assert_eq!(
        db.store.receipt_at(event.event_id).await.unwrap(),
        Some(9_000)
    );
    assert!(
        db.store.pending_downlink(10).await.unwrap().is_empty(),
        "a receipt proves publication"
    );
}
on_both_backends!(a_receipt_is_recorded_only_for_its_own_event_and_vehicle);
