//! Credential issuance over OpenID4VCI 1.0: offers (pre-authorized code with a transaction
//! code), the token endpoint (Bearer or DPoP-bound tokens), `c_nonce`s, and the credential
//! endpoint with `proofs.jwt` and batch issuance. No HTTP types: the routes translate.
//!
//! State: offers live in the database (single use, attempt-limited). Access tokens and nonces
//! are self-contained and authenticated with the server key (no database read to check them);
//! their single use is enforced where it matters, when the credential request commits: each
//! nonce, DPoP proof and the token (one credential request per configuration it grants) is
//! recorded as used in the transaction that records the copies issued.

pub mod authorization;
pub mod claims;
pub mod dpop;
mod error;
pub mod lifecycle;

use dinhdanh_sdk::{
    jose::{self, b64},
    openid4vci::{
        self, PRE_AUTHORIZED_GRANT,
        dpop::VerifiedDpop,
        offer::CredentialOffer,
        proof::{self, ProofExpectation},
    },
    sdjwt::ClaimPath,
    status_list::StatusReference,
    vc::{self, CredentialKind, VcIssuance},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::claims::{ClaimsError, Date};
pub use self::error::OauthError;
use crate::{
    Services,
    domain::audit,
    domain::status,
    platform::secrets,
    store::{
        Account, AssuranceLevel, ConfigurationIds, CredentialRecord, CredentialStatus, DeviceKey,
        Issuance, IssuanceAccount, Offer, StoreError,
    },
};

/// Length of transaction codes (digits).
pub const TX_CODE_LENGTH: u32 = 6;

/// Why an offer could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// No citizen account for that ID number or account id.
    #[error("no citizen account")]
    NoAccount,
    /// The account is below level 2.
    #[error("credentials are issued to level-2 accounts only")]
    BelowLevel2,
    /// The account is closed.
    #[error("the account is closed")]
    Closed,
    /// Not a credential configuration of this issuer.
    #[error("unknown credential configuration {0:?}")]
    UnknownConfiguration(String),
    /// The registry holds no document of that kind for the citizen.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An offer just made: what the citizen's wallet scans and the code they type.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedOffer {
    /// `openid-credential-offer://?credential_offer=...`.
    pub offer_uri: String,
    /// The transaction code, sent to the citizen by another channel (or shown once).
    pub tx_code: String,
    /// The offer's configurations.
    pub credential_configuration_ids: Vec<String>,
    /// RFC 3339.
    pub expires_at: String,
}

/// The kinds named by configuration ids (each a [`CredentialKind::id`]).
pub fn kinds_of(configuration_ids: &[String]) -> Result<Vec<CredentialKind>, OfferError> {
    configuration_ids
        .iter()
        .map(|id| {
            CredentialKind::from_id(id).ok_or_else(|| OfferError::UnknownConfiguration(id.clone()))
        })
        .collect()
}

/// Checks that an account may receive `kinds` now: an open level-2 citizen account whose
/// registry data makes each kind's claims.
async fn check_eligible(
    services: &Services,
    account_id: &str,
    kinds: &[CredentialKind],
) -> Result<IssuanceAccount, OfferError> {
    let account = services
        .store
        .issuance_account(account_id)
        .await?
        .ok_or(OfferError::NoAccount)?;
    if account.closed_at.is_some() {
        return Err(OfferError::Closed);
    }
    if account.assurance_level < AssuranceLevel::Two {
        return Err(OfferError::BelowLevel2);
    }
    let documents = services
        .store
        .registry_documents(&account.citizen.id_number)
        .await?;
    let today = Date::of_unix(crate::platform::clock::now());
    for kind in kinds {
        let document = documents
            .iter()
            .find(|d| d.kind == kind.id())
            .map(|d| d.claims.as_str());
        claims::claims(*kind, &account.citizen, document, today, today)?;
    }
    Ok(account)
}

