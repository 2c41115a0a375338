//! The relying-party registry.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, append_in, begin_write, update_one_audited};
use crate::store::{AuditEvent, RelyingPartyRow, StoreError};

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
