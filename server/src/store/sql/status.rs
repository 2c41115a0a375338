//! Credential copies and the status lists that publish their status.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use sqlx::AssertSqlSafe;

use super::{Db, Pool, append_in, begin_write};
use crate::store::{
    AuditEvent, CredentialRecord, CredentialScope, CredentialStatus, StatusBlock, StatusListRow,
    StoreError,
};

pub(in crate::store) async fn reserve_status_indexes(
    pool: &Pool,
    bits: i64,
    size: i64,
    count: i64,
) -> Result<StatusBlock, StoreError> {
    let mut tx = begin_write(pool).await?;
    let reserved: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE status_lists SET allocated = allocated + $1 \
         WHERE id = (SELECT max(id) FROM status_lists WHERE bits = $2 AND size = $3) \
           AND allocated + $1 <= size \
         RETURNING id, allocated",
    )
    .bind(count)
    .bind(bits)
    .bind(size)
    .fetch_optional(&mut *tx)
    .await?;
    let block = match reserved {
        Some((list_id, allocated)) => StatusBlock {
            list_id,
            first: allocated - count,
            count,
        },
        None => {
            // The current list is full (or there is none): open the next one.
            let list_id: i64 = sqlx::query_scalar(
                "INSERT INTO status_lists (id, bits, size, allocated, version) \
                 SELECT coalesce(max(id), 0) + 1, $1, $2, $3, 0 FROM status_lists RETURNING id",
            )
            .bind(bits)
            .bind(size)
            .bind(count.min(size))
            .fetch_one(&mut *tx)
            .await?;
            StatusBlock {
                list_id,
                first: 0,
                count: count.min(size),
            }
        }
    };
    tx.commit().await?;
    Ok(block)
}

const CREDENTIAL_COLUMNS: &str =
    "list_id, idx, account_id, kind, device_id, status, issued_at, expires_at";

pub(in crate::store) async fn account_credentials(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<CredentialRecord>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = $1 \
         ORDER BY issued_at, list_id, idx"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn credential(
    pool: &Pool,
    list_id: i64,
    idx: i64,
) -> Result<Option<CredentialRecord>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE list_id = $1 AND idx = $2"
    )))
    .bind(list_id)
    .bind(idx)
    .fetch_optional(pool)
    .await?)
}

/// Sets the status of the credentials `scope` selects, inside `tx`, and moves the version of
/// every list that changed. Revoked (`INVALID`, 1) is final; suspended may return to valid.
pub(in crate::store) async fn set_status_in(
    tx: &mut <Db as sqlx::Database>::Connection,
    scope: &CredentialScope,
    status: CredentialStatus,
) -> Result<u64, StoreError> {
    let (filter, first, second) = match scope {
        CredentialScope::Copy { list_id, idx } => (
            "list_id = $2 AND idx = $3",
            ScopeValue::Int(*list_id),
            ScopeValue::Int(*idx),
        ),
        CredentialScope::Account { account_id } => (
            "account_id = $2 AND $3 = $3",
            ScopeValue::Text(account_id.clone()),
            ScopeValue::Int(0),
        ),
        CredentialScope::AccountKind { account_id, kind } => (
            "account_id = $2 AND kind = $3",
            ScopeValue::Text(account_id.clone()),
            ScopeValue::Text(kind.clone()),
        ),
        CredentialScope::Device { device_id } => (
            "device_id = $2 AND $3 = $3",
            ScopeValue::Text(device_id.clone()),
            ScopeValue::Int(0),
        ),
    };
    let sql = format!(
        "UPDATE credentials SET status = $1 WHERE {filter} AND status <> $1 AND status <> 1 \
         RETURNING list_id"
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(status);
    for value in [first, second] {
        query = match value {
            ScopeValue::Int(v) => query.bind(v),
            ScopeValue::Text(v) => query.bind(v),
        };
    }
    let mut lists = query.fetch_all(&mut *tx).await?;
    let changed = lists.len() as u64;
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        sqlx::query("UPDATE status_lists SET version = version + 1 WHERE id = $1")
            .bind(list)
            .execute(&mut *tx)
            .await?;
    }
    Ok(changed)
}

enum ScopeValue {
    Int(i64),
    Text(String),
}

pub(in crate::store) async fn set_credential_status(
    pool: &Pool,
    scope: &CredentialScope,
    status: CredentialStatus,
    audit: &AuditEvent,
) -> Result<u64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let changed = set_status_in(&mut tx, scope, status).await?;
    if changed > 0 {
        append_in(&mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

pub(in crate::store) async fn status_list(
    pool: &Pool,
    list_id: i64,
) -> Result<Option<StatusListRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, bits, size, version, token, token_version, token_exp FROM status_lists WHERE id = $1",
    )
    .bind(list_id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn status_entries(
    pool: &Pool,
    list_id: i64,
) -> Result<Vec<(i64, CredentialStatus)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT idx, status FROM credentials WHERE list_id = $1 AND status <> 0")
            .bind(list_id)
            .fetch_all(pool)
            .await?,
    )
}

pub(in crate::store) async fn save_status_token(
    pool: &Pool,
    list_id: i64,
    token: &str,
    version: i64,
    exp: i64,
) -> Result<(), StoreError> {
    // A token for an older version never replaces one for a newer version.
    sqlx::query(
        "UPDATE status_lists SET token = $1, token_version = $2, token_exp = $3 \
         WHERE id = $4 AND (token_version IS NULL OR token_version <= $2)",
    )
    .bind(token)
    .bind(version)
    .bind(exp)
    .bind(list_id)
    .execute(pool)
    .await?;
    Ok(())
}
