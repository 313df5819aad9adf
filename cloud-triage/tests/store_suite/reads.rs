//! Reads: the listing's filters and paging, and the JSON shapes clients see.

use cloud_triage::store::CaseQuery;
use sqlx::Executor;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

async fn listing_filters_and_pages_newest_first(db: &TestDb) {
    for i in 0..5 {
        db.store
            .ingest_feedback(&envelope(VIN, &format!("report {i}")), &meta(1_000 + i))
            .await
            .unwrap();
    }
    let mut conn = db.raw_connection().await;
    conn.execute("UPDATE cases SET status = 'closed', severity = 'major' WHERE id IN (2, 4)")
        .await
        .unwrap();

    let all = db.store.list_cases(&CaseQuery::default()).await.unwrap();
    assert_eq!((all.total, all.limit, all.offset), (5, 50, 0));
    assert_eq!(
        all.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [5, 4, 3, 2, 1]
    );

    let closed = db
        .store
        .list_cases(&CaseQuery {
            status: Some("closed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        closed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [4, 2]
    );
    assert_eq!(closed.total, 2);

    let both = CaseQuery {
        status: Some("new".into()),
        category: Some("untriaged".into()),
        severity: Some("unassessed".into()),
        limit: Some(2),
        offset: Some(1),
        ..Default::default()
    };
    let page = db.store.list_cases(&both).await.unwrap();
    assert_eq!((page.total, page.limit, page.offset), (3, 2, 1));
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), [3, 1]);

    let clamped = db
        .store
        .list_cases(&CaseQuery {
            limit: Some(10_000),
            offset: Some(-3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((clamped.limit, clamped.offset), (500, 0));
}
on_both_backends!(listing_filters_and_pages_newest_first);

async fn a_case_serialises_with_its_8d_blocks_and_occurrences(db: &TestDb) {
    let env = envelope(VIN, "brakes squeal when cold");
    let case_id = db
        .store
        .ingest_feedback(&env, &meta(2_000))
        .await
        .unwrap()
        .case_id;
    let json = serde_json::to_value(db.store.get_case(case_id).await.unwrap().unwrap()).unwrap();

    assert_eq!(json["id"], case_id);
    assert_eq!(json["status"], "new");
    assert_eq!(json["category"], "untriaged");
    assert_eq!(json["severity"], "unassessed");
    assert_eq!(json["model_version"], qloop_models::NO_MODEL);
    assert_eq!(json["feedback_ids"], serde_json::json!([env.feedback_id]));
    assert_eq!(json["occurrences"][0]["vin"], VIN);
    assert_eq!(json["occurrences"][0]["linked_at_ms"], 2_000);
    assert_eq!(json["ica"]["suggested"], false);
    assert!(json["ica"]["action"].is_null());
    assert_eq!(json["pca"]["suggested"], false);
    assert!(json["root_cause"]
        .as_object()
        .unwrap()
        .contains_key("escape_point"));
    assert!(json["verification"]
        .as_object()
        .unwrap()
        .contains_key("verified_at_ms"));
    assert_eq!(json["history"][0]["field"], "opened");
    assert_eq!(json["first_seen_ms"], env.captured_at_ms);
    assert!(db.store.get_case(case_id + 1).await.unwrap().is_none());
}
on_both_backends!(a_case_serialises_with_its_8d_blocks_and_occurrences);

async fn a_feedback_serialises_with_its_telemetry_snapshot(db: &TestDb) {
    let env = envelope(VIN, "lane assist tugs the wheel");
    let case_id = db
        .store
        .ingest_feedback(&env, &meta(3_000))
        .await
        .unwrap()
        .case_id;
    let json = serde_json::to_value(
        db.store
            .get_feedback(env.feedback_id)
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();

    assert_eq!(json["id"], env.feedback_id.to_string());
    assert_eq!(json["vin"], VIN);
    assert_eq!(json["transcript"], "lane assist tugs the wheel");
    assert_eq!(json["transcript_source"], "head_unit");
    assert_eq!(json["transcript_confidence"], 0.5);
    assert_eq!(json["trigger"], "voice");
    assert_eq!(json["case_id"], case_id);
    assert_eq!(json["software"][0]["ecu"], "VCFRONT");
    let signal = &json["telemetry"]["signals"][0];
    assert_eq!(
        (signal["name"].as_str(), signal["unit"].as_str()),
        (Some("Vehicle.Speed"), Some("km/h"))
    );
    assert_eq!(signal["samples"][0]["value"], 42.5);
    assert_eq!(json["telemetry"]["dtcs"][0]["code"], "C0045");
    assert_eq!(json["telemetry"]["location"]["lat"], 48.1);
    assert_eq!(json["audio"]["status"], "none");
    assert!(
        json["audio"].get("path").is_none(),
        "server paths stay private"
    );
    assert!(db
        .store
        .get_feedback(uuid::Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}
on_both_backends!(a_feedback_serialises_with_its_telemetry_snapshot);

async fn rejected_messages_are_counted(db: &TestDb) {
    db.store
        .record_rejected("qloop/v1/vehicles/X/feedback", "bad magic", 12, 1_000)
        .await
        .unwrap();
    db.store
        .record_rejected("qloop/v1/vehicles/X/feedback", "bad magic", 12, 1_000)
        .await
        .unwrap();
    assert_eq!(
        db.store.counts().await.unwrap().rejected,
        2,
        "every rejection is its own row"
    );
}
on_both_backends!(rejected_messages_are_counted);
