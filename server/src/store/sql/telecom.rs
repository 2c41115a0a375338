//! Telecom operators: their access tokens, the SIM bindings they register, the citizens'
//! disputes of them.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).
//! The one statement that differs, the per-citizen lock of a binding, is the engine's
//! `lock_citizen`.

use super::{Pool, append_in, begin_write, lock_citizen};
use crate::store::{
    AuditEvent, BindOutcome, DeviceChange, Dispute, DisputeListing, DisputeOutcome, OperatorToken,
    RelyingPartyRow, StoreError, Subscription, SubscriptionListing, SubscriptionMark,
    SubscriptionVerification,
};

/// The columns of a [`Subscription`], in its order, optionally qualified by a table alias.
macro_rules! subscription_columns {
    () => {
        subscription_columns!("")
    };
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "operator_id, ",
            $p,
            "msisdn, ",
            $p,
            "id_number, ",
            $p,
            "state, ",
            $p,
            "method, ",
            $p,
            "face_match, ",
            $p,
            "device_id, ",
            $p,
            "verified_at, ",
            $p,
            "reverify_since, ",
            $p,
            "mark, ",
            $p,
            "marked_at, ",
            $p,
            "created_at, ",
            $p,
            "ended_at, ",
            $p,
            "end_reason"
        )
    };
}

/// The columns of a [`Dispute`], qualified by `d.`.
macro_rules! dispute_columns {
    () => {
        "d.id, d.subscription_id, d.operator_id, d.opened_at, d.outcome, d.note, d.answered_at"
    };
}

pub(in crate::store) async fn insert_operator_token(
    pool: &Pool,
    token: &OperatorToken,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO operator_tokens (token_hash, rp_id, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.token_hash)
    .bind(&token.rp_id)
    .bind(&token.scope)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// The relying party holding a live token of `scope` with this digest, when it is not revoked.
pub(in crate::store) async fn operator_for_token(
    pool: &Pool,
    token_hash: &[u8],
    scope: &str,
    now: i64,
) -> Result<Option<RelyingPartyRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.client_id, r.name, r.registration_number, r.kind, r.dns_name, r.purpose, \
                r.allowed, r.certificate, r.serial, r.key_thumbprint, r.status_index, \
                r.created_at, r.revoked_at, r.revocation_reason \
         FROM operator_tokens t JOIN relying_parties r ON r.id = t.rp_id \
         WHERE t.token_hash = $1 AND t.scope = $2 AND t.expires_at > $3 \
           AND r.revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(scope)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

async fn live_by_msisdn(
    conn: &mut <super::Db as sqlx::Database>::Connection,
    msisdn: &str,
) -> Result<Option<Subscription>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM subscriptions WHERE msisdn = $1 AND state <> 'ended'"
    ))
    .bind(msisdn)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Stores a new binding unless the number is bound already or the citizen is at a limit, in
/// one transaction holding the citizen's lock (so concurrent binds of one citizen cannot
/// together pass a limit). A live binding terminated by an unanswered device change from
/// before `terminated_before` no longer holds its number (it is ended here) nor counts. A
/// concurrent bind of the same number that won meets the unique index: the winner is returned
/// as [`BindOutcome::Existing`].
pub(in crate::store) async fn bind_subscription(
    pool: &Pool,
    subscription: &Subscription,
    per_operator: i64,
    total: i64,
    terminated_before: i64,
    audit: &AuditEvent,
) -> Result<BindOutcome, StoreError> {
    let mut tx = begin_write(pool).await?;
    lock_citizen(&mut tx, &subscription.id_number).await?;
    if let Some(existing) = live_by_msisdn(&mut tx, &subscription.msisdn).await? {
        if existing
            .reverify_since
            .is_none_or(|since| since > terminated_before)
        {
            return Ok(BindOutcome::Existing(Box::new(existing)));
        }
        sqlx::query(
            "UPDATE subscriptions SET state = 'ended', ended_at = $2, end_reason = 'terminated' \
             WHERE id = $1 AND state <> 'ended'",
        )
        .bind(&existing.id)
        .bind(subscription.created_at)
        .execute(&mut *tx)
        .await?;
    }
    let (with_operator, all): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN operator_id = $2 THEN 1 ELSE 0 END), 0), COUNT(*) \
         FROM subscriptions WHERE id_number = $1 AND state <> 'ended' \
           AND (reverify_since IS NULL OR reverify_since > $3)",
    )
    .bind(&subscription.id_number)
    .bind(&subscription.operator_id)
    .bind(terminated_before)
    .fetch_one(&mut *tx)
    .await?;
    if with_operator >= per_operator {
        return Ok(BindOutcome::OperatorLimit);
    }
    if all >= total {
        return Ok(BindOutcome::TotalLimit);
    }
    let inserted = sqlx::query(concat!(
        "INSERT INTO subscriptions (",
        subscription_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&subscription.id)
    .bind(&subscription.operator_id)
    .bind(&subscription.msisdn)
    .bind(&subscription.id_number)
    .bind(subscription.state)
    .bind(subscription.method)
    .bind(&subscription.face_match)
    .bind(&subscription.device_id)
    .bind(subscription.verified_at)
    .bind(subscription.reverify_since)
    .bind(subscription.mark)
    .bind(subscription.marked_at)
    .bind(subscription.created_at)
    .bind(subscription.ended_at)
    .bind(&subscription.end_reason)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(error) => {
            let error = StoreError::from(error);
            if !error.is_unique_violation() {
                return Err(error);
            }
            // Another bind of the number committed first: answer with it.
            drop(tx);
            let mut conn = pool.acquire().await?;
            return live_by_msisdn(&mut conn, &subscription.msisdn)
                .await?
                .map(|existing| BindOutcome::Existing(Box::new(existing)))
                .ok_or(StoreError::Conflict);
        }
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(BindOutcome::Created)
}

