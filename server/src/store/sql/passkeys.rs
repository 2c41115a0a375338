//! WebAuthn ceremonies and passkeys.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Db, Pool, append_in, begin_write};
use crate::store::{AuditEvent, Ceremony, StoreError, StoredPasskey};

pub(in crate::store) async fn put_ceremony(
    pool: &Pool,
    ceremony: &Ceremony,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ceremonies (id, kind, account_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&ceremony.id)
        .bind(&ceremony.kind)
        .bind(&ceremony.account_id)
        .bind(&ceremony.state)
        .bind(ceremony.expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub(in crate::store) async fn take_ceremony(
    pool: &Pool,
    id: &str,
    kind: &str,
    now: i64,
) -> Result<Option<Ceremony>, StoreError> {
    let ceremony: Option<Ceremony> = sqlx::query_as(
        "DELETE FROM ceremonies WHERE id = $1 AND kind = $2 RETURNING id, kind, account_id, state, expires_at",
    )
    .bind(id)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(ceremony.filter(|c| c.expires_at > now))
}

macro_rules! passkey_query {
    ($where:literal) => {
        concat!(
            "SELECT id, account_id, credential_id, passkey, name, sign_count, backup_eligible, \
             backup_state, created_at, last_used_at, revoked_at FROM passkeys WHERE ",
            $where
        )
    };
}

pub(in crate::store) async fn insert_passkey(
    pool: &Pool,
    passkey: &StoredPasskey,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_passkey_in(&mut tx, passkey).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn insert_passkey_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    passkey: &StoredPasskey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, passkey, name, sign_count, backup_eligible, \
         backup_state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&passkey.id)
    .bind(&passkey.account_id)
    .bind(&passkey.credential_id)
    .bind(&passkey.passkey)
    .bind(&passkey.name)
    .bind(passkey.sign_count)
    .bind(passkey.backup_eligible)
    .bind(passkey.backup_state)
    .bind(passkey.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(in crate::store) async fn passkeys(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<StoredPasskey>, StoreError> {
    Ok(
        sqlx::query_as(passkey_query!("account_id = $1 ORDER BY created_at, id"))
            .bind(account_id)
            .fetch_all(pool)
            .await?,
    )
}

pub(in crate::store) async fn passkey_by_credential(
    pool: &Pool,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, StoreError> {
    Ok(sqlx::query_as(passkey_query!("credential_id = $1"))
        .bind(credential_id)
        .fetch_optional(pool)
        .await?)
}

pub(in crate::store) async fn record_passkey_use(
    pool: &Pool,
    passkey: &StoredPasskey,
    now: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE passkeys SET passkey = $1, sign_count = $2, backup_eligible = $3, backup_state = $4, \
         last_used_at = $5 WHERE id = $6 AND revoked_at IS NULL",
    )
    .bind(&passkey.passkey)
    .bind(passkey.sign_count)
    .bind(passkey.backup_eligible)
    .bind(passkey.backup_state)
    .bind(now)
    .bind(&passkey.id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub(in crate::store) async fn revoke_passkey(
    pool: &Pool,
    account_id: &str,
    passkey_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let statement = "UPDATE passkeys SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL";
    revoke_owned(pool, statement, account_id, passkey_id, now, audit).await
}

/// Runs `statement` (binding now, the row id, the account id) to revoke one of an account's
/// active rows, and records `audit` with it; false when there was no such row.
async fn revoke_owned(
    pool: &Pool,
    statement: &'static str,
    account_id: &str,
    id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let query = sqlx::query(statement).bind(now).bind(id).bind(account_id);
    update_one_audited(pool, query, audit).await
}

/// Runs `update`, which must change exactly one row, and records `audit` in the same
/// transaction; false (nothing written) when it changed none.
pub(in crate::store) async fn update_one_audited<'q>(
    pool: &Pool,
    update: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    if update.execute(&mut *tx).await?.rows_affected() != 1 {
        return Ok(false);
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}
