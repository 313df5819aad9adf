//! The schema's migration set, embedded in the binary.
//!
//! The files in `cloud-triage/migrations/` are listed in [`MIGRATIONS`] with
//! `include_str!` and fed to sqlx's [`Migrator`] through a small
//! [`MigrationSource`], instead of `sqlx::migrate!`: that macro needs sqlx's
//! `macros` feature, which compiles sqlx's whole query-checking machinery for
//! every driver just to read one directory. A unit test keeps the list and the
//! directory in step. sqlx records applied versions and checksums in
//! `_sqlx_migrations`, so running the set again is a no-op, and on PostgreSQL
//! it takes an advisory lock so several workers starting at once do not race.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
    AnyPool,
};

use super::StoreError;

/// Every migration: version, description, SQL. Append only; never edit a shipped one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        3,
        "triage",
        include_str!("../../migrations/0003_triage.sql"),
    ),
    (
        4,
        "knowledge",
        include_str!("../../migrations/0004_knowledge.sql"),
    ),
    (
        5,
        "linking",
        include_str!("../../migrations/0005_linking.sql"),
    ),
    (
        6,
        "webhooks",
        include_str!("../../migrations/0006_webhooks.sql"),
    ),
    (
        7,
        "lifecycle",
        include_str!("../../migrations/0007_lifecycle.sql"),
    ),
    (
        8,
        "access",
        include_str!("../../migrations/0008_access.sql"),
    ),
    (9, "asr", include_str!("../../migrations/0009_asr.sql")),
    (
        10,
        "losses",
        include_str!("../../migrations/0010_losses.sql"),
    ),
    (
        11,
        "sla_cycles",
        include_str!("../../migrations/0011_sla_cycles.sql"),
    ),
    (
        12,
        "ui_sessions",
        include_str!("../../migrations/0012_ui_sessions.sql"),
    ),
    (
        13,
        "ui_indexes",
        include_str!("../../migrations/0013_ui_indexes.sql"),
    ),
    (
        14,
        "hazard",
        include_str!("../../migrations/0014_hazard.sql"),
    ),
];

/// [`MIGRATIONS`] as a source sqlx's migrator understands.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations;

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Applies every migration the database has not seen yet.
pub async fn run(pool: &AnyPool) -> Result<(), StoreError> {
    let migrator = Migrator::new(EmbeddedMigrations).await?;
    migrator.run(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_migrations_directory_is_embedded_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect();
        assert_eq!(files, embedded);
        for (file, (_, _, sql)) in files.iter().zip(MIGRATIONS) {
            assert_eq!(
                &std::fs::read_to_string(dir.join(file)).unwrap(),
                sql,
                "{file} embedded as is"
            );
        }
    }
}
