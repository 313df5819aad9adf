//! Durable storage for feedback, cases, the downlink outbox and the audit log.
//!
//! One code path serves SQLite (a file, the default: one process, zero setup)
//! and PostgreSQL (several triage workers): every statement goes through
//! `sqlx::any` with `$1`-style placeholders, and one migration set
//! (`cloud-triage/migrations/*.sql`, see [`migrations`]) is written in the SQL
//! both accept. Timestamps are Unix milliseconds (`BIGINT`), booleans `0/1`,
//! JSON is `TEXT`, uuids their hyphenated text. A nullable float is bound as
//! `rows::NullableDouble`, never as an `Option<f64>` (see there why).
//!
//! The case rules are not here but in [`crate::domain`]: the store reads
//! rows into its types (an unknown stored status or kind is corrupt data),
//! calls its rules, and writes what they decide; the use cases that put a
//! load, a rule and a save in one transaction are in [`crate::app`]. Store
//! modules use each other without a loop (`scripts/store_import_loops.py`
//! checks it): `rows` and `case_writes` at the bottom, [`sla`] above them,
//! `reassessment` above that, then the others.
//!
//! # Layout
//! - [`error`]: the store's error type, [`StoreError`].
//! - [`migrations`]: the embedded migration set and its runner.
//! - [`ingest`]: the rows a new feedback writes (feedback, link, new case).
//! - [`late_transcript`]: the rows of words the cloud heard in a clip that
//!   came in chunks.
//! - [`audio`]: chunked audio bookkeeping.
//! - [`downlink`]: the transactional outbox of events for cars.
//! - [`cases`], [`feedback`], [`vehicles`], [`losses`]: the reads that fill
//!   the read models in [`crate::views`].
//! - [`access`]: API tokens (stored as their SHA-256).
//! - [`ui_sessions`]: the web UI's sign-in sessions and one-time login links.
//! - [`notifications`], [`metrics`], [`knowledge`], [`labelled`]: the webhook
//!   queue, the rows behind operators' figures, known issues, labelled
//!   examples for triage.
//! - [`case_update`]: engineers' changes to a case, with history.
//! - `case_writes`: the writes every change shares (history, notification,
//!   case number, `updated_at_ms`, status, messages to the cars).
//! - [`lifecycle`], [`sla`]: the 8D plan and the SLA clocks applied to rows.
//! - [`linking`]: fleet linking's rows: candidates, reports, aggregates,
//!   centroid, knowledge matches.
//! - `merge_split`, `emerging`: the rows a merge or split and the
//!   emerging rule read and write.
//! - `reassessment`: the one apply of a change of severity or category
//!   (escalate a case that became major, once; re-target its clocks).
//! - `hazard`: a case's hazard, kept by its rule when a report reaches it.
//! - `rows`: decoding helpers shared by the reads.

pub mod access;
pub mod audio;
pub mod case_update;
pub(crate) mod case_writes;
pub mod cases;
pub mod downlink;
pub(crate) mod emerging;
pub mod error;
pub mod feedback;
pub(crate) mod hazard;
pub mod ingest;
pub mod knowledge;
pub mod labelled;
pub mod late_transcript;
pub mod lifecycle;
pub mod linking;
pub mod losses;
pub(crate) mod merge_split;
pub mod metrics;
pub mod migrations;
pub mod notifications;
pub(crate) mod reassessment;
mod rows;
pub mod sla;
pub mod ui_sessions;
pub mod vehicles;

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor, Row,
};
use uuid::Uuid;

/// The read models the store returns (defined in [`crate::views`]).
pub use crate::views::{
    AsrRecord, AudioInfo, Backend, CaseDetail, CaseMatch, CaseQuery, CaseSummary, Consent, Counts,
    CutShortInfo, FeedbackDetail, HistoryEntry, Ica, NotificationEvent, Occurrence, Page, Pca,
    RootCause, Verification,
};
pub use error::StoreError;
pub use ingest::{AudioState, IngestMeta};

/// How long a statement waits for a SQLite write lock held by another connection.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// Connections per pool.
const MAX_CONNECTIONS: u32 = 8;

