//! The relying party's [`Verifier`]: over the SDK's `relying_party::RelyingParty`, configured
//! with the SDK's defaults unless the host overrides them.

use std::sync::{Arc, Mutex};

use dinhdanh_sdk::{
    jose::{Es256KeyPair, jwe::DecryptionKey},
    openid4vp::{Oid4vpError, dcql::DcqlQuery, response::ResponsePolicy},
    relying_party::{RelyingParty, RelyingPartyConfig},
    trust::TrustBundle,
    verifier::{IssuerTrustData, StatusTrust},
    x509::{self, TrustAnchor},
};

use crate::{
    anchors,
    error::{DinhdanhError, invalid},
};

/// How a verifier is set up. Fields left out take the SDK's defaults (`RelyingPartyConfig::new`,
/// `ResponsePolicy::new`): trust data a day old at most, status lists an hour, a status
/// required, one minute of clock skew, presentations and requests five minutes.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VerifierConfig {
    /// The private JWK of its certificate's key.
    pub signing_key_jwk: String,
    /// Its certificate chain, PEM, leaf first.
    pub certificate_chain_pem: String,
    /// Its client identifier (`x509_san_dns:…` or `x509_hash:…`).
    pub client_id: String,
    /// Where wallets post their answers.
    pub response_uri: String,
    /// The agency's issuing roots, PEM.
    pub issuer_anchors_pem: String,
    /// When the roots were fetched, Unix seconds.
    pub trust_as_of: u64,
    /// Its registration with the agency (a signed `rp-registration+jwt`), if any.
    #[uniffi(default = None)]
    pub registration: Option<String>,
    /// Ask for encrypted answers (`direct_post.jwt`).
    #[uniffi(default = false)]
    pub encrypt_responses: bool,
    /// How old the roots may be, seconds.
    #[uniffi(default = None)]
    pub max_trust_age: Option<u64>,
    /// How old a status list may be, seconds.
    #[uniffi(default = None)]
    pub status_max_age: Option<u64>,
    /// Refuse credentials without a status entry.
    #[uniffi(default = None)]
    pub require_status: Option<bool>,
    /// Clock skew tolerated, seconds.
    #[uniffi(default = None)]
    pub clock_skew: Option<u64>,
    /// How old a presentation's key binding may be, seconds.
    #[uniffi(default = None)]
    pub max_presentation_age: Option<u64>,
    /// How long a request stays answerable, seconds.
    #[uniffi(default = None)]
    pub request_ttl: Option<u64>,
}

/// A verifier configured from what the agency's `dinhdanh-server rp register` printed (its
/// certificate chain and registration) and the agency's trust bundle.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RegisteredVerifierConfig {
    /// The private JWK of the key the access certificate certifies.
    pub signing_key_jwk: String,
    /// `certificate_chain` as printed: the access certificate then the relying-party CA (PEM).
    pub certificate_chain_pem: String,
    /// `registration` as printed (`rp-registration+jwt`).
    pub registration: String,
    /// Where wallets post their answers (on the certificate's DNS name).
    pub response_uri: String,
    /// The agency's trust bundle (`/trust/bundle`).
    pub trust_bundle: String,
    /// The agency roots the app pins (PEM), which sign the bundle.
    pub agency_roots_pem: String,
    /// Now, Unix seconds.
    pub now: u64,
    /// Ask for encrypted answers (`direct_post.jwt`).
    #[uniffi(default = false)]
    pub encrypt_responses: bool,
    /// How long a request stays answerable, seconds.
    #[uniffi(default = None)]
    pub request_ttl: Option<u64>,
}

/// Overrides a default with what the host gave, if it gave one.
fn set<T>(default: &mut T, given: Option<T>) {
    if let Some(given) = given {
        *default = given;
    }
}

/// A credential a verifier accepted.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VerifiedCredential {
    /// The credential query it answered.
    pub query: String,
    /// Its type.
    pub vct: String,
    /// Its issuer.
    pub issuer: Option<String>,
    /// The claims it showed, as a JSON object.
    pub claims_json: String,
    /// `valid`, `invalid`, `suspended`, `application_specific`, `reserved` (the SDK's
    /// `Status::as_str`), or `none` without a status entry.
    pub status: String,
}

/// A request made: the URL for a QR code or deep link, and its state.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CreatedRequest {
    /// `openid4vp://?client_id=…&request=…`.
    pub uri: String,
    /// Its `state`.
    pub state: String,
}

/// A relying party (a bank, a telecom operator): asks by QR code or deep link, checks answers
/// offline, each once.
#[derive(uniffi::Object)]
pub struct Verifier {
    inner: Mutex<RelyingParty>,
    issuer_anchors: Vec<TrustAnchor>,
}

impl Verifier {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, RelyingParty>, DinhdanhError> {
        self.inner.lock().map_err(|_| DinhdanhError::Storage {
            reason: "the verifier is poisoned by an earlier failure".into(),
        })
    }
}

