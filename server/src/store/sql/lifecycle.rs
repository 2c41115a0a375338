//! Lifecycle writes: what a registry change, a level-2 withdrawal or a closure changes, each in its transaction.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Db, Pool, append_in, begin_write, insert_offer_in, set_status_in};
use crate::store::{AuditEvent, CredentialScope, Offer, StoreError};

/// Closes an account (death registered): every credential revoked, devices and sessions ended.
async fn close_account_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let closed =
        sqlx::query("UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
            .bind(now)
            .bind(account_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if closed != 1 {
        return Ok(false);
    }
    for statement in [
        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE devices SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    ] {
        sqlx::query(statement)
            .bind(now)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    revoke_all_in(conn, account_id).await?;
    Ok(true)
}

/// Revokes every credential copy of an account; returns the kinds that had valid or suspended
/// copies.
pub(in crate::store) async fn revoke_all_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
) -> Result<Vec<String>, StoreError> {
    let changed: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE credentials SET status = 1 WHERE account_id = $1 AND status <> 1 RETURNING list_id, kind",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lists: Vec<i64> = changed.iter().map(|(list, _)| *list).collect();
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        sqlx::query("UPDATE status_lists SET version = version + 1 WHERE id = $1")
            .bind(list)
            .execute(&mut *conn)
            .await?;
    }
    let mut kinds: Vec<String> = changed.into_iter().map(|(_, kind)| kind).collect();
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// The lifecycle consequences of an import, in its transaction: a citizen whose record changed
/// has every credential revoked (each carries the old data) and a new offer of the same kinds
/// waiting for them; a citizen now deceased has their account closed.
pub(in crate::store) async fn apply_registry_changes(
    conn: &mut <Db as sqlx::Database>::Connection,
    import_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    let changes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.id, c.status, rc.changed_fields FROM registry_changes rc \
         JOIN accounts a ON a.id_number = rc.id_number \
         JOIN citizens c ON c.id_number = rc.id_number \
         WHERE rc.import_id = $1 AND a.closed_at IS NULL ORDER BY a.id",
    )
    .bind(import_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut accounts: Vec<(String, String, Vec<String>)> = Vec::new();
    for (account, status, fields) in changes {
        match accounts.last_mut() {
            Some((last, _, all)) if *last == account => all.push(fields),
            _ => accounts.push((account, status, vec![fields])),
        }
    }
    for (account_id, status, fields) in accounts {
        if status == "deceased" {
            close_account_in(conn, &account_id, now).await?;
            let event = crate::domain::audit::event(
                crate::domain::audit::OPERATOR,
                "account.closed",
                &account_id,
                serde_json::json!({ "reason": "deceased", "import": import_id }),
            );
            append_in(conn, &event).await?;
            continue;
        }
        let scope = crate::store::affected_kinds(&fields);
        let kinds = revoke_kinds_in(conn, &account_id, &scope).await?;
        if kinds.is_empty() {
            continue;
        }
        let offer = pending_offer(&account_id, &kinds, "reissue", now);
        insert_offer_in(conn, &offer).await?;
        let event = crate::domain::audit::event(
            crate::domain::audit::OPERATOR,
            "credentials.revoked",
            &account_id,
            serde_json::json!({ "reason": "registry data changed", "import": import_id,
                "kinds": kinds, "offer": offer.id }),
        );
        append_in(conn, &event).await?;
    }
    Ok(())
}

/// Revokes an account's copies of the kinds `scope` names (all kinds for `None`); returns the
/// kinds that had copies not yet revoked.
async fn revoke_kinds_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
    scope: &Option<Vec<String>>,
) -> Result<Vec<String>, StoreError> {
    match scope {
        None => revoke_all_in(conn, account_id).await,
        Some(kinds) => {
            let mut revoked = Vec::new();
            for kind in kinds {
                let scope = CredentialScope::AccountKind {
                    account_id: account_id.to_owned(),
                    kind: kind.clone(),
                };
                if set_status_in(conn, &scope, 1).await? > 0 {
                    revoked.push(kind.clone());
                }
            }
            Ok(revoked)
        }
    }
}

/// An offer a lifecycle event leaves for the citizen to collect signed in.
pub(in crate::store) fn pending_offer(
    account_id: &str,
    kinds: &[String],
    reason: &str,
    now: i64,
) -> Offer {
    Offer {
        id: crate::platform::secrets::id(),
        account_id: account_id.to_owned(),
        configuration_ids: serde_json::json!(kinds).to_string(),
        code_hash: None,
        tx_code_hash: None,
        attempts: 0,
        reason: reason.to_owned(),
        created_by: crate::domain::audit::OPERATOR.to_owned(),
        created_at: now,
        expires_at: now + 30 * 86_400,
        redeemed_at: None,
    }
}

pub(in crate::store) async fn withdraw_level2(
    pool: &Pool,
    account_id: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let changed = sqlx::query(
        "UPDATE accounts SET assurance_level = 1, level2_approved_by = NULL, level2_approved_at = NULL, \
           level2_evidence = NULL WHERE id = $1 AND role = 'citizen' AND assurance_level = 2",
    )
    .bind(account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    revoke_all_in(&mut tx, account_id).await?;
    sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    )
    .bind(audit.at)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

pub(in crate::store) async fn close_account(
    pool: &Pool,
    account_id: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    if !close_account_in(&mut tx, account_id, audit.at).await? {
        return Ok(false);
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}