/// The database behind cloud-triage. Cheap to clone: a pool inside.
#[derive(Debug, Clone)]
pub struct Store {
    /// The connection pool.
    pool: AnyPool,
    /// Which backend the pool talks to.
    backend: Backend,
    /// Write transactions queue here on SQLite (see [`Store::begin_write`]).
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// The service's policy: SLA targets and calendar for the changes that
    /// name no policy of their own, and for reads.
    policy: Arc<std::sync::RwLock<Arc<crate::policy::Policy>>>,
    /// The taxonomy a case's category is checked against.
    taxonomy: Arc<qloop_models::Taxonomy>,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) and
    /// brings the schema up to date.
    ///
    /// SQLite connections run in WAL mode with `synchronous=FULL` (a commit
    /// survives power loss), a busy timeout and foreign keys on.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                    )
                    .await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect_with(options).await?;
        migrations::run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            write_gate: Arc::default(),
            policy: Arc::default(),
            taxonomy: Arc::new(qloop_models::Taxonomy::default_taxonomy()),
        })
    }

    /// Sets the service's policy (checked when it was read). Changes that
    /// take no policy of their own (an untriaged feedback, a case update, a
    /// merge or split) run on its SLA targets and calendar, and SLA clocks
    /// are read with its calendar. The default is [`Policy::default`].
    ///
    /// [`Policy::default`]: crate::policy::Policy::default
    pub fn set_policy(&self, policy: crate::policy::Policy) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }

    /// The service's policy (see [`Store::set_policy`]).
    pub fn policy(&self) -> Arc<crate::policy::Policy> {
        self.policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The calendar SLA clocks are read with (the policy's).
    pub fn calendar(&self) -> crate::sla::WorkingTime {
        self.policy().sla.working_time().clone()
    }

    /// The taxonomy categories are checked against (the one triage uses).
    pub fn taxonomy(&self) -> &qloop_models::Taxonomy {
        &self.taxonomy
    }

    /// Begins a write transaction. On SQLite the writers of this process
    /// first queue on a mutex: SQLite has one writer at a time, and its busy
    /// handler makes waiting writers sleep and poll, which cut the ingest
    /// rate through MQTT (8 handlers at once) to a third of one handler's.
    /// PostgreSQL takes no gate.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<
        (
            Option<tokio::sync::OwnedMutexGuard<()>>,
            sqlx::Transaction<'static, sqlx::Any>,
        ),
        StoreError,
    > {
        let gate = match self.backend {
            Backend::Sqlite => Some(self.write_gate.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Ok((gate, self.pool.begin().await?))
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the Prometheus scrape's read-only counts.
    pub(crate) fn pool_for_metrics(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool, for reads and writes elsewhere in this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs the migrations again (they are idempotent); for operators and tests.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(&self.pool).await
    }

    /// Closes every connection; pending writes are already committed.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records an uplink message that was refused, so bad input stays visible.
    pub async fn record_rejected(
        &self,
        topic: &str,
        error: &str,
        payload_bytes: usize,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rejected_messages (id, topic, received_at_ms, error, payload_bytes) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(topic)
        .bind(at_ms)
        .bind(error)
        .bind(i64::try_from(payload_bytes).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many feedback, cases, unpublished downlink events and rejected messages are stored.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM feedback) AS feedback, \
                    (SELECT COUNT(*) FROM cases) AS cases, \
                    (SELECT COUNT(*) FROM downlink_events WHERE published_at_ms IS NULL) AS downlink_pending, \
                    (SELECT COUNT(*) FROM rejected_messages) AS rejected",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            feedback: row.try_get("feedback")?,
            cases: row.try_get("cases")?,
            downlink_pending: row.try_get("downlink_pending")?,
            rejected: row.try_get("rejected")?,
        })
    }
}

/// The backend a URL names, by its scheme.
fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        // Only the scheme: the rest of a URL may hold a password.
        other => Err(StoreError::UnsupportedUrl(format!("{other}:"))),
    }
}