/// Makes a pre-authorized offer of `configuration_ids` for an account, with a transaction code.
/// `actor` is who asks (the citizen, an officer, or the operator); `reason` is recorded.
pub async fn create_offer(
    services: &Services,
    account_id: &str,
    configuration_ids: &[String],
    actor: &str,
    reason: &str,
) -> Result<CreatedOffer, OfferError> {
    let mut ids = configuration_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(OfferError::UnknownConfiguration(String::new()));
    }
    let kinds = kinds_of(&ids)?;
    check_eligible(services, account_id, &kinds).await?;
    let now = crate::platform::clock::now();
    let code = secrets::token();
    let tx_code = secrets::six_digit_code();
    let offer = Offer {
        id: secrets::id(),
        account_id: account_id.to_owned(),
        configuration_ids: ConfigurationIds(ids.clone()),
        code_hash: Some(secrets::token_hash(&code)),
        tx_code_hash: Some(tx_code_mac(services, &code, &tx_code)),
        attempts: 0,
        reason: reason.to_owned(),
        created_by: actor.to_owned(),
        created_at: now,
        expires_at: now + services.config.issuance.offer_ttl_seconds,
        redeemed_at: None,
    };
    let event = audit::event(
        actor,
        "offer.created",
        account_id,
        json!({ "offer": offer.id, "configurations": ids, "reason": reason }),
    );
    services.store.insert_offer(&offer, &event).await?;
    Ok(created(services, &offer, ids, code, &tx_code))
}

fn created(
    services: &Services,
    offer: &Offer,
    ids: Vec<String>,
    code: String,
    tx_code: &str,
) -> CreatedOffer {
    let uri = CredentialOffer::pre_authorized(
        services.public_url.clone(),
        ids.clone(),
        code,
        Some(TX_CODE_LENGTH),
        Some("Mã giao dịch gồm 6 chữ số / the 6-digit transaction code".into()),
    )
    .to_uri();
    CreatedOffer {
        offer_uri: uri,
        tx_code: tx_code.to_owned(),
        credential_configuration_ids: ids,
        expires_at: crate::platform::clock::rfc3339(offer.expires_at),
    }
}

/// Collects the offers a lifecycle event left for a signed-in citizen: each gets its codes now
/// (shown once, over the citizen's authenticated session).
pub async fn collect_pending_offers(
    services: &Services,
    account: &Account,
) -> Result<Vec<CreatedOffer>, OfferError> {
    let now = crate::platform::clock::now();
    let mut out = Vec::new();
    for offer in services.store.pending_offers(&account.id, now).await? {
        let ids = offer.configuration_ids.0.clone();
        let code = secrets::token();
        let tx_code = secrets::six_digit_code();
        let expires_at = now + services.config.issuance.offer_ttl_seconds;
        let activated = services
            .store
            .activate_offer(
                &offer.id,
                &secrets::token_hash(&code),
                Some(&tx_code_mac(services, &code, &tx_code)),
                expires_at,
            )
            .await?;
        if activated {
            let offer = Offer {
                expires_at,
                ..offer
            };
            out.push(created(services, &offer, ids, code, &tx_code));
        }
    }
    Ok(out)
}

/// The transaction code is kept as an HMAC bound to its offer's code: 10^6 codes are too few
/// for a plain digest.
fn tx_code_mac(services: &Services, code: &str, tx_code: &str) -> Vec<u8> {
    services
        .key
        .mac("offer-tx-code", &[code.as_bytes(), tx_code.as_bytes()])
}

// --- Token endpoint --------------------------------------------------------------------------------

/// A token request (form fields of RFC 6749 section 4.1.3 and OpenID4VCI section 6.1).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    /// The grant type.
    pub grant_type: Option<String>,
    /// The pre-authorized code.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: Option<String>,
    /// The transaction code.
    pub tx_code: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier.
    pub code_verifier: Option<String>,
    /// The wallet's client id, or a relying party's (client credentials).
    pub client_id: Option<String>,
    /// The scope requested (client credentials: `telecom`).
    pub scope: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (client credentials).
    pub client_assertion_type: Option<String>,
    /// A relying party's signed client assertion (client credentials, RFC 7523).
    pub client_assertion: Option<String>,
}

