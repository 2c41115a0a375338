//! Device holder keys.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, append_in, apply_in, begin_write};
use crate::store::{AuditEvent, Consequences, Device, StoreError};

pub(in crate::store) async fn insert_device(
    pool: &Pool,
    device: &Device,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO devices (id, account_id, name, holder_jwk, thumbprint, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&device.id)
    .bind(&device.account_id)
    .bind(&device.name)
    .bind(&device.holder_jwk)
    .bind(&device.thumbprint)
    .bind(device.created_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn devices(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<Device>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, name, holder_jwk, thumbprint, created_at, revoked_at FROM devices \
         WHERE account_id = $1 ORDER BY created_at, id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub(in crate::store) async fn revoke_device(
    pool: &Pool,
    account_id: &str,
    device_id: &str,
    now: i64,
    consequences: &Consequences,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let revoked = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(device_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if revoked != 1 {
        return Ok(false);
    }
    apply_in(&mut tx, account_id, consequences, now).await?;
    tx.commit().await?;
    Ok(true)
}
