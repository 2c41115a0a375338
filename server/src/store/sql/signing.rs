//! Citizen signing certificates and the state of their CRL.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Db, Pool, append_in, begin_write};
use crate::store::{
    AuditEvent, RevokedSerial, SigningCertificate, SigningCrlState, SigningRevocation,
    SigningStatus, StoreError,
};

type Conn = <Db as sqlx::Database>::Connection;

const CERTIFICATE_COLUMNS: &str = "id, serial, account_id, device_id, spki_sha256, der, \
    not_before, not_after, created_at, revoked_at, revocation_reason";

/// Records an issued certificate and its audit entry, if the account is still an open level-2
/// account (and the device, when one is named, still one of its active devices). The checks
/// are updates of those rows that change nothing: they take the rows' locks, so a concurrent
/// withdrawal, closure, recovery or device revocation (which update the same rows) either
/// commits first (and this refuses) or waits for this commit (and then revokes the new
/// certificate too). False when refused.
pub(in crate::store) async fn insert_signing_certificate(
    pool: &Pool,
    certificate: &SigningCertificate,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let level2 = sqlx::query(
        "UPDATE accounts SET assurance_level = assurance_level \
         WHERE id = $1 AND assurance_level = 2 AND closed_at IS NULL",
    )
    .bind(&certificate.account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if level2 != 1 {
        return Ok(false);
    }
    if let Some(device_id) = &certificate.device_id {
        let active = sqlx::query(
            "UPDATE devices SET revoked_at = revoked_at \
             WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL",
        )
        .bind(device_id)
        .bind(&certificate.account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if active != 1 {
            return Ok(false);
        }
    }
    sqlx::query(
        "INSERT INTO signing_certificates (id, serial, account_id, device_id, spki_sha256, der, \
           not_before, not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&certificate.id)
    .bind(&certificate.serial)
    .bind(&certificate.account_id)
    .bind(&certificate.device_id)
    .bind(&certificate.spki_sha256)
    .bind(&certificate.der)
    .bind(certificate.not_before)
    .bind(certificate.not_after)
    .bind(certificate.created_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

pub(in crate::store) async fn signing_certificates(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<SigningCertificate>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM signing_certificates WHERE account_id = $1 \
         ORDER BY created_at, id"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn signing_certificate(
    pool: &Pool,
    id: &str,
) -> Result<Option<SigningCertificate>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM signing_certificates WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn signing_status(
    pool: &Pool,
    serial: &str,
) -> Result<Option<SigningStatus>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT revoked_at, revocation_reason FROM signing_certificates WHERE serial = $1",
    )
    .bind(serial)
    .fetch_optional(pool)
    .await?)
}

/// Moves the CRL's version: the next fetch builds a new list.
async fn crl_changed_in(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("UPDATE signing_crl SET version = version + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Revokes one certificate (unless revoked already) at `now` with `reason`, moving the CRL's
/// version and appending `audit`, in one transaction. The revoked certificate, or `None`.
pub(in crate::store) async fn revoke_signing_certificate(
    pool: &Pool,
    id: &str,
    reason: i64,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<SigningCertificate>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let revoked: Option<SigningCertificate> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE signing_certificates SET revoked_at = $1, revocation_reason = $2 \
         WHERE id = $3 AND revoked_at IS NULL RETURNING {CERTIFICATE_COLUMNS}"
    )))
    .bind(now)
    .bind(reason)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if revoked.is_none() {
        return Ok(None);
    }
    crl_changed_in(&mut tx).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Applies a lifecycle event's revocation of signing certificates inside the cause's
/// transaction, at `now` (when the cause is recorded).
pub(in crate::store) async fn revoke_signing_in(
    conn: &mut Conn,
    account_id: &str,
    revocation: &SigningRevocation,
    now: i64,
) -> Result<(), StoreError> {
    let revoked = match revocation {
        SigningRevocation::Nothing => return Ok(()),
        SigningRevocation::All { reason } => sqlx::query(
            "UPDATE signing_certificates SET revoked_at = $1, revocation_reason = $2 \
             WHERE account_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(account_id)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        SigningRevocation::Device { device_id, reason } => sqlx::query(
            "UPDATE signing_certificates SET revoked_at = $1, revocation_reason = $2 \
             WHERE account_id = $3 AND device_id = $4 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(account_id)
        .bind(device_id)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
    };
    if revoked > 0 {
        crl_changed_in(conn).await?;
    }
    Ok(())
}

pub(in crate::store) async fn signing_crl_state(
    pool: &Pool,
) -> Result<SigningCrlState, StoreError> {
    Ok(sqlx::query_as(
        "SELECT version, crl_number, crl, crl_version, this_update, next_update \
         FROM signing_crl WHERE id = 1",
    )
    .fetch_one(pool)
    .await?)
}

/// Every revoked certificate's serial, time and reason, by serial.
pub(in crate::store) async fn revoked_signing_certificates(
    pool: &Pool,
) -> Result<Vec<RevokedSerial>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT serial, revoked_at, revocation_reason FROM signing_certificates \
         WHERE revoked_at IS NOT NULL ORDER BY serial",
    )
    .fetch_all(pool)
    .await?)
}

/// Stores a CRL built with `number` from `version`, if the stored CRL's number is still
/// `previous` (another process did not store one meanwhile). True when stored.
pub(in crate::store) async fn store_signing_crl(
    pool: &Pool,
    previous: i64,
    number: i64,
    version: i64,
    crl: &[u8],
    this_update: i64,
    next_update: i64,
) -> Result<bool, StoreError> {
    let stored = sqlx::query(
        "UPDATE signing_crl SET crl_number = $1, crl = $2, crl_version = $3, this_update = $4, \
           next_update = $5 WHERE id = 1 AND crl_number = $6",
    )
    .bind(number)
    .bind(crl)
    .bind(version)
    .bind(this_update)
    .bind(next_update)
    .bind(previous)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(stored == 1)
}
