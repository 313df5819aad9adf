//! Working a case: checked fields, history for each change, optimistic conflicts.

use cloud_triage::{app::patch::CaseUpdate, store::StoreError};
use serde_json::{json, Value};

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

fn update(expected: Option<i64>, set: Value) -> CaseUpdate {
    CaseUpdate {
        actor: "alice".into(),
        expected_updated_at_ms: expected,
        set: set.as_object().unwrap().clone(),
    }
}

async fn each_changed_field_is_stored_and_recorded_in_history(db: &TestDb) {
    let case_id = db
        .store
        .ingest_feedback(&envelope(VIN, "door rattles"), &meta(1_000))
        .await
        .unwrap()
        .case_id;
    let change = update(
        Some(1_000),
        json!({"root_cause_owner": "erin", "ica_action": "tape the trim", "ica_due_ms": 9_000, "pca_suggested": true, "department": null}),
    );
    let case = db.store.update_case(case_id, &change, 5_000).await.unwrap();

    assert_eq!(case.root_cause.owner.as_deref(), Some("erin"));
    assert_eq!(case.ica.action.as_deref(), Some("tape the trim"));
    assert_eq!(case.ica.due_ms, Some(9_000));
    assert!(case.pca.suggested);
    assert_eq!(case.summary.updated_at_ms, 5_000);
    let changed: Vec<(&str, Option<&str>, Option<&str>)> = case
        .history
        .iter()
        .skip(1)
        .map(|h| {
            (
                h.field.as_str(),
                h.old_value.as_deref(),
                h.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        changed.len(),
        4,
        "department was already empty: no entry. {changed:?}"
    );
    assert!(changed.contains(&("root_cause_owner", None, Some("erin"))));
    assert!(changed.contains(&("ica_due_ms", None, Some("9000"))));
    assert!(changed.contains(&("pca_suggested", Some("0"), Some("1"))));
    assert!(case
        .history
        .iter()
        .skip(1)
        .all(|h| h.actor == "alice" && h.at_ms == 5_000));
}
on_both_backends!(each_changed_field_is_stored_and_recorded_in_history);

async fn a_stale_update_is_a_conflict_and_changes_nothing(db: &TestDb) {
    let case_id = db
        .store
        .ingest_feedback(&envelope(VIN, "door rattles"), &meta(1_000))
        .await
        .unwrap()
        .case_id;
    db.store
        .update_case(
            case_id,
            &update(Some(1_000), json!({"root_cause": "loose clip"})),
            1_000,
        )
        .await
        .unwrap();
    let after_first = db.store.get_case(case_id).await.unwrap().unwrap();
    assert_eq!(
        after_first.summary.updated_at_ms, 1_001,
        "updated_at_ms strictly increases"
    );

    let stale = db
        .store
        .update_case(
            case_id,
            &update(Some(1_000), json!({"root_cause": "wrong"})),
            2_000,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    // SLA clocks are read at "now", so compare everything else.
    let without_clocks = |mut c: cloud_triage::store::CaseDetail| {
        c.sla.clear();
        c
    };
    assert_eq!(
        without_clocks(db.store.get_case(case_id).await.unwrap().unwrap()),
        without_clocks(after_first)
    );

    let missing = db
        .store
        .update_case(
            case_id + 1,
            &update(None, json!({"root_cause": "hinge"})),
            2_000,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let invalid = db
        .store
        .update_case(case_id, &update(None, json!({"status": "exploded"})), 2_000)
        .await;
    assert!(
        matches!(invalid, Err(StoreError::Invalid(_))),
        "{invalid:?}"
    );
}
on_both_backends!(a_stale_update_is_a_conflict_and_changes_nothing);

async fn concurrent_updates_from_the_same_read_let_exactly_one_win(db: &TestDb) {
    let case_id = db
        .store
        .ingest_feedback(&envelope(VIN, "door rattles"), &meta(1_000))
        .await
        .unwrap()
        .case_id;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = db.store.clone();
            let change = update(Some(1_000), json!({"ica_owner": format!("engineer {i}")}));
            tokio::spawn(async move { store.update_case(case_id, &change, 2_000).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        db.store
            .get_case(case_id)
            .await
            .unwrap()
            .unwrap()
            .history
            .len(),
        2
    );
}
on_both_backends!(concurrent_updates_from_the_same_read_let_exactly_one_win);
