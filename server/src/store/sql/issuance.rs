//! Issuance: accounts as issuance sees them, level 2, offers, single-use digests.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use sqlx::AssertSqlSafe;

use super::{Db, Pool, append_in, begin_write, update_one_audited};
use crate::store::{AuditEvent, IssuanceAccount, Offer, RegistryDocument, StoreError};

/// The account (`$1`) with its registry record; `$extra` adds columns.
macro_rules! issuance_account_sql {
    ($($extra:literal)?) => {
        concat!(
            "SELECT a.id, a.assurance_level, a.closed_at, a.grants_not_before, c.id_number, c.full_name, c.date_of_birth, \
               c.sex, c.place_of_origin, c.place_of_residence, c.status, c.phones",
            $(", ", $extra,)?
            " FROM accounts a JOIN citizens c ON c.id_number = a.id_number \
             WHERE a.id = $1 AND a.role = 'citizen'"
        )
    };
}

pub(in crate::store) async fn issuance_account(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<IssuanceAccount>, StoreError> {
    Ok(sqlx::query_as(issuance_account_sql!())
        .bind(account_id)
        .fetch_optional(pool)
        .await?)
}

pub(in crate::store) async fn registry_documents(
    pool: &Pool,
    id_number: &str,
) -> Result<Vec<RegistryDocument>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, kind, claims FROM registry_documents WHERE id_number = $1 ORDER BY kind",
    )
    .bind(id_number)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn set_level2(
    pool: &Pool,
    account_id: &str,
    approved_by: &str,
    evidence: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE accounts SET assurance_level = 2, level2_approved_by = $1, level2_approved_at = $2, \
           level2_evidence = $3 \
         WHERE id = $4 AND role = 'citizen' AND closed_at IS NULL AND assurance_level < 2",
    )
    .bind(approved_by)
    .bind(now)
    .bind(evidence)
    .bind(account_id);
    update_one_audited(pool, update, audit).await
}

const OFFER_COLUMNS: &str = "id, account_id, configuration_ids, code_hash, tx_code_hash, attempts, reason, \
     created_by, created_at, expires_at, redeemed_at";

pub(in crate::store) async fn insert_offer(
    pool: &Pool,
    offer: &Offer,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_offer_in(&mut tx, offer).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn insert_offer_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    offer: &Offer,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO credential_offers (id, account_id, configuration_ids, code_hash, tx_code_hash, \
           attempts, reason, created_by, created_at, expires_at, redeemed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&offer.id)
    .bind(&offer.account_id)
    .bind(&offer.configuration_ids)
    .bind(&offer.code_hash)
    .bind(&offer.tx_code_hash)
    .bind(offer.attempts)
    .bind(&offer.reason)
    .bind(&offer.created_by)
    .bind(offer.created_at)
    .bind(offer.expires_at)
    .bind(offer.redeemed_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(in crate::store) async fn offer_by_code(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<Offer>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM credential_offers \
         WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2"
    )))
    .bind(code_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn tx_code_attempt(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
    max_attempts: i64,
) -> Result<Option<Offer>, StoreError> {
    // The attempt is counted before the code is compared, in one statement: of concurrent
    // guesses at most `max_attempts` get a row back, so no more than that many are compared.
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE credential_offers SET attempts = attempts + 1 \
         WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2 AND attempts < $3 \
         RETURNING {OFFER_COLUMNS}"
    )))
    .bind(code_hash)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn end_offer(
    pool: &Pool,
    offer_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL",
    )
    .bind(now)
    .bind(offer_id);
    update_one_audited(pool, update, audit).await
}

pub(in crate::store) async fn redeem_offer(
    pool: &Pool,
    offer_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 \
         WHERE id = $2 AND redeemed_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(offer_id);
    update_one_audited(pool, update, audit).await
}

pub(in crate::store) async fn pending_offers(
    pool: &Pool,
    account_id: &str,
    now: i64,
) -> Result<Vec<Offer>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM credential_offers \
         WHERE account_id = $1 AND code_hash IS NULL AND redeemed_at IS NULL AND expires_at > $2 \
         ORDER BY created_at, id"
    )))
    .bind(account_id)
    .bind(now)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn activate_offer(
    pool: &Pool,
    offer_id: &str,
    code_hash: &[u8],
    tx_code_hash: Option<&[u8]>,
    expires_at: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE credential_offers SET code_hash = $1, tx_code_hash = $2, expires_at = $3 \
         WHERE id = $4 AND code_hash IS NULL AND redeemed_at IS NULL",
    )
    .bind(code_hash)
    .bind(tx_code_hash)
    .bind(expires_at)
    .bind(offer_id)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

pub(in crate::store) async fn use_once(
    pool: &Pool,
    digest: &[u8],
    expires_at: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO used_nonces (digest, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(digest)
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}