/// A token response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`, or `DPoP` when bound to a DPoP key.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
}

/// What an access token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrant {
    /// The account.
    #[serde(rename = "a")]
    pub account_id: String,
    /// The credential configurations it may obtain.
    #[serde(rename = "c")]
    pub configuration_ids: Vec<String>,
    /// The DPoP key thumbprint it is bound to.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// Random, so no two tokens are equal.
    #[serde(rename = "r")]
    pub random: String,
}

const TOKEN_PREFIX: &str = "dd1.";

fn seal(services: &Services, purpose: &str, payload: &[u8]) -> String {
    let body = b64::encode(payload);
    let mac = services.key.mac(purpose, &[body.as_bytes()]);
    format!("{body}.{}", b64::encode(&mac[..16]))
}

fn open(services: &Services, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
    let (body, mac) = sealed.split_once('.')?;
    let mac = b64::decode(mac).ok()?;
    let expected = services.key.mac(purpose, &[body.as_bytes()]);
    if !secrets::equal(&mac, &expected[..16]) {
        return None;
    }
    b64::decode(body).ok()
}

/// Makes an access token for `grant`.
pub fn access_token(services: &Services, grant: &AccessGrant) -> String {
    let payload = serde_json::to_vec(grant).unwrap_or_default();
    format!("{TOKEN_PREFIX}{}", seal(services, "access-token", &payload))
}

/// Checks an access token (its MAC and expiry) and returns its grant.
pub fn check_access_token(
    services: &Services,
    token: &str,
    now: i64,
) -> Result<AccessGrant, OauthError> {
    let invalid = || OauthError::InvalidToken("the access token is invalid or expired".into());
    let sealed = token.strip_prefix(TOKEN_PREFIX).ok_or_else(invalid)?;
    let payload = open(services, "access-token", sealed).ok_or_else(invalid)?;
    let grant: AccessGrant = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if grant.expires_at <= now {
        return Err(invalid());
    }
    Ok(grant)
}

/// The digest an access token's credential request for `configuration` is remembered by. A
/// token makes one credential request per configuration it grants (a batch of up to
/// `batch_size` copies), so it cannot be spent on copy after copy during its lifetime; one per
/// configuration because an offer of several configurations is collected with one token.
fn grant_digest(grant: &AccessGrant, configuration: &str) -> Vec<u8> {
    secrets::token_hash(&format!(
        "access-token\u{0}{}\u{0}{configuration}",
        grant.random
    ))
}

/// The digest a used DPoP proof is remembered by.
fn dpop_digest(proof: &VerifiedDpop) -> Vec<u8> {
    secrets::token_hash(&format!("dpop\u{0}{}\u{0}{}", proof.jkt, proof.jti))
}

