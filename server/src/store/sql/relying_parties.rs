//! The relying-party registry.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, append_in, begin_write, lock_key, update_one_audited};
use crate::store::{AuditEvent, RelyingPartyRow, RpCrlRow, StoreError, TrustBundleVersionRow};

/// The columns of a [`RelyingPartyRow`], in its order (a literal: sqlx takes static SQL only).
macro_rules! columns {
    () => {
        "id, client_id, name, registration_number, kind, dns_name, purpose, allowed, certificate, \
         serial, key_thumbprint, status_index, created_at, revoked_at, revocation_reason"
    };
}

/// Registers a relying party with the next index of the registrations' status list (ignoring
/// the row's own `status_index`), with its audit entry; returns that index. A client id already
/// held by a party not revoked, or a serial or key certified before, is
/// [`StoreError::Conflict`].
pub(in crate::store) async fn insert_relying_party(
    pool: &Pool,
    party: &RelyingPartyRow,
    audit: &AuditEvent,
) -> Result<i64, StoreError> {
    let mut tx = begin_write(pool).await?;
    // The next index is read from the table: two registrations at once must not both read the
    // same one (on PostgreSQL the second would fail on the unique index, and be told its name
    // or key was taken).
    lock_key(&mut tx, "relying_parties:status_index").await?;
    let index: i64 = sqlx::query_scalar(concat!(
        "INSERT INTO relying_parties (",
        columns!(),
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                COALESCE(MAX(status_index) + 1, 0), $12, NULL, NULL FROM relying_parties \
         RETURNING status_index"
    ))
    .bind(&party.id)
    .bind(&party.client_id)
    .bind(&party.name)
    .bind(&party.registration_number)
    .bind(party.kind)
    .bind(&party.dns_name)
    .bind(&party.purpose)
    .bind(&party.allowed)
    .bind(&party.certificate)
    .bind(&party.serial)
    .bind(&party.key_thumbprint)
    .bind(party.created_at)
    .fetch_one(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(index)
}

pub(in crate::store) async fn relying_party(
    pool: &Pool,
    id: &str,
) -> Result<Option<RelyingPartyRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM relying_parties WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The party holding `client_id`: the one not revoked, else the last revoked.
pub(in crate::store) async fn relying_party_by_client_id(
    pool: &Pool,
    client_id: &str,
) -> Result<Option<RelyingPartyRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM relying_parties WHERE client_id = $1 \
         ORDER BY revoked_at IS NULL DESC, created_at DESC LIMIT 1"
    ))
    .bind(client_id)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn relying_parties(
    pool: &Pool,
) -> Result<Vec<RelyingPartyRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM relying_parties ORDER BY status_index"
    ))
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn revoke_relying_party(
    pool: &Pool,
    id: &str,
    now: i64,
    reason: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let query = sqlx::query(
        "UPDATE relying_parties SET revoked_at = $1, revocation_reason = $2 \
         WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(id);
    update_one_audited(pool, query, audit).await
}

/// The relying-party CRL with the highest number.
pub(in crate::store) async fn latest_rp_crl(pool: &Pool) -> Result<Option<RpCrlRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT number, revoked, this_update, next_update, der FROM rp_crls \
         ORDER BY number DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?)
}

/// Records a new CRL; false when another process recorded that number first.
pub(in crate::store) async fn insert_rp_crl(
    pool: &Pool,
    crl: &RpCrlRow,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO rp_crls (number, revoked, this_update, next_update, der) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
    )
    .bind(crl.number)
    .bind(crl.revoked)
    .bind(crl.this_update)
    .bind(crl.next_update)
    .bind(&crl.der)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The newest version of the trust bundle.
pub(in crate::store) async fn latest_trust_bundle_version(
    pool: &Pool,
) -> Result<Option<TrustBundleVersionRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT version, roots, revoked, created_at FROM trust_bundle_versions \
         ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?)
}

/// Records a new version of the trust bundle; false when another process recorded that version
/// first.
pub(in crate::store) async fn insert_trust_bundle_version(
    pool: &Pool,
    version: &TrustBundleVersionRow,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO trust_bundle_versions (version, roots, revoked, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
    )
    .bind(version.version)
    .bind(&version.roots)
    .bind(version.revoked)
    .bind(version.created_at)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