/// Records a new verification of a live binding of `operator_id` (clearing a required
/// re-verification), with its audit entry; the binding as it is now, or `None` when it ended.
pub(in crate::store) async fn reverify_subscription(
    pool: &Pool,
    id: &str,
    operator_id: &str,
    verification: &SubscriptionVerification,
    audit: &AuditEvent,
) -> Result<Option<Subscription>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let updated: Option<Subscription> = sqlx::query_as(concat!(
        "UPDATE subscriptions SET state = 'active', method = $3, face_match = $4, \
         device_id = COALESCE($5, device_id), verified_at = $6, reverify_since = NULL \
         WHERE id = $1 AND operator_id = $2 AND state <> 'ended' RETURNING ",
        subscription_columns!()
    ))
    .bind(id)
    .bind(operator_id)
    .bind(verification.method)
    .bind(&verification.face_match)
    .bind(&verification.device_id)
    .bind(verification.at)
    .fetch_optional(&mut *tx)
    .await?;
    if updated.is_some() {
        append_in(&mut tx, audit).await?;
        tx.commit().await?;
    }
    Ok(updated)
}

pub(in crate::store) async fn subscription(
    pool: &Pool,
    id: &str,
) -> Result<Option<Subscription>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM subscriptions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Every binding of a citizen, ended ones included, newest first, with the operator's name and
/// the latest dispute.
pub(in crate::store) async fn citizen_subscriptions(
    pool: &Pool,
    id_number: &str,
) -> Result<Vec<SubscriptionListing>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        subscription_columns!("s."),
        ", r.name AS operator_name, d.id AS dispute_id, d.outcome AS dispute_outcome, \
           d.answered_at AS dispute_answered_at \
         FROM subscriptions s JOIN relying_parties r ON r.id = s.operator_id \
         LEFT JOIN subscription_disputes d ON d.id = ( \
             SELECT x.id FROM subscription_disputes x WHERE x.subscription_id = s.id \
             ORDER BY x.opened_at DESC, x.id LIMIT 1) \
         WHERE s.id_number = $1 ORDER BY s.created_at DESC, s.id"
    ))
    .bind(id_number)
    .fetch_all(pool)
    .await?)
}

