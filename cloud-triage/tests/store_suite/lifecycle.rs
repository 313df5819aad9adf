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

/// Migration 0011 moves clock cycles out of metric names: `resolution#N`
/// (the N-th finished resolution clock) becomes cycle N - 1 of
/// `resolution`, and the current clock's cycle is the number of finished
/// ones; escalations follow their clocks.
async fn sla_cycles_move_out_of_metric_names(db: &TestDb) {
    let case_id = db
        .store
        .ingest_feedback(&envelope(VIN, "seat heater stays on"), &meta(1_000))
        .await
        .unwrap()
        .case_id;
    let mut conn = db.raw_connection().await;
    // Back to the schema and rows before 0011.
    for sql in [
        "DELETE FROM _sqlx_migrations WHERE version = 11",
        "DROP TABLE escalations",
        "DROP TABLE sla_clocks",
        "CREATE TABLE sla_clocks (case_id BIGINT NOT NULL REFERENCES cases (id), metric TEXT NOT NULL, \
         target_ms BIGINT NOT NULL, started_at_ms BIGINT NOT NULL, due_at_ms BIGINT NOT NULL, \
         paused_ms BIGINT NOT NULL DEFAULT 0, paused_since_ms BIGINT, pauses_json TEXT NOT NULL DEFAULT '[]', \
         stopped_at_ms BIGINT, breached_at_ms BIGINT, PRIMARY KEY (case_id, metric))",
        "CREATE INDEX IF NOT EXISTS sla_clocks_running ON sla_clocks (stopped_at_ms, due_at_ms)",
        "CREATE TABLE escalations (case_id BIGINT NOT NULL REFERENCES cases (id), kind TEXT NOT NULL, \
         metric TEXT NOT NULL, at_ms BIGINT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (case_id, kind, metric))",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    for (metric, stopped) in [
        ("route", Some(10)),
        ("first_response", Some(20)),
        ("resolution#1", Some(30)),
        ("resolution#2", Some(40)),
        ("resolution", None),
        ("next_update#1", Some(50)),
        ("next_update", None),
    ] {
        sqlx::query(
            "INSERT INTO sla_clocks (case_id, metric, target_ms, started_at_ms, due_at_ms, stopped_at_ms) \
             VALUES ($1, $2, 100, 1, 101, $3)",
        )
        .bind(case_id)
        .bind(metric)
        .bind(stopped)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    for (kind, metric) in [
        ("major", ""),
        ("breached", "route"),
        ("breached", "resolution#2"),
        ("unresolved", "resolution#1"),
        ("unresolved", "resolution"),
        ("breached", "next_update#1"),
        ("breach_imminent", "next_update"),
    ] {
        sqlx::query(
            "INSERT INTO escalations (case_id, kind, metric, at_ms, detail) VALUES ($1, $2, $3, 5, 'x')",
        )
        .bind(case_id)
        .bind(kind)
        .bind(metric)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    db.store.migrate().await.unwrap();

    let clocks: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT metric, cycle, stopped_at_ms FROM sla_clocks WHERE case_id = $1 ORDER BY metric, cycle",
    )
    .bind(case_id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let owned = |v: &[(&str, i64, Option<i64>)]| -> Vec<(String, i64, Option<i64>)> {
        v.iter().map(|(m, c, s)| (m.to_string(), *c, *s)).collect()
    };
    assert_eq!(
        clocks,
        owned(&[
            ("first_response", 0, Some(20)),
            ("next_update", 0, Some(50)),
            ("next_update", 1, None),
            ("resolution", 0, Some(30)),
            ("resolution", 1, Some(40)),
            ("resolution", 2, None),
            ("route", 0, Some(10)),
        ])
    );
    let escalations: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, metric, cycle FROM escalations WHERE case_id = $1 ORDER BY kind, metric, cycle",
    )
    .bind(case_id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let expected: Vec<(String, String, i64)> = [
        ("breach_imminent", "next_update", 1),
        ("breached", "next_update", 0),
        ("breached", "resolution", 1),
        ("breached", "route", 0),
        ("major", "", 0),
        ("unresolved", "resolution", 0),
        ("unresolved", "resolution", 2),
    ]
    .iter()
    .map(|(k, m, c)| (k.to_string(), m.to_string(), *c))
    .collect();
    assert_eq!(escalations, expected);
    // The case shows its clocks by metric, the current cycle first.
    let case = db.store.get_case(case_id).await.unwrap().unwrap();
    let shown: Vec<(String, i64)> = case
        .sla
        .iter()
        .map(|c| (c.metric.to_string(), c.cycle))
        .collect();
    assert_eq!(
        shown,
        [
            ("first_response", 0),
            ("next_update", 1),
            ("next_update", 0),
            ("resolution", 2),
            ("resolution", 1),
            ("resolution", 0),
            ("route", 0),
        ]
        .iter()
        .map(|(m, c)| (m.to_string(), *c))
        .collect::<Vec<_>>()
    );
}
on_both_backends!(sla_cycles_move_out_of_metric_names);
