//! Account recoveries.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{
    Pool, account_state_in, append_in, apply_in, begin_write, insert_passkey_in, update_one_audited,
};
use crate::store::{
    AuditEvent, Consequences, RecoveryDecision, RecoveryFacts, StoreError, StoredPasskey,
};

pub(in crate::store) async fn open_recovery(
    pool: &Pool,
    recovery: &crate::store::Recovery,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let consumed = sqlx::query(
        "UPDATE enrolments SET consumed_at = $1 WHERE id = $2 AND purpose = 'recovery' AND consumed_at IS NULL",
    )
    .bind(recovery.created_at)
    .bind(&recovery.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if consumed != 1 {
        return Err(StoreError::Conflict);
    }
    sqlx::query(
        "INSERT INTO recoveries (id, account_id, evidence, detail, approved_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&recovery.id)
    .bind(&recovery.account_id)
    .bind(&recovery.evidence)
    .bind(&recovery.detail)
    .bind(&recovery.approved_by)
    .bind(recovery.created_at)
    .bind(recovery.expires_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn recovery(
    pool: &Pool,
    id: &str,
) -> Result<Option<crate::store::Recovery>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, evidence, detail, approved_by, created_at, expires_at, completed_at \
         FROM recoveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn strengthen_recovery(
    pool: &Pool,
    recovery: &crate::store::Recovery,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    // Evidence only grows (sms_code < chip < officer): a chip upload racing an officer's
    // approval cannot take the approval back.
    let query = sqlx::query(
        "UPDATE recoveries SET evidence = $1, detail = $2, approved_by = $3 \
         WHERE id = $4 AND completed_at IS NULL AND expires_at > $5 \
           AND (evidence = 'sms_code' OR (evidence = 'chip' AND $1 = 'officer'))",
    )
    .bind(&recovery.evidence)
    .bind(&recovery.detail)
    .bind(&recovery.approved_by)
    .bind(&recovery.id)
    .bind(now);
    update_one_audited(pool, query, audit).await
}

/// Completes a recovery: closes it and every other open recovery of the account (once: a
/// replay, a second device or a second recovery finds nothing), reads the facts `decide` needs,
/// applies its decision and stores the new passkey, in one transaction.
pub(in crate::store) async fn complete_recovery(
    pool: &Pool,
    recovery_id: &str,
    passkey: &StoredPasskey,
    now: i64,
    decide: RecoveryDecision<'_>,
) -> Result<(RecoveryFacts, Consequences), StoreError> {
    let mut tx = begin_write(pool).await?;
    // One statement closes this recovery and every other open one of the account: two
    // completions at once lock the same rows in the same order (separate statements, each
    // closing its own row first, deadlock on PostgreSQL), and the second finds its row closed.
    let closed: Vec<(String, String, i64)> = sqlx::query_as(
        "UPDATE recoveries SET completed_at = $1 \
         WHERE account_id = $2 AND completed_at IS NULL \
         RETURNING id, evidence, expires_at",
    )
    .bind(now)
    .bind(&passkey.account_id)
    .fetch_all(&mut *tx)
    .await?;
    let Some((_, evidence, _)) = closed
        .into_iter()
        .find(|(id, _, expires_at)| id == recovery_id && *expires_at > now)
    else {
        // Dropping the transaction rolls the closing back.
        return Err(StoreError::Conflict);
    };
    let account_id = passkey.account_id.clone();
    let mut active = [0u64; 2];
    for (i, statement) in [
        "SELECT COUNT(*) FROM passkeys WHERE account_id = $1 AND revoked_at IS NULL",
        "SELECT COUNT(*) FROM devices WHERE account_id = $1 AND revoked_at IS NULL",
    ]
    .into_iter()
    .enumerate()
    {
        let count: i64 = sqlx::query_scalar(statement)
            .bind(&account_id)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(slot) = active.get_mut(i) {
            *slot = u64::try_from(count).unwrap_or_default();
        }
    }
    let [active_passkeys, active_devices] = active;
    let facts = RecoveryFacts {
        recovery_id: recovery_id.to_owned(),
        evidence,
        account: account_state_in(&mut tx, &account_id).await?,
        active_passkeys,
        active_devices,
    };
    let consequences = decide(&facts);
    apply_in(&mut tx, &account_id, &consequences, now).await?;
    insert_passkey_in(&mut tx, passkey).await?;
    tx.commit().await?;
    Ok((facts, consequences))
}
