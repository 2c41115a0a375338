//! The migrator's statements, the liveness probe and the pruning of expired rows.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Db, Pool};
use crate::store::StoreError;

/// Applies the pending migrations of `all` inside the caller's transaction (which holds the
/// backend's migration lock).
pub(in crate::store) async fn apply_migrations(
    conn: &mut <Db as sqlx::Database>::Connection,
    all: &[crate::store::migrate::Migration],
    create_table: &'static str,
) -> Result<Vec<i64>, StoreError> {
    sqlx::query(create_table).execute(&mut *conn).await?;
    let applied: crate::store::migrate::Applied =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?;
    let mut done = Vec::new();
    for migration in crate::store::migrate::pending(all, &applied)? {
        sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
        sqlx::query("INSERT INTO schema_migrations VALUES ($1, $2, $3, $4)")
            .bind(migration.version)
            .bind(migration.description)
            .bind(crate::store::migrate::checksum(migration.sql))
            .bind(crate::platform::clock::now())
            .execute(&mut *conn)
            .await?;
        done.push(migration.version);
    }
    Ok(done)
}

pub(in crate::store) async fn ping(pool: &Pool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(in crate::store) async fn prune_expired(pool: &Pool, now: i64) -> Result<u64, StoreError> {
    let mut pruned = 0;
    for statement in [
        "DELETE FROM ceremonies WHERE expires_at <= $1",
        "DELETE FROM enrolments WHERE expires_at <= $1 - 86400",
        "DELETE FROM sessions WHERE expires_at <= $1 - 86400",
        "DELETE FROM rate_limits WHERE window_start <= $1 - 86400",
        "DELETE FROM used_nonces WHERE expires_at <= $1",
        "DELETE FROM authorization_requests WHERE expires_at <= $1 - 3600",
        "DELETE FROM credential_offers WHERE expires_at <= $1 - 86400",
        "DELETE FROM operator_tokens WHERE expires_at <= $1",
        "UPDATE proofing_requests SET portrait = NULL WHERE status <> 'pending' AND portrait IS NOT NULL",
    ] {
        pruned += sqlx::query(statement)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(pruned)
}
