//! The verifier's statements, written once and compiled inside `sqlite` and `postgres`
//! (ADR 0004).

use super::Db;
use crate::verifier::store::{
    Migration, RawRow, RequestRow, VerifierStoreError, from_raw, pending,
};

type Pool = sqlx::Pool<Db>;

const COLUMNS: &str = "id, oid4vp_state, status, pending, request_object, encryption_key, \
    reason, result, created_at, expires_at, updated_at";

pub(in crate::verifier::store) async fn apply_migrations(
    conn: &mut <Db as sqlx::Database>::Connection,
    all: &[Migration],
) -> Result<(), VerifierStoreError> {
    sqlx::query(super::MIGRATIONS_TABLE)
        .execute(&mut *conn)
        .await?;
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM verifier_migrations")
            .fetch_all(&mut *conn)
            .await?;
    for migration in pending(all, &applied)? {
        sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
        sqlx::query("INSERT INTO verifier_migrations VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(super::super::checksum(migration.sql))
            .bind(crate::platform::clock::now())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(in crate::verifier::store) async fn ping(pool: &Pool) -> Result<(), VerifierStoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(in crate::verifier::store) async fn insert(
    pool: &Pool,
    row: &RequestRow,
) -> Result<(), VerifierStoreError> {
    sqlx::query(
        "INSERT INTO verifier_requests (id, oid4vp_state, status, pending, request_object, \
         encryption_key, reason, result, created_at, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&row.id)
    .bind(&row.oid4vp_state)
    .bind(row.status.as_str())
    .bind(&row.pending)
    .bind(&row.request_object)
    .bind(&row.encryption_key)
    .bind(&row.reason)
    .bind(&row.result)
    .bind(row.created_at)
    .bind(row.expires_at)
    .bind(row.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(in crate::verifier::store) async fn get(
    pool: &Pool,
    id: &str,
) -> Result<Option<RequestRow>, VerifierStoreError> {
    let raw: Option<RawRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM verifier_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    raw.map(from_raw).transpose()
}

pub(in crate::verifier::store) async fn take_verified(
    pool: &Pool,
    id: &str,
    result: &[u8],
    now: i64,
) -> Result<bool, VerifierStoreError> {
    let done = sqlx::query(
        "UPDATE verifier_requests SET status = 'verified', result = $2, reason = NULL, \
         encryption_key = NULL, request_object = NULL, updated_at = $3 \
         WHERE id = $1 AND status <> 'verified' AND expires_at > $3",
    )
    .bind(id)
    .bind(result)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(in crate::verifier::store) async fn record_failure(
    pool: &Pool,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, VerifierStoreError> {
    let done = sqlx::query(
        "UPDATE verifier_requests SET status = 'failed', reason = $2, updated_at = $3 \
         WHERE id = $1 AND status <> 'verified'",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(in crate::verifier::store) async fn prune(
    pool: &Pool,
    before: i64,
) -> Result<u64, VerifierStoreError> {
    let done = sqlx::query("DELETE FROM verifier_requests WHERE expires_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(in crate::verifier::store) async fn count_by_status(
    pool: &Pool,
) -> Result<Vec<(String, i64)>, VerifierStoreError> {
    Ok(
        sqlx::query_as("SELECT status, COUNT(*) FROM verifier_requests GROUP BY status")
            .fetch_all(pool)
            .await?,
    )
}
