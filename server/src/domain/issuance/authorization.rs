//! The authorization code flow of OpenID4VCI (HAIP profile): pushed authorization requests
//! (RFC 9126) with PKCE S256 (RFC 7636), an authorization step that is the citizen's passkey
//! sign-in on the portal, and DPoP-bound codes and tokens (RFC 9449).

use dinhdanh_sdk::{
    openid4vci::{self, dpop::VerifiedDpop},
    vc::CredentialKind,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{AccessGrant, OauthError, TokenResponse, access_token};
use crate::{
    Services,
    domain::audit,
    domain::sessions::Principal,
    platform::config::WalletClient,
    platform::secrets,
    store::{AssuranceLevel, AuthorizationRequest, ConfigurationIds, StoreError},
};

/// The prefix of `request_uri` values (RFC 9126 section 2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the citizen.
const REQUEST_TTL: i64 = 300;
/// How long an authorization code lives.
const CODE_TTL: i64 = 60;

/// A pushed authorization request (form fields).
#[derive(Debug, Default, Deserialize)]
pub struct PushedRequest {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The wallet's client id.
    pub client_id: Option<String>,
    /// Where the code goes.
    pub redirect_uri: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
    /// Space-separated credential configuration ids (each configuration's `scope`).
    pub scope: Option<String>,
    /// Or: `[{"type": "openid_credential", "credential_configuration_id": ...}]`.
    pub authorization_details: Option<String>,
    /// Returned unchanged with the code.
    pub state: Option<String>,
    /// From a credential offer's authorization code grant (accepted, not required).
    pub issuer_state: Option<String>,
}

/// The answer to a pushed request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PushedResponse {
    /// `urn:ietf:params:oauth:request_uri:...`, for the authorization endpoint.
    pub request_uri: String,
    /// Seconds.
    pub expires_in: i64,
}

fn text(value: &Option<String>, name: &str) -> Result<String, OauthError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() && v.len() <= 2048 => Ok(v.to_owned()),
        Some(v) if !v.is_empty() => Err(OauthError::InvalidRequest(format!("{name} is too long"))),
        _ => Err(OauthError::InvalidRequest(format!("{name} is required"))),
    }
}

/// The registered wallet a request names, and the redirect URI it asks for if that is exactly one
/// of the wallet's registered URIs. An unknown client is `invalid_client` (RFC 6749 section 5.2,
/// RFC 9126 section 2.3); any other redirect URI is `invalid_request`, and nothing is ever sent
/// to it. The comparison is byte for byte (RFC 9700 section 4.1.3): no normalisation of case,
/// trailing slashes or query, which would let a look-alike URI through.
pub fn registered_client<'a>(
    services: &'a Services,
    client_id: Option<&str>,
) -> Result<&'a WalletClient, OauthError> {
    let client_id = client_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OauthError::InvalidRequest("client_id is required".into()))?;
    services
        .config
        .wallet_client(client_id)
        .ok_or_else(|| OauthError::InvalidClient("the client is not registered".into()))
}

fn registered_redirect_uri(client: &WalletClient, uri: Option<&str>) -> Result<String, OauthError> {
    let uri = uri
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OauthError::InvalidRequest("redirect_uri is required".into()))?;
    if !client
        .redirect_uris
        .iter()
        .any(|registered| registered == uri)
    {
        return Err(OauthError::InvalidRequest(
            "redirect_uri is not registered for this client".into(),
        ));
    }
    Ok(uri.to_owned())
}

/// The configurations a request asks for (`scope`, or `authorization_details` of type
/// `openid_credential`).
fn requested_configurations(request: &PushedRequest) -> Result<Vec<String>, OauthError> {
    let mut ids: Vec<String> = Vec::new();
    if let Some(scope) = &request.scope {
        ids.extend(scope.split_whitespace().map(str::to_owned));
    }
    if let Some(details) = &request.authorization_details {
        let details: Vec<serde_json::Value> = serde_json::from_str(details).map_err(|_| {
            OauthError::InvalidRequest("authorization_details is not a JSON array".into())
        })?;
        for detail in details {
            if detail["type"] != "openid_credential" {
                return Err(OauthError::InvalidRequest(
                    "authorization_details: only openid_credential is supported".into(),
                ));
            }
            let id = detail["credential_configuration_id"]
                .as_str()
                .ok_or_else(|| {
                    OauthError::InvalidRequest(
                        "authorization_details: credential_configuration_id is required".into(),
                    )
                })?;
            ids.push(id.to_owned());
        }
    }
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(OauthError::InvalidScope(
            "no credential configuration requested".into(),
        ));
    }
    if let Some(unknown) = ids.iter().find(|id| CredentialKind::from_id(id).is_none()) {
        return Err(OauthError::InvalidScope(format!(
            "{unknown:?} is not offered"
        )));
    }
    Ok(ids)
}