/// The pre-authorized code grant: redeems the offer (checking its transaction code) and returns
/// an access token, DPoP-bound when `dpop` is a checked proof.
pub async fn token(
    services: &Services,
    request: &TokenRequest,
    dpop: Option<&VerifiedDpop>,
) -> Result<TokenResponse, OauthError> {
    let grant_type = request
        .grant_type
        .as_deref()
        .ok_or_else(|| OauthError::InvalidRequest("grant_type is required".into()))?;
    if grant_type == openid4vci::AUTHORIZATION_CODE_GRANT {
        // The DPoP proof's single use, as for the pre-authorized grant.
        if let Some(proof) = dpop
            && !services
                .store
                .use_once(
                    &dpop_digest(proof),
                    crate::platform::clock::now()
                        + services.config.issuance.proof_max_age_seconds * 2,
                )
                .await?
        {
            return Err(OauthError::InvalidDpopProof(
                "the DPoP proof was used before".into(),
            ));
        }
        return authorization::token(
            services,
            request.code.as_deref(),
            request.redirect_uri.as_deref(),
            request.code_verifier.as_deref(),
            request.client_id.as_deref(),
            dpop,
        )
        .await;
    }
    if grant_type != PRE_AUTHORIZED_GRANT {
        return Err(OauthError::UnsupportedGrantType);
    }
    let code = request
        .pre_authorized_code
        .as_deref()
        .ok_or_else(|| OauthError::InvalidRequest("pre-authorized_code is required".into()))?;
    let now = crate::platform::clock::now();
    let invalid =
        || OauthError::InvalidGrant("the pre-authorized code is invalid, used or expired".into());
    let code_hash = secrets::token_hash(code);
    let max_attempts = services.config.issuance.tx_code_attempts;
    let offer = match request.tx_code.as_deref() {
        // Counted before it is compared (one statement): concurrent guesses cannot together
        // exceed the offer's attempts.
        Some(given) => {
            let offer = services
                .store
                .tx_code_attempt(&code_hash, now, max_attempts)
                .await?
                .ok_or_else(invalid)?;
            let Some(expected) = &offer.tx_code_hash else {
                return Err(OauthError::InvalidGrant("this offer has no tx_code".into()));
            };
            if !secrets::equal(expected, &tx_code_mac(services, code, given)) {
                if offer.attempts >= max_attempts {
                    let event = audit::event(
                        "anonymous",
                        "offer.locked",
                        &offer.account_id,
                        json!({ "offer": offer.id, "attempts": offer.attempts }),
                    );
                    services.store.end_offer(&offer.id, now, &event).await?;
                }
                return Err(OauthError::InvalidGrant("wrong tx_code".into()));
            }
            offer
        }
        None => {
            let offer = services
                .store
                .offer_by_code(&code_hash, now)
                .await?
                .ok_or_else(invalid)?;
            if offer.tx_code_hash.is_some() {
                return Err(OauthError::InvalidRequest("tx_code is required".into()));
            }
            offer
        }
    };
    if let Some(proof) = dpop
        && !services
            .store
            .use_once(
                &dpop_digest(proof),
                now + services.config.issuance.proof_max_age_seconds * 2,
            )
            .await?
    {
        return Err(OauthError::InvalidDpopProof(
            "the DPoP proof was used before".into(),
        ));
    }
    let event = audit::event(
        &offer.account_id,
        "offer.redeemed",
        &offer.account_id,
        json!({ "offer": offer.id, "dpop": dpop.is_some() }),
    );
    if !services.store.redeem_offer(&offer.id, now, &event).await? {
        return Err(invalid());
    }
    let configuration_ids = offer.configuration_ids.0;
    let ttl = services.config.issuance.token_ttl_seconds;
    let grant = AccessGrant {
        account_id: offer.account_id,
        configuration_ids,
        jkt: dpop.map(|p| p.jkt.clone()),
        expires_at: now + ttl,
        random: secrets::token(),
    };
    Ok(TokenResponse {
        access_token: access_token(services, &grant),
        token_type: if dpop.is_some() { "DPoP" } else { "Bearer" },
        expires_in: ttl,
    })
}

// --- Nonce endpoint --------------------------------------------------------------------------------

/// A fresh `c_nonce`: random, with its expiry, authenticated by the server key. No state is kept
/// until it is used.
pub fn nonce(services: &Services) -> String {
    let expires = crate::platform::clock::now() + services.config.issuance.nonce_ttl_seconds;
    let mut payload = Vec::with_capacity(24);
    payload.extend_from_slice(&expires.to_be_bytes());
    payload.extend_from_slice(&secrets::random_bytes::<16>());
    seal(services, "c-nonce", &payload)
}

