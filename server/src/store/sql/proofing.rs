//! Level-2 proofing requests.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use sqlx::AssertSqlSafe;

use super::{Pool, append_in, begin_write};
use crate::store::{AuditEvent, ProofingRequest, StoreError};

const PROOFING_COLUMNS: &str = "id, account_id, status, chip, registry, portrait IS NOT NULL AS has_portrait, \
     submitted_at, decided_by, decided_at, reason";

pub(in crate::store) async fn insert_proofing_request(
    pool: &Pool,
    request: &ProofingRequest,
    portrait: &[u8],
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO proofing_requests (id, account_id, status, chip, registry, portrait, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&request.id)
    .bind(&request.account_id)
    .bind(&request.status)
    .bind(&request.chip)
    .bind(&request.registry)
    .bind(portrait)
    .bind(request.submitted_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn proofing_request(
    pool: &Pool,
    id: &str,
) -> Result<Option<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn latest_proofing_request(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE account_id = $1 \
         ORDER BY submitted_at DESC, id DESC LIMIT 1"
    )))
    .bind(account_id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn pending_proofing_requests(
    pool: &Pool,
    limit: i64,
) -> Result<Vec<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE status = 'pending' \
         ORDER BY submitted_at, id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn proofing_portrait(
    pool: &Pool,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT portrait FROM proofing_requests WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .flatten())
}

/// Records an officer's decision on a pending request (the portrait is erased with it) and,
/// on approval, raises the account to level 2 with the evidence, in one transaction. False
/// when the request was not pending (decided concurrently).
pub(in crate::store) async fn decide_proofing_request(
    pool: &Pool,
    id: &str,
    approve: bool,
    officer_id: &str,
    reason: Option<&str>,
    evidence: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE proofing_requests SET status = $1, decided_by = $2, decided_at = $3, reason = $4, \
           portrait = NULL \
         WHERE id = $5 AND status = 'pending' RETURNING account_id",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(officer_id)
    .bind(audit.at)
    .bind(reason)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else {
        return Ok(false);
    };
    if approve {
        let raised = sqlx::query(
            "UPDATE accounts SET assurance_level = 2, level2_approved_by = $1, level2_approved_at = $2, \
               level2_evidence = $3 \
             WHERE id = $4 AND role = 'citizen' AND closed_at IS NULL",
        )
        .bind(officer_id)
        .bind(audit.at)
        .bind(evidence)
        .bind(&account)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if raised != 1 {
            return Err(StoreError::Conflict);
        }
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}