#[uniffi::export]
impl Verifier {
    /// A verifier with no request pending and no status list.
    #[uniffi::constructor]
    pub fn new(config: VerifierConfig) -> Result<Arc<Self>, DinhdanhError> {
        let jwk: serde_json::Value =
            serde_json::from_str(&config.signing_key_jwk).map_err(invalid)?;
        let signer = Es256KeyPair::from_jwk(&jwk).map_err(invalid)?;
        let chain = x509::pem_to_der_chain(&config.certificate_chain_pem).map_err(invalid)?;
        let issuer_anchors = anchors(&config.issuer_anchors_pem)?;
        let encryption = if config.encrypt_responses {
            Some(DecryptionKey::generate().map_err(invalid)?)
        } else {
            None
        };
        let mut policy = ResponsePolicy::new(
            IssuerTrustData::Anchors(issuer_anchors.clone()),
            config.trust_as_of,
        );
        set(&mut policy.max_trust_age, config.max_trust_age);
        set(&mut policy.status.max_age, config.status_max_age);
        set(&mut policy.status.require_status, config.require_status);
        set(&mut policy.skew, config.clock_skew);
        set(
            &mut policy.max_presentation_age,
            config.max_presentation_age,
        );
        let mut party = RelyingPartyConfig::new(
            Box::new(signer),
            chain,
            config.client_id,
            config.response_uri,
            policy,
        );
        party.registration = config.registration;
        party.encryption = encryption;
        set(&mut party.request_ttl, config.request_ttl);
        let party = RelyingParty::new(party);
        Ok(Arc::new(Self {
            inner: Mutex::new(party),
            issuer_anchors,
        }))
    }

    /// A verifier configured from its registration with the agency and the agency's trust
    /// bundle: the client id from the certificate (`x509_san_dns:`), the trust and maximum ages
    /// from the bundle. A registration that does not verify for this certificate is
    /// `Unregistered`; a chain or key that does not, `UntrustedVerifier`.
    #[uniffi::constructor]
    pub fn from_registration(config: RegisteredVerifierConfig) -> Result<Arc<Self>, DinhdanhError> {
        let jwk: serde_json::Value =
            serde_json::from_str(&config.signing_key_jwk).map_err(invalid)?;
        let signer = Es256KeyPair::from_jwk(&jwk).map_err(invalid)?;
        let bundle = TrustBundle::verify(
            &config.trust_bundle,
            &anchors(&config.agency_roots_pem)?,
            config.now,
        )?;
        let mut party = RelyingPartyConfig::from_registration(
            Box::new(signer),
            &config.certificate_chain_pem,
            &config.registration,
            config.response_uri,
            &bundle,
            config.now,
        )?;
        if config.encrypt_responses {
            party.encryption = Some(DecryptionKey::generate().map_err(invalid)?);
        }
        set(&mut party.request_ttl, config.request_ttl);
        Ok(Arc::new(Self {
            inner: Mutex::new(RelyingParty::new(party)),
            issuer_anchors: bundle.issuer_anchors()?,
        }))
    }

    /// Adds a status list token fetched from `uri` (verified against the issuing roots).
    pub fn add_status_list(
        &self,
        uri: String,
        token: String,
        now: u64,
    ) -> Result<(), DinhdanhError> {
        let anchors = StatusTrust::Anchors(self.issuer_anchors.clone());
        self.lock()?
            .status_lists()
            .insert(&uri, &token, &anchors, now)
            .map_err(DinhdanhError::from)
    }

    /// Signs a request for a DCQL query (JSON) and keeps it pending.
    pub fn create_request(
        &self,
        dcql_json: String,
        now: u64,
    ) -> Result<CreatedRequest, DinhdanhError> {
        let json: serde_json::Value = serde_json::from_str(&dcql_json).map_err(invalid)?;
        let query = DcqlQuery::from_json(&json).map_err(Oid4vpError::from)?;
        let created = self.lock()?.create_request(query, now)?;
        Ok(CreatedRequest {
            uri: created.uri,
            state: created.state,
        })
    }

    /// Checks a wallet's answer (the body it posted): the credentials accepted.
    pub fn receive(
        &self,
        body: String,
        now: u64,
    ) -> Result<Vec<VerifiedCredential>, DinhdanhError> {
        let answers = self.lock()?.receive(&body, now)?;
        Ok(answers
            .into_iter()
            .map(|answer| VerifiedCredential {
                query: answer.query,
                vct: answer.verification.vct,
                issuer: answer.verification.iss,
                claims_json: serde_json::Value::Object(answer.verification.claims).to_string(),
                status: answer
                    .verification
                    .status
                    .map_or("none", |status| status.as_str())
                    .to_owned(),
            })
            .collect())
    }
}
