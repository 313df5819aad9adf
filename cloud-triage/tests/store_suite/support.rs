//! One place for the suite's databases: a temp SQLite file, or a uniquely
//! named PostgreSQL database made from `test` and dropped at the end.
//!
//! PostgreSQL defaults to `postgres://postgres@127.0.0.1:5432/test`
//! (override with `QLOOP_TEST_POSTGRES_URL`). When it is unreachable a test
//! prints `SKIP: postgres not reachable` and passes, unless
//! `QLOOP_REQUIRE_SERVICES=1`, when it fails.

use std::time::Duration;

use cloud_triage::store::Store;
use qloop_protocol::{testing::EnvelopeBuilder, FeedbackEnvelope, TriggerKind};
use sqlx::{AnyConnection, Connection, Executor};
use uuid::Uuid;

/// A valid VIN (17 characters, no I, O or Q).
pub const VIN: &str = "5YJ3E1EA7KF317000";
/// A second valid VIN.
pub const OTHER_VIN: &str = "KNAFX4A61F5300001";
/// A capture time in 2024, Unix ms.
pub const CAPTURED_AT_MS: i64 = 1_717_000_000_000;

/// Generates `sqlite` and `postgres` tests running `$behaviour(TestDb)`.
#[macro_export]
macro_rules! on_both_backends {
    ($behaviour:ident) => {
        mod $behaviour {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::TestDb::sqlite().await;
                super::$behaviour(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::support::TestDb::postgres().await else {
                    return;
                };
                super::$behaviour(&db).await;
                db.finish().await;
            }
        }
    };
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    /// Its URL, for a second connection or a reopen.
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    pub dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop at the end.
    pg_database: Option<String>,
}

impl TestDb {
    /// A store on a SQLite file in a new temp directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("triage.db").display()
        );
        let store = Store::connect(&url).await.expect("sqlite store opens");
        TestDb {
            store,
            url,
            dir: Some(dir),
            pg_database: None,
        }
    }

    /// A store on a new PostgreSQL database, or `None` (after printing SKIP) when the server is unreachable.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = admin_url();
        let mut admin =
            match tokio::time::timeout(Duration::from_secs(5), connect(&admin_url)).await {
                Ok(Ok(conn)) => conn,
                failure => {
                    if std::env::var("QLOOP_REQUIRE_SERVICES").as_deref() == Ok("1") {
                        panic!("postgres required but not reachable at {admin_url}: {failure:?}");
                    }
                    println!("SKIP: postgres not reachable");
                    return None;
                }
            };
        let name = format!("qloop_test_{}", Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("postgres URL without a database: {admin_url}"),
        };
        let store = Store::connect(&url).await.expect("postgres store opens");
        Some(TestDb {
            store,
            url,
            dir: None,
            pg_database: Some(name),
        })
    }

    /// Closes the store and drops the PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some(name) = self.pg_database {
            let mut admin = connect(&admin_url()).await.unwrap();
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
        }
    }

    /// A second, independent connection to the same database.
    pub async fn raw_connection(&self) -> AnyConnection {
        connect(&self.url).await.unwrap()
    }
}

/// The server and maintenance database tests create their databases from.
fn admin_url() -> String {
    std::env::var("QLOOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn connect(url: &str) -> Result<AnyConnection, sqlx::Error> {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(url).await
}

/// A valid envelope from `vin` saying `text`, with one signal, one DTC and a location.
pub fn envelope(vin: &str, text: &str) -> FeedbackEnvelope {
    let t = CAPTURED_AT_MS;
    EnvelopeBuilder::new(vin, text, t)
        .software("VCFRONT", "2024.14.3")
        .trigger(TriggerKind::Voice)
        .confidence(0.5)
        .window(t - 30_000, t + 10_000)
        .speed(&[(t - 500, 42.5), (t, 40.0)])
        .dtc("C0045", "ABS", "active")
        .location(48.1, 11.5, 5.0)
        .odometer_km(12_345.6)
        .consent(true, true)
        .build()
}

/// Metadata for an envelope received at `received_at_ms` without audio.
pub fn meta(received_at_ms: i64) -> cloud_triage::store::IngestMeta {
    cloud_triage::store::IngestMeta {
        received_at_ms,
        envelope_bytes: 900,
        asr: None,
        audio: cloud_triage::store::AudioState::None,
    }
}