/// Records the citizen's mark on one of their live bindings and, for `not_mine`, opens
/// `dispute` (unless one is open already), with the audit entry. False when the citizen has
/// no such live binding.
pub(in crate::store) async fn mark_subscription(
    pool: &Pool,
    id: &str,
    id_number: &str,
    mark: SubscriptionMark,
    dispute: Option<&Dispute>,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let marked = sqlx::query(
        "UPDATE subscriptions SET mark = $3, marked_at = $4 \
         WHERE id = $1 AND id_number = $2 AND state <> 'ended'",
    )
    .bind(id)
    .bind(id_number)
    .bind(mark)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked != 1 {
        return Ok(false);
    }
    if let Some(dispute) = dispute {
        sqlx::query(
            "INSERT INTO subscription_disputes (id, subscription_id, operator_id, opened_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&dispute.id)
        .bind(&dispute.subscription_id)
        .bind(&dispute.operator_id)
        .bind(dispute.opened_at)
        .execute(&mut *tx)
        .await?;
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

/// An operator's disputes, oldest first: only the unanswered ones when `open_only`.
pub(in crate::store) async fn operator_disputes(
    pool: &Pool,
    operator_id: &str,
    open_only: bool,
    limit: i64,
) -> Result<Vec<DisputeListing>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        dispute_columns!(),
        ", s.msisdn, s.state AS subscription_state \
         FROM subscription_disputes d JOIN subscriptions s ON s.id = d.subscription_id \
         WHERE d.operator_id = $1 AND (d.answered_at IS NULL OR $2 = 0) \
         ORDER BY d.opened_at, d.id LIMIT $3"
    ))
    .bind(operator_id)
    .bind(i64::from(open_only))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Answers an open dispute of `operator_id`; `ended` also ends its binding. The dispute as
/// answered, or `None` when it is not this operator's open dispute.
pub(in crate::store) async fn answer_dispute(
    pool: &Pool,
    id: &str,
    operator_id: &str,
    outcome: DisputeOutcome,
    note: Option<&str>,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<Dispute>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let answered: Option<Dispute> = sqlx::query_as(
        "UPDATE subscription_disputes SET outcome = $3, note = $4, answered_at = $5 \
         WHERE id = $1 AND operator_id = $2 AND answered_at IS NULL \
         RETURNING id, subscription_id, operator_id, opened_at, outcome, note, answered_at",
    )
    .bind(id)
    .bind(operator_id)
    .bind(outcome)
    .bind(note)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(dispute) = answered else {
        return Ok(None);
    };
    if outcome == DisputeOutcome::Ended {
        sqlx::query(
            "UPDATE subscriptions SET state = 'ended', ended_at = $2, end_reason = 'dispute' \
             WHERE id = $1 AND state <> 'ended'",
        )
        .bind(&dispute.subscription_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(Some(dispute))
}

/// Records an operator's report that the subscriber of its live binding `id` now uses
/// `device_id`: a device other than the recorded one requires a new verification from now (an
/// earlier, still pending requirement keeps its time). `audit` is appended only for a change.
pub(in crate::store) async fn report_device_change(
    pool: &Pool,
    id: &str,
    operator_id: &str,
    device_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<DeviceChange>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let current: Option<Subscription> = sqlx::query_as(concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM subscriptions WHERE id = $1 AND operator_id = $2 AND state <> 'ended'"
    ))
    .bind(id)
    .bind(operator_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    if current.device_id.as_deref() == Some(device_id) {
        return Ok(Some(DeviceChange::Unchanged(current)));
    }
    // The state is checked again in the write: under PostgreSQL's read committed the binding
    // may have ended since it was read, and an ended binding must stay ended.
    let changed: Option<Subscription> = sqlx::query_as(concat!(
        "UPDATE subscriptions SET state = 'reverification_required', device_id = $2, \
         reverify_since = COALESCE(reverify_since, $3) \
         WHERE id = $1 AND operator_id = $4 AND state <> 'ended' RETURNING ",
        subscription_columns!()
    ))
    .bind(id)
    .bind(device_id)
    .bind(now)
    .bind(operator_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(changed) = changed else {
        return Ok(None);
    };
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(Some(DeviceChange::Changed(changed)))
}

/// Ends a live binding of `operator_id`, with its audit entry; false when there is none.
pub(in crate::store) async fn end_subscription(
    pool: &Pool,
    id: &str,
    operator_id: &str,
    reason: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let query = sqlx::query(
        "UPDATE subscriptions SET state = 'ended', ended_at = $3, end_reason = $4 \
         WHERE id = $1 AND operator_id = $2 AND state <> 'ended'",
    )
    .bind(id)
    .bind(operator_id)
    .bind(now)
    .bind(reason);
    super::update_one_audited(pool, query, audit).await
}

/// Whether `msisdn` is bound to the citizen `id_number` by a live binding that still counts:
/// not ended, and not past its termination (a device change before `terminated_before` left
/// unanswered).
pub(in crate::store) async fn msisdn_bound_to(
    pool: &Pool,
    id_number: &str,
    msisdn: &str,
    terminated_before: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE msisdn = $1 AND id_number = $2 \
         AND state <> 'ended' AND (reverify_since IS NULL OR reverify_since > $3))",
    )
    .bind(msisdn)
    .bind(id_number)
    .bind(terminated_before)
    .fetch_one(pool)
    .await?)
}