/// Checks a nonce's authenticity and expiry; returns its expiry (its single use is checked when
/// the issuance is recorded).
fn check_nonce(services: &Services, nonce: &str, now: i64) -> Result<i64, OauthError> {
    let payload = open(services, "c-nonce", nonce)
        .ok_or_else(|| OauthError::InvalidNonce("the nonce was not issued here".into()))?;
    let expires = payload
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| OauthError::InvalidNonce("the nonce was not issued here".into()))?;
    if expires <= now {
        return Err(OauthError::InvalidNonce("the nonce expired".into()));
    }
    Ok(expires)
}

// --- Credential endpoint ----------------------------------------------------------------------------

/// A credential request (OpenID4VCI 1.0 section 8.2).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CredentialRequest {
    /// A configuration the token grants.
    pub credential_configuration_id: Option<String>,
    /// Not issued by this server.
    pub credential_identifier: Option<String>,
    /// Key proofs: `{"jwt": [..]}`, one per copy.
    pub proofs: Option<serde_json::Value>,
    /// The removed singular form, refused.
    pub proof: Option<serde_json::Value>,
    /// Response encryption, not offered by this issuer's metadata.
    pub credential_response_encryption: Option<serde_json::Value>,
}

/// The credentials issued.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialResponse {
    /// One per proof.
    pub credentials: Vec<IssuedCredential>,
}

/// One issued copy.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedCredential {
    /// The SD-JWT VC.
    pub credential: String,
}

