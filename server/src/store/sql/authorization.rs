//! The authorization code flow: pushed requests and their codes.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use sqlx::AssertSqlSafe;

use super::{Pool, update_one_audited};
use crate::store::{AuditEvent, AuthorizationRequest, StoreError};

const AUTHORIZATION_COLUMNS: &str = "client_id, redirect_uri, code_challenge, dpop_jkt, configuration_ids, \
     state, created_at, expires_at, account_id";

pub(in crate::store) async fn insert_authorization_request(
    pool: &Pool,
    handle_hash: &[u8],
    request: &AuthorizationRequest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO authorization_requests (handle_hash, client_id, redirect_uri, code_challenge, \
           dpop_jkt, configuration_ids, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(handle_hash)
    .bind(&request.client_id)
    .bind(&request.redirect_uri)
    .bind(&request.code_challenge)
    .bind(&request.dpop_jkt)
    .bind(&request.configuration_ids)
    .bind(&request.state)
    .bind(request.created_at)
    .bind(request.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(in crate::store) async fn authorization_request(
    pool: &Pool,
    handle_hash: &[u8],
    now: i64,
) -> Result<Option<AuthorizationRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorization_requests \
         WHERE handle_hash = $1 AND expires_at > $2 AND code_hash IS NULL"
    )))
    .bind(handle_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn approve_authorization(
    pool: &Pool,
    handle_hash: &[u8],
    account_id: &str,
    code_hash: &[u8],
    code_expires_at: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE authorization_requests SET account_id = $1, code_hash = $2, code_expires_at = $3 \
         WHERE handle_hash = $4 AND code_hash IS NULL AND expires_at > $5",
    )
    .bind(account_id)
    .bind(code_hash)
    .bind(code_expires_at)
    .bind(handle_hash)
    .bind(audit.at);
    update_one_audited(pool, update, audit).await
}

pub(in crate::store) async fn redeem_authorization_code(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<AuthorizationRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE authorization_requests SET redeemed_at = $1 \
         WHERE code_hash = $2 AND redeemed_at IS NULL AND code_expires_at > $1 \
         RETURNING {AUTHORIZATION_COLUMNS}"
    )))
    .bind(now)
    .bind(code_hash)
    .fetch_optional(pool)
    .await?)
}
