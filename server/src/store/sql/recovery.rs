//! Account recoveries.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{
    Pool, append_in, begin_write, insert_offer_in, insert_passkey_in, pending_offer, revoke_all_in,
    update_one_audited,
};
use crate::store::{AuditEvent, StoreError, StoredPasskey};

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
    let query = sqlx::query(
        "UPDATE recoveries SET evidence = $1, detail = $2, approved_by = $3 \
         WHERE id = $4 AND completed_at IS NULL AND expires_at > $5",
    )
    .bind(&recovery.evidence)
    .bind(&recovery.detail)
    .bind(&recovery.approved_by)
    .bind(&recovery.id)
    .bind(now);
    update_one_audited(pool, query, audit).await
}

pub(in crate::store) async fn complete_recovery(
    pool: &Pool,
    recovery_id: &str,
    passkey: &StoredPasskey,
    now: i64,
    audit: &AuditEvent,
) -> Result<crate::store::RecoveryOutcome, StoreError> {
    let mut tx = begin_write(pool).await?;
    // Closing the recovery first makes a second completion (a replay, or two devices racing)
    // find nothing.
    let evidence: Option<(String, String)> = sqlx::query_as(
        "UPDATE recoveries SET completed_at = $1 \
         WHERE id = $2 AND account_id = $3 AND completed_at IS NULL AND expires_at > $1 \
         RETURNING evidence, account_id",
    )
    .bind(now)
    .bind(recovery_id)
    .bind(&passkey.account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((evidence, account_id)) = evidence else {
        return Err(StoreError::Conflict);
    };
    let mut outcome = crate::store::RecoveryOutcome::default();
    let mut counts = [0u64; 2];
    for (i, statement) in [
        "UPDATE passkeys SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE devices SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    ]
    .into_iter()
    .enumerate()
    {
        let changed = sqlx::query(statement)
            .bind(now)
            .bind(&account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some(count) = counts.get_mut(i) {
            *count = changed;
        }
    }
    [outcome.passkeys_revoked, outcome.devices_revoked] = counts;
    outcome.credential_kinds = revoke_all_in(&mut tx, &account_id).await?;
    // The code alone proves the phone, which is level-1 evidence: a level-2 account keeps its
    // level only with a fresh chip check or an officer.
    if evidence == "sms_code" {
        sqlx::query(
            "UPDATE accounts SET assurance_level = 1, level2_approved_by = NULL, \
               level2_approved_at = NULL, level2_evidence = NULL \
             WHERE id = $1 AND assurance_level = 2",
        )
        .bind(&account_id)
        .execute(&mut *tx)
        .await?;
    }
    outcome.assurance_level =
        sqlx::query_scalar("SELECT assurance_level FROM accounts WHERE id = $1")
            .bind(&account_id)
            .fetch_one(&mut *tx)
            .await?;
    if outcome.assurance_level == 2 && !outcome.credential_kinds.is_empty() {
        let offer = pending_offer(&account_id, &outcome.credential_kinds, "recovery", now);
        insert_offer_in(&mut tx, &offer).await?;
        outcome.offer_id = Some(offer.id);
    }
    insert_passkey_in(&mut tx, passkey).await?;
    let mut audit = audit.clone();
    let mut detail: serde_json::Value =
        serde_json::from_str(&audit.detail).map_err(|_| StoreError::Corrupt("audit detail"))?;
    if let serde_json::Value::Object(detail) = &mut detail {
        detail.insert("evidence".into(), evidence.into());
        detail.insert("passkeys_revoked".into(), outcome.passkeys_revoked.into());
        detail.insert("devices_revoked".into(), outcome.devices_revoked.into());
        detail.insert(
            "credentials_revoked".into(),
            serde_json::json!(outcome.credential_kinds),
        );
        detail.insert("assurance_level".into(), outcome.assurance_level.into());
        if let Some(offer) = &outcome.offer_id {
            detail.insert("offer".into(), offer.clone().into());
        }
    }
    audit.detail = detail.to_string();
    append_in(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(outcome)
}
