//! Lifecycle writes: the [`Consequences`] the domain decided, applied in the transaction of
//! their cause (a registry import, a recovery, a device revoked, level 2 withdrawn, a closure).
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Db, Pool, append_in, begin_write, insert_offer_in, revoke_signing_in, set_status_in};
use crate::store::{
    AccountState, AssuranceLevel, CitizenStatus, Consequences, CredentialScope, CredentialStatus,
    RegistryChangeFacts, RegistryDecision, Revocation, StoreError,
};

type Conn = <Db as sqlx::Database>::Connection;

/// What a decision needs to know of an account, read in the caller's transaction.
pub(in crate::store) async fn account_state_in(
    conn: &mut Conn,
    account_id: &str,
) -> Result<AccountState, StoreError> {
    let assurance_level: AssuranceLevel =
        sqlx::query_scalar("SELECT assurance_level FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&mut *conn)
            .await?;
    let live_kinds: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT kind FROM credentials WHERE account_id = $1 AND status <> 1 ORDER BY kind",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(AccountState {
        account_id: account_id.to_owned(),
        assurance_level,
        live_kinds,
    })
}

/// Applies `consequences` to an account inside the caller's transaction.
pub(in crate::store) async fn apply_in(
    conn: &mut Conn,
    account_id: &str,
    consequences: &Consequences,
    now: i64,
) -> Result<(), StoreError> {
    let ends = [
        (
            consequences.close_account,
            "UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
        ),
        (
            consequences.end_passkeys,
            "UPDATE passkeys SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        ),
        (
            consequences.end_devices,
            "UPDATE devices SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        ),
        (
            consequences.end_sessions,
            "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        ),
        // Access tokens act for the holder as sessions do; they are self-contained, so the
        // account records when the ones issued so far stop counting.
        (
            consequences.end_sessions,
            "UPDATE accounts SET grants_not_before = $1 WHERE id = $2",
        ),
        (
            consequences.end_offers,
            "UPDATE credential_offers SET redeemed_at = $1 \
             WHERE account_id = $2 AND redeemed_at IS NULL",
        ),
    ];
    for (wanted, statement) in ends {
        if wanted {
            sqlx::query(statement)
                .bind(now)
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    match &consequences.revoke {
        Revocation::Nothing => {}
        Revocation::All => revoke_all_in(conn, account_id).await?,
        Revocation::Kinds(kinds) => {
            for kind in kinds {
                let scope = CredentialScope::AccountKind {
                    account_id: account_id.to_owned(),
                    kind: kind.clone(),
                };
                set_status_in(conn, &scope, CredentialStatus::Invalid).await?;
            }
        }
        Revocation::Device(device_id) => {
            let scope = CredentialScope::Device {
                device_id: device_id.clone(),
            };
            set_status_in(conn, &scope, CredentialStatus::Invalid).await?;
        }
    }
    revoke_signing_in(conn, account_id, &consequences.revoke_signing, now).await?;
    if consequences.lower_to_level1 {
        sqlx::query(
            "UPDATE accounts SET assurance_level = 1, level2_approved_by = NULL, \
               level2_approved_at = NULL, level2_evidence = NULL \
             WHERE id = $1 AND assurance_level = 2",
        )
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(offer) = &consequences.offer {
        insert_offer_in(conn, offer).await?;
    }
    for event in &consequences.audit {
        append_in(conn, event).await?;
    }
    Ok(())
}

/// Revokes every credential copy of an account, moving the version of every list that changed.
async fn revoke_all_in(conn: &mut Conn, account_id: &str) -> Result<(), StoreError> {
    let lists: Vec<i64> = sqlx::query_scalar(
        "UPDATE credentials SET status = 1 WHERE account_id = $1 AND status <> 1 RETURNING list_id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lists = lists;
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        sqlx::query("UPDATE status_lists SET version = version + 1 WHERE id = $1")
            .bind(list)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The lifecycle consequences of an import, in its transaction: for each open account whose
/// citizen's record changed, `decide` is given what changed and the account's state, and what it
/// decides is applied.
pub(in crate::store) async fn apply_registry_changes(
    conn: &mut Conn,
    import_id: i64,
    now: i64,
    decide: RegistryDecision<'_>,
) -> Result<(), StoreError> {
    let changes: Vec<(String, CitizenStatus, String)> = sqlx::query_as(
        "SELECT a.id, c.status, rc.changed_fields FROM registry_changes rc \
         JOIN accounts a ON a.id_number = rc.id_number \
         JOIN citizens c ON c.id_number = rc.id_number \
         WHERE rc.import_id = $1 AND a.closed_at IS NULL ORDER BY a.id",
    )
    .bind(import_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut accounts: Vec<(String, CitizenStatus, Vec<String>)> = Vec::new();
    for (account, status, fields) in changes {
        match accounts.last_mut() {
            Some((last, _, all)) if *last == account => all.push(fields),
            _ => accounts.push((account, status, vec![fields])),
        }
    }
    for (account_id, citizen_status, changed_fields) in accounts {
        let facts = RegistryChangeFacts {
            import_id,
            account: account_state_in(conn, &account_id).await?,
            citizen_status,
            changed_fields,
        };
        let consequences = decide(&facts);
        apply_in(conn, &account_id, &consequences, now).await?;
    }
    Ok(())
}

/// Takes level 2 away from an account (the cause, refused when it is not at level 2) and applies
/// `consequences`, in one transaction.
pub(in crate::store) async fn withdraw_level2(
    pool: &Pool,
    account_id: &str,
    consequences: &Consequences,
    now: i64,
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
    apply_in(&mut tx, account_id, consequences, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Closes an account (the cause, refused when it is closed already) and applies
/// `consequences`, in one transaction.
pub(in crate::store) async fn close_account(
    pool: &Pool,
    account_id: &str,
    consequences: &Consequences,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let closed =
        sqlx::query("UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if closed != 1 {
        return Ok(false);
    }
    apply_in(&mut tx, account_id, consequences, now).await?;
    tx.commit().await?;
    Ok(true)
}
