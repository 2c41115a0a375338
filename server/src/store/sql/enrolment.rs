//! Enrolments (one-time codes) and the counters that limit attempts and look-ups.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, append_in, begin_write};
use crate::store::{AuditEvent, Enrolment, StoreError};

pub(in crate::store) async fn insert_enrolment(
    pool: &Pool,
    enrolment: &Enrolment,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO enrolments (id, id_number, phone, code_hash, attempts, created_at, expires_at, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&enrolment.id)
    .bind(&enrolment.id_number)
    .bind(&enrolment.phone)
    .bind(&enrolment.code_hash)
    .bind(enrolment.attempts)
    .bind(enrolment.created_at)
    .bind(enrolment.expires_at)
    .bind(&enrolment.purpose)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(in crate::store) async fn enrolment_attempt(
    pool: &Pool,
    id: &str,
    purpose: &str,
    now: i64,
    max_attempts: i64,
) -> Result<Option<Enrolment>, StoreError> {
    // The attempt is counted before the code is compared, in one statement: concurrent guesses
    // cannot exceed the limit.
    Ok(sqlx::query_as(
        "UPDATE enrolments SET attempts = attempts + 1 \
         WHERE id = $1 AND purpose = $4 AND consumed_at IS NULL AND expires_at > $2 AND attempts < $3 \
         RETURNING id, id_number, phone, code_hash, attempts, created_at, expires_at, purpose",
    )
    .bind(id)
    .bind(now)
    .bind(max_attempts)
    .bind(purpose)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn hit_rate_limit(
    pool: &Pool,
    key: &str,
    now: i64,
    window: i64,
) -> Result<i64, StoreError> {
    let window_start = now - now.rem_euclid(window);
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
           window_start = excluded.window_start \
         RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .fetch_one(pool)
    .await?)
}

pub(in crate::store) async fn take_allowance(
    pool: &Pool,
    key: &str,
    now: i64,
    window: i64,
    amount: i64,
    limit: i64,
) -> Result<Option<i64>, StoreError> {
    let window_start = now - now.rem_euclid(window);
    // Counted and checked in one statement: concurrent requests cannot together pass the
    // limit, and a refused request takes nothing (the row is left as it was).
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start = excluded.window_start \
             THEN rate_limits.hits + excluded.hits ELSE excluded.hits END, \
           window_start = excluded.window_start \
         WHERE rate_limits.window_start <> excluded.window_start \
           OR rate_limits.hits + excluded.hits <= $4 \
         RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .bind(amount)
    .bind(limit)
    .fetch_optional(pool)
    .await?)
}
