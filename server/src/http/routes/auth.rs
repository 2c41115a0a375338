//! Authentication and role checks for API routes.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts},
};

use crate::{
    domain::sessions::{self, Principal, Role},
    http::AppState,
    http::error::ApiError,
};

/// Public route: no session needed.
pub const NONE: u8 = 0;
/// A setup session (only registers the first passkey).
pub const SETUP: u8 = Role::Setup.bit();
/// A citizen.
pub const CITIZEN: u8 = Role::Citizen.bit();
/// An officer.
pub const OFFICER: u8 = Role::Officer.bit();
/// An administrator.
pub const ADMIN: u8 = Role::Admin.bit();
/// A recovery session (only acts on its own account recovery).
pub const RECOVERY: u8 = Role::Recovery.bit();
/// Officers and administrators.
pub const STAFF: u8 = OFFICER | ADMIN;
/// Anyone signed in with a passkey.
pub const SIGNED_IN: u8 = CITIZEN | STAFF;
/// Any session, setup and recovery included.
pub const ANY: u8 = SETUP | RECOVERY | SIGNED_IN;
/// A telecom operator's access token (not a session): see [`TelecomOperator`].
pub const TELECOM: u8 = 32;

/// The name of the portal's session cookie.
pub const COOKIE: &str = "dinhdanh_session";

/// The caller, admitted because their session's role is in `ROLES`. Without a live session
/// the request is answered 401; with a role outside `ROLES`, 403.
#[derive(Debug, Clone)]
pub struct Auth<const ROLES: u8>(pub Principal);

fn token(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        return value.to_str().ok()?.strip_prefix("Bearer ");
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

impl<const ROLES: u8> FromRequestParts<AppState> for Auth<ROLES> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token(parts).ok_or_else(ApiError::unauthenticated)?;
        let principal = sessions::authenticate(&state.services, token)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        if principal.role.bit() & ROLES == 0 {
            return Err(ApiError::forbidden());
        }
        Ok(Self(principal))
    }
}

/// The caller of an operator route: a telecom operator (a relying party of kind `telecom`, not
/// revoked) presenting `Authorization: Bearer <access token>` of scope `telecom`, obtained at
/// `POST /token` with client credentials and a `private_key_jwt` client assertion.
///
/// Without a token, or with an unknown, expired or revoked one (or one of a party revoked
/// since), the request is answered 401 problem+json with `WWW-Authenticate: Bearer` (RFC 6750
/// section 3: `error="invalid_token"` when a token was sent); a citizen's or staff session
/// token is answered 403. Routes using it list [`TELECOM`] in the route table.
///
/// ```ignore
/// async fn handler(TelecomOperator(operator): TelecomOperator) { /* operator.id, .name */ }
/// ```
#[derive(Debug, Clone)]
pub struct TelecomOperator(pub crate::store::RelyingPartyRow);

impl FromRequestParts<AppState> for TelecomOperator {
    type Rejection = crate::domain::telecom::OperatorAuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use crate::domain::telecom::{self, OperatorAuthError};
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(OperatorAuthError::Missing)?;
        Ok(Self(telecom::authenticate(&state.services, token).await?))
    }
}

/// The portal's view of the caller: a session from the cookie, if any (pages render signed-out
/// content instead of refusing).
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = token(parts) else {
            return Ok(Self(None));
        };
        Ok(Self(sessions::authenticate(&state.services, token).await?))
    }
}

/// The client as rate limits count it: the TCP peer, or, when the peer is one of
/// `config.trusted_proxies`, the address those proxies report in `X-Forwarded-For`
/// ([`crate::platform::net::client_address`]); an IPv6 address by its /64
/// ([`crate::platform::net::rate_limit_subject`]). `unknown` in-process, where there is no peer.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    /// The address of the request whose parts are `parts`.
    pub fn of(parts: &Parts, trusted_proxies: &[crate::platform::net::Cidr]) -> Self {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Self("unknown".into());
        };
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        let address =
            crate::platform::net::client_address(peer.ip(), forwarded.into_iter(), trusted_proxies);
        Self(crate::platform::net::rate_limit_subject(address))
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.services.config.trusted_proxies))
    }
}

/// The `Set-Cookie` value of a session cookie (`Secure` when the public URL is https).
pub fn session_cookie(token: &str, max_age: i64, public_url: &str) -> String {
    let secure = if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.max(0)
    )
}
