//! Accounts (citizens and staff) and staff invitations.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, Tx, append_in, begin_write};
use crate::store::{Account, AuditEvent, StoreError};

macro_rules! account_query {
    ($where:literal) => {
        concat!(
            "SELECT id, webauthn_user_id, role, id_number, display_name, phone, assurance_level, created_at \
             FROM accounts WHERE ",
            $where
        )
    };
}

pub(in crate::store) async fn account(
    pool: &Pool,
    id: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub(in crate::store) async fn account_by_id_number(
    pool: &Pool,
    id_number: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("id_number = $1"))
        .bind(id_number)
        .fetch_optional(pool)
        .await?)
}

pub(in crate::store) async fn account_by_webauthn_user(
    pool: &Pool,
    user: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("webauthn_user_id = $1"))
        .bind(user)
        .fetch_optional(pool)
        .await?)
}

pub(in crate::store) async fn staff(pool: &Pool) -> Result<Vec<Account>, StoreError> {
    Ok(
        sqlx::query_as(account_query!("role <> 'citizen' ORDER BY created_at, id"))
            .fetch_all(pool)
            .await?,
    )
}

async fn insert_account(tx: &mut Tx, account: &Account) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, webauthn_user_id, role, id_number, display_name, phone, assurance_level, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&account.id)
    .bind(&account.webauthn_user_id)
    .bind(account.role)
    .bind(&account.id_number)
    .bind(&account.display_name)
    .bind(&account.phone)
    .bind(account.assurance_level)
    .bind(account.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(in crate::store) async fn complete_enrolment(
    pool: &Pool,
    account: &Account,
    create: bool,
    enrolment_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let consumed =
        sqlx::query("UPDATE enrolments SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(enrolment_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if consumed != 1 {
        return Err(StoreError::Conflict);
    }
    if create {
        insert_account(&mut tx, account).await?;
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn create_staff_account(
    pool: &Pool,
    account: &Account,
    invitation_hash: &[u8],
    expires_at: i64,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_account(&mut tx, account).await?;
    sqlx::query(
        "INSERT INTO staff_invitations (token_hash, account_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(invitation_hash)
    .bind(&account.id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn redeem_invitation(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<String>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE staff_invitations SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING account_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else {
        return Ok(None);
    };
    let mut audit = audit.clone();
    audit.subject.clone_from(&account);
    append_in(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(Some(account))
}

pub(in crate::store) async fn create_account(
    pool: &Pool,
    account: &Account,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_account(&mut tx, account).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}
