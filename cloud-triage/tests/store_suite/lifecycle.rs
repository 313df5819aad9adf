//! Connecting, migrating again, and surviving a restart.

use cloud_triage::store::{Backend, Store, StoreError};
use sqlx::Row;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

async fn migrations_run_again_on_an_existing_database_without_change(db: &TestDb) {
    let env = envelope(VIN, "radio resets");
    db.store.ingest_feedback(&env, &meta(1_000)).await.unwrap();
    db.store.migrate().await.unwrap();
    let reopened = Store::connect(&db.url)
        .await
        .expect("a second connect migrates again");

    let mut conn = db.raw_connection().await;
    let applied: i64 = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get("n");
    assert_eq!(
        applied,
        cloud_triage::store::migrations::MIGRATIONS.len() as i64
    );
    assert_eq!(reopened.counts().await.unwrap().feedback, 1);
    let next = reopened
        .ingest_feedback(&envelope(VIN, "and again"), &meta(2_000))
        .await
        .unwrap();
    assert_eq!(next.case_id, 2, "the case sequence is not reset");
    reopened.close().await;
}
on_both_backends!(migrations_run_again_on_an_existing_database_without_change);

async fn the_backend_is_named_by_the_url(db: &TestDb) {
    let expected = if db.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(db.store.backend(), expected);
}
on_both_backends!(the_backend_is_named_by_the_url);

#[tokio::test]
async fn a_sqlite_file_reopened_after_the_store_is_dropped_has_the_data() {
    let db = TestDb::sqlite().await;
    let env = envelope(VIN, "charging port door sticks");
    let case_id = db
        .store
        .ingest_feedback(&env, &meta(1_000))
        .await
        .unwrap()
        .case_id;
    let TestDb {
        store, url, dir, ..
    } = db;
    store.close().await;
    drop(store);

    let reopened = Store::connect(&url).await.unwrap();
    let feedback = reopened
        .get_feedback(env.feedback_id)
        .await
        .unwrap()
        .expect("feedback survives");
    assert_eq!(feedback.case_id, Some(case_id));
    assert!(
        reopened.get_case(case_id).await.unwrap().is_some(),
        "case survives"
    );
    assert_eq!(
        reopened.pending_downlink(10).await.unwrap().len(),
        1,
        "queued event survives"
    );
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    reopened.close().await;
    drop(dir);
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_without_echoing_the_url() {
    let err = Store::connect("mysql://root:secret@db/qloop")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}