/// Issues the copies a credential request asks for, to the account of `grant`.
pub async fn credential(
    services: &Services,
    grant: &AccessGrant,
    dpop: Option<&VerifiedDpop>,
    request: &CredentialRequest,
) -> Result<CredentialResponse, OauthError> {
    let now = crate::platform::clock::now();
    let settings = &services.config.issuance;
    if request.credential_identifier.is_some() {
        return Err(OauthError::UnknownCredentialIdentifier(
            "this issuer does not issue credential identifiers; use credential_configuration_id"
                .into(),
        ));
    }
    if request.credential_response_encryption.is_some() {
        return Err(OauthError::InvalidCredentialRequest(
            "credential response encryption is not offered".into(),
        ));
    }
    if request.proof.is_some() {
        return Err(OauthError::InvalidCredentialRequest(
            "use proofs, not proof".into(),
        ));
    }
    let configuration = request
        .credential_configuration_id
        .as_deref()
        .ok_or_else(|| {
            OauthError::InvalidCredentialRequest("credential_configuration_id is required".into())
        })?;
    let kind = CredentialKind::from_id(configuration).ok_or_else(|| {
        OauthError::UnknownCredentialConfiguration(format!("{configuration:?} is not offered"))
    })?;
    if !grant.configuration_ids.iter().any(|id| id == configuration) {
        return Err(OauthError::UnknownCredentialConfiguration(format!(
            "the access token does not grant {configuration:?}"
        )));
    }
    let jwts = proof_jwts(request.proofs.as_ref(), settings.batch_size as usize)?;
    // Each proof asks for one copy bound to its key: a proof (or a key) given twice would make
    // copies that are not the holder's to spend separately.
    let mut seen = std::collections::HashSet::with_capacity(jwts.len());
    if !jwts.iter().all(|jwt| seen.insert(jwt.as_str())) {
        return Err(OauthError::InvalidProof(
            "a key proof is repeated in proofs.jwt".into(),
        ));
    }

    // Every proof: signature, audience, freshness, and a nonce issued here and still valid.
    let expectation = ProofExpectation {
        issuer: &services.public_url,
        now: now.max(0) as u64,
        max_age: settings.proof_max_age_seconds.max(0) as u64,
        skew: settings.clock_skew_seconds.max(0) as u64,
    };
    let mut keys = Vec::with_capacity(jwts.len());
    let mut used: Vec<(Vec<u8>, i64)> = Vec::new();
    for jwt in &jwts {
        let verified = proof::verify(jwt, &expectation)?;
        let expires = check_nonce(services, &verified.nonce, now)?;
        let digest = secrets::token_hash(&format!("nonce\u{0}{}", verified.nonce));
        if !used.iter().any(|(d, _)| *d == digest) {
            used.push((digest, expires));
        }
        keys.push(verified.key);
    }
    let key_thumbprints: Vec<String> = keys.iter().map(jose::PublicKey::thumbprint).collect();
    let mut thumbprints_seen = std::collections::HashSet::with_capacity(keys.len());
    if !key_thumbprints.iter().all(|t| thumbprints_seen.insert(t)) {
        return Err(OauthError::InvalidProof(
            "two key proofs are for the same key".into(),
        ));
    }
    if let Some(proof) = dpop {
        used.push((dpop_digest(proof), now + settings.proof_max_age_seconds * 2));
    }

    // The account, now: still open, still level 2; the device its keys belong to (one read).
    let thumbprints = thumbprints(key_thumbprints, dpop);
    let grant_used = grant_digest(grant, configuration);
    let (account, devices, spent) = services
        .store
        .issuance_context(&grant.account_id, &thumbprints, &grant_used)
        .await?
        .ok_or_else(|| OauthError::CredentialRequestDenied("the account is gone".into()))?;
    // A spent token is refused before status positions are taken and credentials signed.
    if spent {
        return Err(spent_token());
    }
    // Tokens issued before a recovery or a closure act for the holder no longer (a grant
    // records its expiry; it was issued one token lifetime before).
    if grant.expires_at - settings.token_ttl_seconds < account.grants_not_before {
        return Err(OauthError::InvalidToken(
            "the access token was issued before the account was recovered".into(),
        ));
    }
    if account.closed_at.is_some() {
        return Err(OauthError::CredentialRequestDenied(
            "the account is closed".into(),
        ));
    }
    if account.assurance_level < AssuranceLevel::Two {
        return Err(OauthError::CredentialRequestDenied(
            "credentials are issued to level-2 accounts only".into(),
        ));
    }
    let device_id = bound_device(&account.id, &thumbprints, &devices)?;

    // The PID comes from the citizen record alone; other kinds from a registry document.
    let documents = match kind {
        CredentialKind::Pid => Vec::new(),
        _ => {
            services
                .store
                .registry_documents(&account.citizen.id_number)
                .await?
        }
    };
    let document = documents
        .iter()
        .find(|d| d.kind == kind.id())
        .map(|d| d.claims.as_str());
    let expires_at = now + settings.credential_ttl_days * 86_400;
    let claims = claims::claims(
        kind,
        &account.citizen,
        document,
        Date::of_unix(now),
        Date::of_unix(expires_at),
    )
    .map_err(|e| OauthError::CredentialRequestDenied(e.to_string()))?;
    let disclosable: Vec<ClaimPath> = kind.disclosable_paths(&claims);

    let positions = services
        .status
        .allocate(&services.store, &services.key, keys.len())
        .await?;
    let x5c = Some(services.issuer.x5c.clone());
    let mut credentials = Vec::with_capacity(keys.len());
    let mut records = Vec::with_capacity(keys.len());
    for (key, (list_id, idx)) in keys.iter().zip(positions) {
        let reference =
            StatusReference::new(status::list_uri(&services.public_url, list_id), idx as u64);
        let issuance = VcIssuance {
            vct: kind.vct(),
            iss: Some(&services.public_url),
            iat: now.max(0) as u64,
            exp: Some(expires_at.max(0) as u64),
            holder_key: Some(key),
            status: Some(&reference),
            x5c: x5c.clone(),
            ..VcIssuance::default()
        };
        let credential = vc::issue_vc(&services.issuer.signer, &issuance, &claims, &disclosable)
            .map_err(|e| OauthError::CredentialRequestDenied(format!("issuing: {e}")))?;
        credentials.push(IssuedCredential { credential });
        records.push(CredentialRecord {
            list_id,
            idx,
            account_id: account.id.clone(),
            kind: kind.id().to_owned(),
            device_id: device_id.clone(),
            status: CredentialStatus::Valid,
            issued_at: now,
            expires_at,
        });
    }
    let event = audit::event(
        &account.id,
        "credential.issued",
        &account.id,
        json!({ "kind": kind.id(), "copies": records.len(), "device": device_id }),
    );
    match services
        .store
        .record_issuance(
            &Issuance {
                used,
                grant: Some((grant_used, grant.expires_at)),
                credentials: records,
            },
            &event,
        )
        .await
    {
        Ok(()) => Ok(CredentialResponse { credentials }),
        Err(StoreError::GrantUsed) => Err(spent_token()),
        Err(StoreError::Conflict) => Err(OauthError::InvalidNonce(
            "the nonce (or DPoP proof) was used before".into(),
        )),
        Err(error) => Err(error.into()),
    }
}

