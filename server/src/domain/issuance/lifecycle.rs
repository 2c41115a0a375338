//! Credential lifecycle decided by staff: one copy revoked, suspended or reinstated; all of a
//! citizen's credentials revoked (lost phone); level 2 withdrawn; an account closed. Registry
//! driven events (data changed, death registered) run inside the import's transaction (see
//! `store`); revoking a device revokes its credentials in the same transaction.

use serde::Serialize;
use serde_json::json;

use crate::{
    Services,
    domain::audit,
    domain::consequences,
    store::{Account, CredentialRecord, CredentialScope, CredentialStatus, StoreError},
};

/// A lifecycle failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// No such credential copy or citizen account.
    #[error("not found")]
    NotFound,
    /// The change does not apply in the current state (e.g. reinstating a revoked copy).
    #[error("{0}")]
    Conflict(&'static str),
    /// A reason is required (1 to 500 characters).
    #[error("a reason of 1 to 500 characters is required")]
    Reason,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a staff member may do to one copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyAction {
    /// Invalid for good.
    Revoke,
    /// Invalid until reinstated.
    Suspend,
    /// Valid again after a suspension.
    Reinstate,
}

impl CopyAction {
    fn status(self) -> CredentialStatus {
        match self {
            Self::Revoke => CredentialStatus::Invalid,
            Self::Suspend => CredentialStatus::Suspended,
            Self::Reinstate => CredentialStatus::Valid,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Revoke => "credential.revoked",
            Self::Suspend => "credential.suspended",
            Self::Reinstate => "credential.reinstated",
        }
    }
}

fn check_reason(reason: &str) -> Result<&str, LifecycleError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(LifecycleError::Reason);
    }
    Ok(reason)
}

/// A credential copy as staff and its holder see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    /// `<list>.<index>`: the copy's identifier.
    pub id: String,
    /// The credential kind.
    pub kind: String,
    /// `valid`, `revoked` or `suspended`.
    pub status: &'static str,
    /// The status list URI and index in the credential.
    pub status_list: String,
    /// Its index.
    pub idx: i64,
    /// The registered device its key belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl CredentialView {
    /// The view of a stored copy.
    pub fn new(services: &Services, record: &CredentialRecord) -> Self {
        Self {
            id: format!("{}.{}", record.list_id, record.idx),
            kind: record.kind.clone(),
            status: match record.status {
                CredentialStatus::Valid => "valid",
                CredentialStatus::Suspended => "suspended",
                CredentialStatus::Invalid => "revoked",
            },
            status_list: crate::domain::status::list_uri(&services.public_url, record.list_id),
            idx: record.idx,
            device_id: record.device_id.clone(),
            issued_at: crate::platform::clock::rfc3339(record.issued_at),
            expires_at: crate::platform::clock::rfc3339(record.expires_at),
        }
    }
}

/// Parses a copy identifier `<list>.<index>`.
pub fn parse_copy_id(id: &str) -> Option<(i64, i64)> {
    let (list, idx) = id.split_once('.')?;
    Some((list.parse().ok()?, idx.parse().ok()?))
}

/// Revokes, suspends or reinstates one copy.
pub async fn change_copy(
    services: &Services,
    actor: &Account,
    copy_id: &str,
    action: CopyAction,
    reason: &str,
) -> Result<CredentialView, LifecycleError> {
    let reason = check_reason(reason)?;
    let (list_id, idx) = parse_copy_id(copy_id).ok_or(LifecycleError::NotFound)?;
    let record = services
        .store
        .credential(list_id, idx)
        .await?
        .ok_or(LifecycleError::NotFound)?;
    match (record.status, action) {
        (CredentialStatus::Invalid, _) => {
            return Err(LifecycleError::Conflict("the credential is revoked"));
        }
        (CredentialStatus::Valid, CopyAction::Reinstate) => {
            return Err(LifecycleError::Conflict("the credential is not suspended"));
        }
        (CredentialStatus::Suspended, CopyAction::Suspend) => {
            return Err(LifecycleError::Conflict(
                "the credential is suspended already",
            ));
        }
        _ => {}
    }
    let event = audit::event(
        &actor.id,
        action.action(),
        &record.account_id,
        json!({ "credential": copy_id, "kind": record.kind, "reason": reason }),
    );
    services
        .store
        .set_credential_status(
            &CredentialScope::Copy { list_id, idx },
            action.status(),
            &event,
        )
        .await?;
    let record = services
        .store
        .credential(list_id, idx)
        .await?
        .ok_or(LifecycleError::NotFound)?;
    Ok(CredentialView::new(services, &record))
}

/// Revokes every credential of a citizen (lost or stolen phone). Returns how many copies
/// changed.
pub async fn revoke_all(
    services: &Services,
    actor: &Account,
    account_id: &str,
    reason: &str,
) -> Result<u64, LifecycleError> {
    let reason = check_reason(reason)?;
    let event = audit::event(
        &actor.id,
        "credentials.revoked",
        account_id,
        json!({ "reason": reason }),
    );
    Ok(services
        .store
        .set_credential_status(
            &CredentialScope::Account {
                account_id: account_id.to_owned(),
            },
            CredentialStatus::Invalid,
            &event,
        )
        .await?)
}

/// Withdraws level 2: back to level 1, every credential revoked, open offers ended.
pub async fn withdraw_level2(
    services: &Services,
    actor: &Account,
    account_id: &str,
    reason: &str,
) -> Result<(), LifecycleError> {
    let reason = check_reason(reason)?;
    let event = audit::event(
        &actor.id,
        "level2.withdrawn",
        account_id,
        json!({ "reason": reason }),
    );
    let at = event.at;
    let decided = consequences::level2_withdrawn(event);
    if services
        .store
        .withdraw_level2(account_id, &decided, at)
        .await?
    {
        Ok(())
    } else {
        Err(LifecycleError::Conflict("the account is not at level 2"))
    }
}

/// Closes an account (e.g. a death registered by hand): credentials revoked, devices, sessions
/// and offers ended.
pub async fn close_account(
    services: &Services,
    actor: &Account,
    account_id: &str,
    reason: &str,
) -> Result<(), LifecycleError> {
    let reason = check_reason(reason)?;
    let event = audit::event(
        &actor.id,
        "account.closed",
        account_id,
        json!({ "reason": reason }),
    );
    let at = event.at;
    if services
        .store
        .close_account(account_id, &consequences::closure(event), at)
        .await?
    {
        Ok(())
    } else {
        Err(LifecycleError::Conflict("the account is closed already"))
    }
}