/// Stores a pushed authorization request; a DPoP proof binds the code to its key.
pub async fn push(
    services: &Services,
    request: &PushedRequest,
    dpop: Option<&VerifiedDpop>,
) -> Result<PushedResponse, OauthError> {
    // The client and its redirect URI first: an unknown client learns nothing more.
    let client = registered_client(services, request.client_id.as_deref())?;
    let redirect_uri = registered_redirect_uri(client, request.redirect_uri.as_deref())?;
    if request.response_type.as_deref() != Some("code") {
        return Err(OauthError::InvalidRequest(
            "response_type must be code".into(),
        ));
    }
    let code_challenge = text(&request.code_challenge, "code_challenge")?;
    if request.code_challenge_method.as_deref() != Some("S256") {
        return Err(OauthError::InvalidRequest(
            "code_challenge_method must be S256".into(),
        ));
    }
    if code_challenge.len() != 43 || jose_b64(&code_challenge).is_none() {
        return Err(OauthError::InvalidRequest(
            "code_challenge is not an S256 challenge".into(),
        ));
    }
    let ids = requested_configurations(request)?;
    if let Some(state) = &request.state
        && state.len() > 512
    {
        return Err(OauthError::InvalidRequest("state is too long".into()));
    }
    let now = crate::platform::clock::now();
    let handle = secrets::token();
    let stored = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        code_challenge,
        dpop_jkt: dpop.map(|p| p.jkt.clone()),
        configuration_ids: ConfigurationIds(ids),
        state: request.state.clone(),
        created_at: now,
        expires_at: now + REQUEST_TTL,
        account_id: None,
    };
    services
        .store
        .insert_authorization_request(&secrets::token_hash(&handle), &stored)
        .await?;
    Ok(PushedResponse {
        request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
        expires_in: REQUEST_TTL,
    })
}

fn jose_b64(text: &str) -> Option<Vec<u8>> {
    dinhdanh_sdk::jose::b64::decode(text).ok()
}

/// The handle in a `request_uri`.
pub fn handle_of(request_uri: &str) -> Option<&str> {
    request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|h| !h.is_empty() && h.len() <= 64)
}

/// A pushed request waiting for approval, with its registered client, for the authorization
/// page (`client_id` must be a registered client, the one that pushed it).
pub async fn pending<'a>(
    services: &'a Services,
    handle: &str,
    client_id: Option<&str>,
) -> Result<(&'a WalletClient, AuthorizationRequest), OauthError> {
    let client = registered_client(services, client_id)?;
    let request = services
        .store
        .authorization_request(&secrets::token_hash(handle), crate::platform::clock::now())
        .await?
        .ok_or_else(|| {
            OauthError::InvalidRequest("the request_uri is unknown, used or expired".into())
        })?;
    if request.client_id != client.client_id {
        return Err(OauthError::InvalidRequest(
            "client_id does not match the pushed request".into(),
        ));
    }
    Ok((client, request))
}

/// Why the citizen's approval was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The request is unknown, used or expired.
    #[error("the authorization request is unknown, used or expired")]
    Unknown,
    /// The session was not opened by a passkey sign-in after the request.
    #[error("sign in with your passkey to approve this request")]
    SignInRequired,
    /// The account is below level 2 or closed.
    #[error("credentials are issued to level-2 accounts only")]
    BelowLevel2,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The citizen approves a pushed request: the passkey sign-in of `principal` must have happened
