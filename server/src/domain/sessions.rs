//! Sessions: short-lived random bearer tokens, stored as SHA-256 digests, each carrying one role.

use serde_json::json;

use crate::{
    Services,
    domain::audit,
    platform::secrets,
    store::{Account, Session, StoreError},
};

/// What a session may do: the store's [`crate::store::SessionRole`], whose spelling is the
/// stored value; the domain and the HTTP layer call it `Role`.
pub use crate::store::SessionRole as Role;

impl Role {
    /// The role's bit in a role set (see [`crate::http::routes::auth`]).
    pub const fn bit(self) -> u8 {
        match self {
            Self::Setup => 1,
            Self::Citizen => 2,
            Self::Officer => 4,
            Self::Admin => 8,
            Self::Recovery => 16,
        }
    }

    /// True for the roles of a passkey sign-in (not setup, not recovery).
    pub fn signed_in(self) -> bool {
        matches!(self, Self::Citizen | Self::Officer | Self::Admin)
    }
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Whose session.
    pub account: Account,
    /// The session's role.
    pub role: Role,
    /// The session (to end it).
    pub session: Session,
}

/// A session just issued: the token is shown once, to its holder.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The bearer token.
    pub token: String,
    /// Its role.
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
}

/// How long a setup session lasts: enough to register a passkey.
const SETUP_TTL: i64 = 600;
/// How long a recovery session lasts: long enough to reach a counter.
pub const RECOVERY_TTL: i64 = 4 * 3600;

/// What a setup or recovery session is limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    /// The passkey registration ceremony it may complete.
    pub ceremony_id: Option<String>,
    /// The recovery it acts on.
    pub recovery_id: Option<String>,
}

/// The `method` of a session made by a passkey sign-in (an assertion with user verification).
pub const PASSKEY_SIGN_IN: &str = "passkey";

/// Issues a session for `account` with `role`; `method` says how the holder proved who they are.
pub async fn issue(
    services: &Services,
    account: &Account,
    role: Role,
    method: &str,
) -> Result<IssuedSession, StoreError> {
    issue_bound(services, account, role, method, Binding::default()).await
}

/// Issues a session limited by `binding` (setup and recovery sessions).
pub async fn issue_bound(
    services: &Services,
    account: &Account,
    role: Role,
    method: &str,
    binding: Binding,
) -> Result<IssuedSession, StoreError> {
    let now = crate::platform::clock::now();
    let ttl = match role {
        Role::Setup => SETUP_TTL,
        Role::Recovery => RECOVERY_TTL,
        _ => services.config.session_ttl_seconds,
    };
    let token = secrets::token();
    let session = Session {
        token_hash: secrets::token_hash(&token),
        account_id: account.id.clone(),
        role,
        created_at: now,
        expires_at: now + ttl,
        ceremony_id: binding.ceremony_id,
        recovery_id: binding.recovery_id,
        // Only a passkey assertion counts for a step-up (a registration or a recovery does not).
        passkey_at: (method == PASSKEY_SIGN_IN).then_some(now),
    };
    let action = match role {
        Role::Setup => "session.setup",
        Role::Recovery => "session.recovery",
        _ => "session.signed_in",
    };
    let event = audit::event(
        &account.id,
        action,
        &account.id,
        json!({ "role": role.as_str(), "method": method }),
    );
    services.store.insert_session(&session, &event).await?;
    Ok(IssuedSession {
        token,
        role,
        expires_at: session.expires_at,
    })
}

/// The principal behind a bearer token, if the session is live.
pub async fn authenticate(
    services: &Services,
    token: &str,
) -> Result<Option<Principal>, StoreError> {
    let now = crate::platform::clock::now();
    let Some((session, account)) = services
        .store
        .session(&secrets::token_hash(token), now)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Principal {
        account,
        role: session.role,
        session,
    }))
}

/// Ends a session.
pub async fn end(services: &Services, principal: &Principal) -> Result<(), StoreError> {
    services
        .store
        .revoke_session(&principal.session.token_hash, crate::platform::clock::now())
        .await
}
