//! OAuth client credentials with `private_key_jwt` (RFC 6749 section 4.4, RFC 7521, RFC 7523)
//! for relying parties: the operator's backend signs a client assertion with its
//! access-certificate key and gets a Bearer token of scope `telecom`.
//!
//! The assertion is a JWS (ES256) whose header carries `x5c`: its leaf must be exactly the
//! access certificate the party was registered with (so a key the agency did not certify for
//! this party cannot sign), and the leaf (followed by the relying-party CA or by nothing) must
//! chain to the registry's relying-party CA, the anchor of relying parties (ADR 0006), and be
//! valid now; a certificate the agency root issued for another purpose never passes. Its
//! claims: `iss` = `sub` = the client id, `aud` = the token endpoint's URL (or the issuer
//! identifier), `exp` no further ahead than configured, and a `jti` used once (kept until
//! `exp`, one atomic insert, so two concurrent requests with one assertion cannot both
//! succeed). Errors are OAuth's
//! (RFC 6749 section 5.2): a bad assertion or unknown, revoked client is `invalid_client` (401).

use dinhdanh_sdk::{
    jose::{JwsHeader, PublicKey, UnverifiedJws},
    x509::{self, ChainPolicy},
};
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SCOPE;
use crate::{
    domain::{Services, audit, issuance::OauthError},
    platform::secrets,
    store::{OperatorToken, RelyingPartyKind, RelyingPartyRow},
};

/// `grant_type` of the client credentials grant.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest `jti` accepted.
const MAX_JTI: usize = 256;

/// Longest client assertion accepted (a certificate chain of a few certificates fits).
const MAX_ASSERTION: usize = 16 * 1024;

/// The form of a client credentials token request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientCredentialsRequest {
    /// `client_credentials`.
    pub grant_type: Option<String>,
    /// `telecom`.
    pub scope: Option<String>,
    /// The client id (`x509_san_dns:<host>`).
    pub client_id: Option<String>,
    /// [`JWT_BEARER`].
    pub client_assertion_type: Option<String>,
    /// The signed client assertion.
    pub client_assertion: Option<String>,
}

/// The token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OperatorTokenResponse {
    /// The access token (opaque).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// `telecom`.
    pub scope: &'static str,
}

/// The claims of a client assertion that are checked.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

fn invalid_client(message: &str) -> OauthError {
    OauthError::InvalidClient(message.to_owned())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OauthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OauthError::InvalidRequest(format!("{name} is required")))
}

