//! Telecom operators (DESIGN journey 7): an operator is a relying party of kind `telecom`. Its
//! backend authenticates with OAuth client credentials and `private_key_jwt`
//! ([`client_auth`]), verifies a subscriber with a wallet presentation or the four-field match
//! and registers the SIM binding (MSISDN ↔ citizen ↔ operator, [`subscriptions`]); the citizen
//! sees the numbers registered to them and disputes one; a reported device change requires a
//! new verification before configured deadlines; an operator's existing subscriber base is
//! checked against the registry in bulk ([`matching`]).

pub mod client_auth;
pub mod matching;
pub mod presentation;
pub mod subscriptions;

use crate::{
    domain::Services,
    domain::sessions,
    platform::secrets,
    store::{RelyingPartyKind, RelyingPartyRow, StoreError},
};

/// The scope of operators' access tokens.
pub const SCOPE: &str = "telecom";

/// The audit actor of an operator's action: `rp:<relying party id>`.
pub fn actor(operator: &RelyingPartyRow) -> String {
    format!(
        "{}{}",
        crate::domain::audit::RELYING_PARTY_PREFIX,
        operator.id
    )
}

/// Why an operator's request was not authenticated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorAuthError {
    /// No `Authorization: Bearer` header.
    #[error("an operator access token (Authorization: Bearer, scope telecom) is required")]
    Missing,
    /// Unknown, expired, of another scope, or of a revoked or non-telecom relying party.
    #[error("the access token is invalid, expired or revoked")]
    Invalid,
    /// A citizen's or staff session, not an operator's token.
    #[error("a session may not call an operator route")]
    Session,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator a bearer token of scope `telecom` stands for: a live token of a relying party
/// of kind telecom that is not revoked (checked on every request, so a revocation takes effect
/// at once, whatever the token's expiry).
pub async fn authenticate(
    services: &Services,
    token: &str,
) -> Result<RelyingPartyRow, OperatorAuthError> {
    let now = crate::platform::clock::now();
    let operator = services
        .store
        .operator_for_token(&secrets::token_hash(token), SCOPE, now)
        .await?
        .filter(|party| party.kind == RelyingPartyKind::Telecom);
    match operator {
        Some(operator) => Ok(operator),
        // A session token sent to an operator route: authenticated, but not as an operator.
        None if sessions::authenticate(services, token).await?.is_some() => {
            Err(OperatorAuthError::Session)
        }
        None => Err(OperatorAuthError::Invalid),
    }
}