fn spent_token() -> OauthError {
    OauthError::InvalidToken(
        "the access token was used for this credential configuration already".into(),
    )
}

/// The `proofs.jwt` array: 1 to `batch_size` strings.
fn proof_jwts(
    proofs: Option<&serde_json::Value>,
    batch_size: usize,
) -> Result<Vec<String>, OauthError> {
    let proofs = proofs
        .ok_or_else(|| OauthError::InvalidProof("proofs is required".into()))?
        .as_object()
        .ok_or_else(|| OauthError::InvalidCredentialRequest("proofs must be an object".into()))?;
    if proofs.len() != 1 {
        return Err(OauthError::InvalidCredentialRequest(
            "proofs must hold exactly one proof type (jwt)".into(),
        ));
    }
    let jwts = proofs
        .get("jwt")
        .ok_or_else(|| OauthError::InvalidProof("only jwt proofs are supported".into()))?
        .as_array()
        .ok_or_else(|| {
            OauthError::InvalidCredentialRequest("proofs.jwt must be an array".into())
        })?;
    if jwts.is_empty() || jwts.len() > batch_size {
        return Err(OauthError::InvalidCredentialRequest(format!(
            "proofs.jwt must hold 1 to {batch_size} proofs"
        )));
    }
    jwts.iter()
        .map(|jwt| {
            jwt.as_str()
                .map(str::to_owned)
                .ok_or_else(|| OauthError::InvalidProof("a proof is not a string".into()))
        })
        .collect()
}

/// The thumbprints of the request's keys and of its DPoP key, sorted, without repeats.
fn thumbprints(mut thumbprints: Vec<String>, dpop: Option<&VerifiedDpop>) -> Vec<String> {
    if let Some(proof) = dpop {
        thumbprints.push(proof.jkt.clone());
    }
    thumbprints.sort();
    thumbprints.dedup();
    thumbprints
}

/// The registered device the request's keys belong to, from the `devices` registered with one
/// of their `thumbprints`. A key of a revoked device, or of another account's device, refuses
/// the request; keys no device registered are allowed (batch copies use fresh keys) and the
/// copies are then bound to the device the DPoP key names, if any.
fn bound_device(
    account_id: &str,
    thumbprints: &[String],
    devices: &[DeviceKey],
) -> Result<Option<String>, OauthError> {
    let mut bound = None;
    for thumbprint in thumbprints {
        let rows: Vec<_> = devices
            .iter()
            .filter(|d| &d.thumbprint == thumbprint)
            .collect();
        let Some(first) = rows.first() else {
            continue;
        };
        // A key registered again after a revocation has an active row besides the revoked one.
        let active = rows.iter().find(|d| d.revoked_at.is_none());
        match active {
            Some(device) if device.account_id == account_id => {
                bound.get_or_insert_with(|| device.id.clone());
            }
            Some(_) => {
                return Err(OauthError::CredentialRequestDenied(
                    "a key belongs to another account's device".into(),
                ));
            }
            None if first.account_id == account_id => {
                return Err(OauthError::CredentialRequestDenied(
                    "a key belongs to a revoked device".into(),
                ));
            }
            None => {
                return Err(OauthError::CredentialRequestDenied(
                    "a key belongs to another account's device".into(),
                ));
            }
        }
    }
    Ok(bound)
}