/// Handles a client credentials token request: authenticates the client by its assertion and
/// issues a Bearer token of scope `telecom` (stored as its digest, audited).
pub async fn token(
    services: &Services,
    request: &ClientCredentialsRequest,
) -> Result<OperatorTokenResponse, OauthError> {
    if request.grant_type.as_deref() != Some(CLIENT_CREDENTIALS) {
        return Err(OauthError::UnsupportedGrantType);
    }
    let client_id = required(&request.client_id, "client_id")?;
    let assertion_type = required(&request.client_assertion_type, "client_assertion_type")?;
    if assertion_type != JWT_BEARER {
        return Err(invalid_client(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let assertion = required(&request.client_assertion, "client_assertion")?;
    let scope = required(&request.scope, "scope")?;
    let party = authenticate_client(services, client_id, assertion).await?;
    // Only `telecom` is granted, and only to operators.
    let mut scopes = scope.split(' ').filter(|s| !s.is_empty());
    if scopes.next() != Some(SCOPE) || scopes.next().is_some() {
        return Err(OauthError::InvalidScope(
            "the only scope granted is telecom".into(),
        ));
    }
    if party.kind != RelyingPartyKind::Telecom {
        return Err(OauthError::InvalidScope(
            "scope telecom is granted to telecom operators only".into(),
        ));
    }
    let now = crate::platform::clock::now();
    let ttl = services.config.telecom.token_ttl_seconds;
    let access_token = secrets::token();
    let row = OperatorToken {
        token_hash: secrets::token_hash(&access_token),
        rp_id: party.id.clone(),
        scope: SCOPE.to_owned(),
        created_at: now,
        expires_at: now + ttl,
    };
    let event = audit::event(
        &super::actor(&party),
        "telecom.token.issued",
        &party.id,
        json!({ "scope": SCOPE, "expires_at": row.expires_at }),
    );
    services.store.insert_operator_token(&row, &event).await?;
    Ok(OperatorTokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: SCOPE,
    })
}

/// Authenticates a relying party by a client assertion (RFC 7523 section 3): the party, when
/// the assertion is its own, valid now, and used for the first time.
pub async fn authenticate_client(
    services: &Services,
    client_id: &str,
    assertion: &str,
) -> Result<RelyingPartyRow, OauthError> {
    if assertion.len() > MAX_ASSERTION {
        return Err(invalid_client("the client assertion is too large"));
    }
    let party = services
        .store
        .relying_party_by_client_id(client_id)
        .await?
        .filter(|party| party.revoked_at.is_none())
        .ok_or_else(|| invalid_client("unknown or revoked client"))?;
    let jws = UnverifiedJws::parse(assertion)
        .map_err(|_| invalid_client("the client assertion is not an ES256 JWS"))?;
    let key = certified_key(services, jws.header(), &party)?;
    let verified = jws
        .verify(&key)
        .map_err(|_| invalid_client("the client assertion's signature does not verify"))?;
    let claims: AssertionClaims = serde_json::from_slice(&verified.payload)
        .map_err(|_| invalid_client("the client assertion's claims are malformed"))?;
    let now = crate::platform::clock::now();
    let exp = check_claims(services, &claims, client_id, now)?;
    let jti = claims.jti.as_deref().unwrap_or_default();
    // Single use, kept until the assertion expires (one atomic insert: race-safe).
    let skew = services.config.telecom.clock_skew_seconds;
    let digest = assertion_digest(client_id, jti);
    if !services.store.use_once(&digest, exp + skew).await? {
        return Err(invalid_client("the client assertion was used before"));
    }
    Ok(party)
}

/// The key that signed the assertion: the registered access certificate's, when the header's
/// `x5c` leaf is that certificate and it chains to the relying-party CA (the leaf alone, or the
/// leaf then the CA itself).
fn certified_key(
    services: &Services,
    header: &JwsHeader,
    party: &RelyingPartyRow,
) -> Result<PublicKey, OauthError> {
    let x5c = header
        .x5c
        .as_deref()
        .ok_or_else(|| invalid_client("the client assertion has no x5c header"))?;
    let chain = x509::x5c_to_der_chain(x5c)
        .map_err(|_| invalid_client("the client assertion's x5c is malformed"))?;
    if chain.first().map(Vec::as_slice) != Some(party.certificate.as_slice()) {
        return Err(invalid_client(
            "the x5c leaf is not the client's registered access certificate",
        ));
    }
    // The registry's CA is the anchor; whatever else the client sends is not trusted.
    if chain.len() > 2
        || chain
            .get(1)
            .is_some_and(|ca| ca.as_slice() != services.rp.ca_der())
    {
        return Err(invalid_client(
            "the x5c must be the access certificate, optionally followed by the relying-party CA",
        ));
    }
    let anchor = services
        .rp
        .anchor()
        .map_err(|_| invalid_client("no trust anchor for access certificates"))?;
    let now = crate::platform::clock::now().max(0) as u64;
    let validated = x509::validate_chain(
        &chain,
        &[anchor],
        &ChainPolicy::at(now).require_digital_signature(),
    )
    .map_err(|error| {
        invalid_client(&format!(
            "the access certificate chain is not valid: {error}"
        ))
    })?;
    let sec1 = validated
        .leaf_public_key_sec1()
        .ok_or_else(|| invalid_client("the access certificate's key is not P-256"))?;
    PublicKey::from_sec1(sec1).map_err(|_| invalid_client("the access certificate's key"))
}

/// Checks `iss`, `sub`, `aud`, `exp`, `nbf`, `iat` and the presence of `jti`; returns `exp`.
fn check_claims(
    services: &Services,
    claims: &AssertionClaims,
    client_id: &str,
    now: i64,
) -> Result<i64, OauthError> {
    let settings = &services.config.telecom;
    let skew = settings.clock_skew_seconds;
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(invalid_client(
            "the client assertion's iss and sub must be the client id",
        ));
    }
    let token_endpoint = format!("{}/token", services.public_url);
    let audience_ok = |value: &Value| {
        value
            .as_str()
            .is_some_and(|aud| aud == token_endpoint || aud == services.public_url)
    };
    let aud_ok = match &claims.aud {
        Some(Value::Array(values)) => values.iter().any(audience_ok),
        Some(value) => audience_ok(value),
        None => false,
    };
    if !aud_ok {
        return Err(invalid_client(
            "the client assertion's aud must be the token endpoint",
        ));
    }
    let exp = claims
        .exp
        .ok_or_else(|| invalid_client("the client assertion has no exp"))?;
    if exp + skew <= now {
        return Err(invalid_client("the client assertion has expired"));
    }
    if exp > now + settings.assertion_max_lifetime_seconds + skew {
        return Err(invalid_client(&format!(
            "the client assertion may live at most {} s",
            settings.assertion_max_lifetime_seconds
        )));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + skew) {
        return Err(invalid_client("the client assertion is not valid yet"));
    }
    if claims.iat.is_some_and(|iat| iat > now + skew) {
        return Err(invalid_client(
            "the client assertion is issued in the future",
        ));
    }
    match claims.jti.as_deref() {
        Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI => Ok(exp),
        _ => Err(invalid_client(
            "the client assertion needs a jti (at most 256 characters)",
        )),
    }
}

/// The digest a used assertion is remembered by: its client and `jti`.
fn assertion_digest(client_id: &str, jti: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"client-assertion\0");
    context.update(client_id.as_bytes());
    context.update(b"\0");
    context.update(jti.as_bytes());
    context.finish().as_ref().to_vec()
}
