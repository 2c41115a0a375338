//! Sessions, found by the digest of their token.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, append_in, begin_write};
use crate::store::{Account, AuditEvent, LiveSession, Session, StoreError};

pub(in crate::store) async fn insert_session(
    pool: &Pool,
    session: &Session,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, role, created_at, expires_at, ceremony_id, \
           recovery_id, passkey_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&session.token_hash)
    .bind(&session.account_id)
    .bind(session.role)
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(&session.ceremony_id)
    .bind(&session.recovery_id)
    .bind(session.passkey_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn session(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<(Session, Account)>, StoreError> {
    let row: Option<LiveSession> = sqlx::query_as(
        "SELECT s.token_hash, s.role AS session_role, s.created_at AS session_created_at, \
           s.expires_at AS session_expires_at, s.ceremony_id AS session_ceremony_id, \
           s.recovery_id AS session_recovery_id, s.passkey_at AS session_passkey_at, a.id, a.webauthn_user_id, a.role, a.id_number, \
           a.display_name, a.phone, a.assurance_level, a.created_at \
         FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.revoked_at IS NULL \
           AND a.closed_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(LiveSession::split))
}

pub(in crate::store) async fn revoke_session(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(in crate::store) async fn end_sessions(
    pool: &Pool,
    account_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(in crate::store) async fn bind_session_ceremony(
    pool: &Pool,
    token_hash: &[u8],
    ceremony_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET ceremony_id = $1 WHERE token_hash = $2")
        .bind(ceremony_id)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}