/// after the request was pushed. Returns the URI to send the browser to (the redirect URI with
/// `code`, `state` and `iss`).
pub async fn approve(
    services: &Services,
    principal: &Principal,
    handle: &str,
) -> Result<String, ApprovalError> {
    let now = crate::platform::clock::now();
    let handle_hash = secrets::token_hash(handle);
    let request = services
        .store
        .authorization_request(&handle_hash, now)
        .await?
        .ok_or(ApprovalError::Unknown)?;
    // The registration may have changed since the request was pushed: the code goes only to a
    // redirect URI registered now.
    let still_registered = services
        .config
        .wallet_client(&request.client_id)
        .is_some_and(|c| c.redirect_uris.contains(&request.redirect_uri));
    if !still_registered {
        return Err(ApprovalError::Unknown);
    }
    if principal.session.created_at < request.created_at {
        return Err(ApprovalError::SignInRequired);
    }
    let account = services
        .store
        .issuance_account(&principal.account.id)
        .await?
        .ok_or(ApprovalError::BelowLevel2)?;
    if account.assurance_level < AssuranceLevel::Two || account.closed_at.is_some() {
        return Err(ApprovalError::BelowLevel2);
    }
    let code = secrets::token();
    let event = audit::event(
        &account.id,
        "authorization.approved",
        &account.id,
        // The entry keeps the form earlier entries have: the list as its JSON text, a string.
        json!({
            "client_id": request.client_id,
            "configurations": request.configuration_ids.to_text(),
        }),
    );
    if !services
        .store
        .approve_authorization(
            &handle_hash,
            &account.id,
            &secrets::token_hash(&code),
            now + CODE_TTL,
            &event,
        )
        .await?
    {
        return Err(ApprovalError::Unknown);
    }
    let encode = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
    let mut target = request.redirect_uri.clone();
    target.push(if target.contains('?') { '&' } else { '?' });
    target.push_str(&format!("code={}", encode(&code)));
    if let Some(state) = &request.state {
        target.push_str(&format!("&state={}", encode(state)));
    }
    target.push_str(&format!("&iss={}", encode(&services.public_url)));
    Ok(target)
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, OauthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OauthError::InvalidRequest(format!("{name} is required")))
}

/// The authorization code grant: PKCE, the redirect URI and client id of the pushed request,
/// and a DPoP proof (with the key the request was bound to, when it was).
pub async fn token(
    services: &Services,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    client_id: Option<&str>,
    dpop: Option<&VerifiedDpop>,
) -> Result<TokenResponse, OauthError> {
    let code = required(code, "code")?;
    let redirect_uri = required(redirect_uri, "redirect_uri")?;
    let verifier = required(code_verifier, "code_verifier")?;
    let client_id = required(client_id, "client_id")?;
    let dpop = dpop.ok_or_else(|| {
        OauthError::InvalidDpopProof("the authorization code flow requires a DPoP proof".into())
    })?;
    if !openid4vci::pkce_verifier_is_valid(verifier) {
        return Err(OauthError::InvalidGrant(
            "code_verifier is malformed".into(),
        ));
    }
    let now = crate::platform::clock::now();
    let invalid = || OauthError::InvalidGrant("the code is invalid, used or expired".into());
    // Redeemed first (single use even when a check below fails: a code tried wrongly is burnt).
    let request = services
        .store
        .redeem_authorization_code(&secrets::token_hash(code), now)
        .await?
        .ok_or_else(invalid)?;
    if !secrets::equal(
        openid4vci::pkce_challenge(verifier).as_bytes(),
        request.code_challenge.as_bytes(),
    ) {
        return Err(OauthError::InvalidGrant(
            "code_verifier does not match".into(),
        ));
    }
    if request.redirect_uri != redirect_uri || request.client_id != client_id {
        return Err(OauthError::InvalidGrant(
            "redirect_uri or client_id differ from the authorization request".into(),
        ));
    }
    if let Some(bound) = &request.dpop_jkt
        && *bound != dpop.jkt
    {
        return Err(OauthError::InvalidDpopProof(
            "the DPoP key is not the one the request was bound to".into(),
        ));
    }
    let account_id = request.account_id.ok_or_else(invalid)?;
    let configuration_ids = request.configuration_ids.0;
    let ttl = services.config.issuance.token_ttl_seconds;
    let grant = AccessGrant {
        account_id,
        configuration_ids,
        jkt: Some(dpop.jkt.clone()),
        expires_at: now + ttl,
        random: secrets::token(),
    };
    Ok(TokenResponse {
        access_token: access_token(services, &grant),
        token_type: "DPoP",
        expires_in: ttl,
    })
}
