//! Versioned SQL migrations, applied when a machine joins.
//!
//! Each migration is a file under `cluster/migrations/`, applied once, in
//! order, inside one transaction that also records its version in
//! `trawl.schema_migrations`; an advisory lock makes machines joining at
//! the same moment apply them one at a time. A database newer than the
//! binary is refused rather than half-understood.

use crate::error::ClusterError;
use crate::partition::PARTITIONS;
use deadpool_postgres::Client;

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_counts.sql")),
];

/// Arbitrary key of the advisory lock serializing migrations.
const MIGRATION_LOCK: i64 = 0x7472_6177_6c00_0001;

/// The schema version this binary writes.
pub fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Brings the database's schema up to [`current_version`]; returns the
/// version it found.
pub async fn migrate(client: &mut Client) -> Result<i32, ClusterError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS trawl;
         CREATE TABLE IF NOT EXISTS trawl.schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now());",
    )
    .await?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM trawl.schema_migrations", &[])
        .await?
        .get(0);
    let known = current_version();
    if found > known {
        return Err(ClusterError::SchemaTooNew { found, known });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tracing::info!(version, "applying cluster schema migration");
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO trawl.schema_migrations (version) VALUES ($1)", &[version]).await?;
    }
    let partitions: i64 = tx.query_one("SELECT count(*) FROM trawl.partitions", &[]).await?.get(0);
    if partitions != i64::from(PARTITIONS) {
        return Err(ClusterError::PartitionCount { found: partitions, expected: PARTITIONS });
    }
    tx.commit().await?;
    Ok(found)
}
