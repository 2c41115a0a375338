//! `dinhdanh-ffi`: the wallet and the verifier of `dinhdanh-sdk` for Kotlin, Swift and Python,
//! through UniFFI. A thin veneer: objects for the wallet, a pending presentation and the
//! verifier; records for what crosses the boundary; one flat error enum; the platform's keystore
//! and HTTP stack as foreign traits ([`KeyStore`], [`Transport`]). Every piece of logic lives in
//! the SDK. A Rust panic never reaches the host: UniFFI turns it into an exception.

use std::sync::{Arc, Mutex};

use dinhdanh_sdk::{
    holder::{self, WalletError},
    jose::{Es256KeyPair, jwe::DecryptionKey},
    openid4vci::client::{self as oid4vci, ClientError},
    openid4vp::{
        Oid4vpError,
        dcql::DcqlQuery,
        request::{RegisteredCredential, Registration},
        response::ResponsePolicy,
    },
    relying_party::{RelyingParty, RelyingPartyConfig},
    verifier::{IssuerTrustData, StatusTrust},
    wallet as core,
    x509::{self, TrustAnchor},
};

uniffi::setup_scaffolding!();

/// Every failure, by kind, with a reason for logs and support (never personal data). (Fields are
/// not called `message`: Kotlin exceptions have one already.)
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DinhdanhError {
    /// Malformed input, or a message that breaks its protocol.
    #[error("invalid: {reason}")]
    Invalid {
        /// What was wrong.
        reason: String,
    },
    /// A signature, certificate chain or client identifier that is not trusted.
    #[error("untrusted: {reason}")]
    Untrusted {
        /// What was wrong.
        reason: String,
    },
    /// The issuer or verifier refused (its error code in the reason).
    #[error("refused: {reason}")]
    Refused {
        /// The error code and description.
        reason: String,
    },
    /// No network, or no answer.
    #[error("network: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The platform keystore failed.
    #[error("keystore: {reason}")]
    KeyStore {
        /// What failed.
        reason: String,
    },
    /// The wallet file failed (I/O, altered records).
    #[error("storage: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// No credential in the wallet answers the request.
    #[error("no credential answers the request")]
    NoMatch,
    /// An answer to a request that is not pending (unknown, expired, or answered already).
    #[error("no pending request for this answer")]
    Replayed,
}

fn invalid(message: impl ToString) -> DinhdanhError {
    DinhdanhError::Invalid {
        reason: message.to_string(),
    }
}

impl From<Oid4vpError> for DinhdanhError {
    fn from(error: Oid4vpError) -> Self {
        match error {
            Oid4vpError::InvalidClient(_) => Self::Untrusted {
                reason: error.to_string(),
            },
            Oid4vpError::UnknownOrReplayed => Self::Replayed,
            Oid4vpError::Presentation { .. } => Self::Untrusted {
                reason: error.to_string(),
            },
            other => invalid(other),
        }
    }
}

impl From<ClientError> for DinhdanhError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Transport(reason) => Self::Network { reason },
            ClientError::Issuer { .. } => Self::Refused {
                reason: error.to_string(),
            },
            ClientError::KeyStore(e) => Self::KeyStore {
                reason: e.to_string(),
            },
            ClientError::Credential(_) => Self::Untrusted {
                reason: error.to_string(),
            },
            other => invalid(other),
        }
    }
}

impl From<WalletError> for DinhdanhError {
    fn from(error: WalletError) -> Self {
        match error {
            WalletError::Store(e) => Self::Storage {
                reason: e.to_string(),
            },
            WalletError::KeyStore(e) => Self::KeyStore {
                reason: e.to_string(),
            },
            WalletError::Issuance(e) => e.into(),
            WalletError::Presentation(e) => e.into(),
            WalletError::NoMatch => Self::NoMatch,
            other => invalid(other),
        }
    }
}

// --- The platform's keystore --------------------------------------------------------------------

/// Why the platform keystore failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreFailure {
    /// No key has this alias.
    #[error("no key named {alias}")]
    NotFound {
        /// The alias.
        alias: String,
    },
    /// A wrapped secret did not unwrap.
    #[error("the wrapped secret does not open")]
    Unwrap,
    /// Anything else (the user cancelled, the device is locked, hardware failure).
    #[error("{reason}")]
    Refused {
        /// What happened.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreFailure {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Refused {
            reason: error.reason,
        }
    }
}

/// The platform keystore (Android Keystore, the Secure Enclave), implemented by the host. Keys
/// are named by alias; private keys never leave it.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// Makes a P-256 signing key under `alias`.
    fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure>;
    /// The public key of `alias`, SEC1 uncompressed (65 bytes).
    fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure>;
    /// An ECDSA P-256 SHA-256 signature of `message`: DER, or `r || s`.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Makes a symmetric wrapping key under `alias` (AES-256-GCM).
    fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure>;
    /// Encrypts `secret` under the wrapping key `alias`.
    fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Decrypts what `wrap` made.
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Whether a key has this alias.
    fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure>;
    /// Deletes the key `alias` (no error if there is none).
    fn delete(&self, alias: String) -> Result<(), KeyStoreFailure>;
}

/// The host's keystore seen as the SDK's.
struct HostKeys(Arc<dyn KeyStore>);

fn keystore_error(error: KeyStoreFailure) -> core::KeyStoreError {
    match error {
        KeyStoreFailure::NotFound { alias } => core::KeyStoreError::NotFound(alias),
        KeyStoreFailure::Unwrap => core::KeyStoreError::Unwrap,
        KeyStoreFailure::Refused { reason } => core::KeyStoreError::Refused(reason),
    }
}

impl core::KeyStore for HostKeys {
    fn generate_signing_key(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0
            .generate_signing_key(alias.into())
            .map_err(keystore_error)
    }
    fn public_key(&self, alias: &str) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0.public_key(alias.into()).map_err(keystore_error)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .sign(alias.into(), message.to_vec())
            .map_err(keystore_error)
    }
    fn generate_wrapping_key(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0
            .generate_wrapping_key(alias.into())
            .map_err(keystore_error)
    }
    fn wrap(&self, alias: &str, secret: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .wrap(alias.into(), secret.to_vec())
            .map_err(keystore_error)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .unwrap(alias.into(), wrapped.to_vec())
            .map_err(keystore_error)
    }
    fn contains(&self, alias: &str) -> Result<bool, core::KeyStoreError> {
        self.0.contains(alias.into()).map_err(keystore_error)
    }
    fn delete(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0.delete(alias.into()).map_err(keystore_error)
    }
}

// --- The host's HTTP stack ----------------------------------------------------------------------

/// A header.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A request the SDK asks the host to send.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
}

/// The response, whatever its status.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
}

/// No response came.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TransportFailure {
    /// Why (no network, TLS, timeout).
    #[error("{reason}")]
    Failed {
        /// What happened.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            reason: error.reason,
        }
    }
}

/// The host's HTTP stack.
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    /// Sends `request`; any status is a response, `Err` only when none came.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}

struct HostTransport(Arc<dyn Transport>);

impl oid4vci::Transport for HostTransport {
    fn send(&self, request: &oid4vci::HttpRequest) -> Result<oid4vci::HttpResponse, String> {
        let headers = |h: &[(String, String)]| -> Vec<HttpHeader> {
            h.iter()
                .map(|(name, value)| HttpHeader {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect()
        };
        let response = self
            .0
            .send(HttpRequest {
                method: request.method.clone(),
                url: request.url.clone(),
                headers: headers(&request.headers),
                body: request.body.clone(),
            })
            .map_err(|e| e.to_string())?;
        Ok(oid4vci::HttpResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: response.body,
        })
    }
}

// --- The wallet ---------------------------------------------------------------------------------

/// A credential in the wallet.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CredentialSummary {
    /// The wallet's id for it.
    pub id: String,
    /// Its type (`vct`).
    pub vct: String,
    /// Its issuer.
    pub issuer: String,
    /// The OpenID4VCI configuration it was issued under.
    pub configuration_id: Option<String>,
    /// Issued at, Unix seconds.
    pub issued_at: u64,
    /// Expiry, Unix seconds.
    pub expires_at: Option<u64>,
    /// Copies never presented (0: refresh it).
    pub unused_copies: u32,
    /// All copies.
    pub copies: u32,
}

/// One credential of a consent.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConsentItem {
    /// The verifier's credential query.
    pub query: String,
    /// The credential that answers it.
    pub credential_id: String,
    /// Its type.
    pub vct: String,
    /// Claims to disclose (JSON Pointers).
    pub claims: Vec<String>,
    /// Claims asked for beyond the verifier's registration: refused.
    pub refused: Vec<String>,
}

/// What the citizen is asked to approve.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Consent {
    /// The verifier's client identifier.
    pub verifier: String,
    /// Its registered name, else its certificate's subject.
    pub verifier_name: String,
    /// Whether it is registered with the agency.
    pub registered: bool,
    /// Its registered purpose.
    pub purpose: Option<String>,
    /// Per credential.
    pub items: Vec<ConsentItem>,
}

/// The wallet's answer, for the host to POST.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PresentationAnswer {
    /// Where to POST it.
    pub response_uri: String,
    /// The `application/x-www-form-urlencoded` body.
    pub body: String,
}

/// An entry of the presentation log.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PresentationLogEntry {
    /// When, Unix seconds.
    pub at: u64,
    /// The verifier's client identifier.
    pub verifier: String,
    /// Its name.
    pub verifier_name: Option<String>,
    /// Its purpose.
    pub purpose: Option<String>,
    /// The credential presented.
    pub credential_id: String,
    /// The claims disclosed.
    pub claims: Vec<String>,
}

/// A presentation request checked and evaluated, waiting for consent.
#[derive(uniffi::Object)]
pub struct PendingPresentation {
    inner: holder::PendingPresentation,
}

#[uniffi::export]
impl PendingPresentation {
    /// What to show the citizen.
    pub fn consent(&self) -> Consent {
        let consent = &self.inner.consent;
        Consent {
            verifier: consent.verifier.clone(),
            verifier_name: consent.verifier_name.clone(),
            registered: consent.registered,
            purpose: consent.purpose.clone(),
            items: consent
                .credentials
                .iter()
                .map(|item| ConsentItem {
                    query: item.query.clone(),
                    credential_id: self
                        .inner
                        .credential_id(item.candidate)
                        .unwrap_or_default()
                        .to_owned(),
                    vct: item.vct.clone(),
                    claims: item.claims.iter().map(ToString::to_string).collect(),
                    refused: item.refused.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }
    }
}

/// The citizen's wallet: credentials encrypted at rest, keys in the platform keystore.
#[derive(uniffi::Object)]
pub struct Wallet {
    // The SDK's wallet takes `&mut self` to change the store; the host may call from any thread.
    inner: Mutex<holder::Wallet>,
}

fn anchors(pem: &str) -> Result<Vec<TrustAnchor>, DinhdanhError> {
    TrustAnchor::from_pem(pem).map_err(invalid)
}

impl Wallet {
    /// Runs `f` on the SDK's wallet.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut holder::Wallet) -> Result<T, WalletError>,
    ) -> Result<T, DinhdanhError> {
        let mut wallet = self.inner.lock().map_err(|_| DinhdanhError::Storage {
            reason: "the wallet is poisoned by an earlier failure".into(),
        })?;
        Ok(f(&mut wallet)?)
    }
}

#[uniffi::export]
impl Wallet {
    /// Opens (or creates) the wallet file at `path`, its data key wrapped by the keystore key
    /// `wrapping_alias`, trusting credentials chained to `issuer_anchors_pem` and requests from
    /// verifiers chained to `verifier_anchors_pem` (the agency's roots, PEM).
    #[uniffi::constructor]
    pub fn open(
        path: String,
        keystore: Arc<dyn KeyStore>,
        wrapping_alias: String,
        issuer_anchors_pem: String,
        verifier_anchors_pem: String,
    ) -> Result<Arc<Self>, DinhdanhError> {
        let issuer_anchors = anchors(&issuer_anchors_pem)?;
        let verifier_anchors = anchors(&verifier_anchors_pem)?;
        let wallet = holder::Wallet::open(
            std::path::Path::new(&path),
            Arc::new(HostKeys(keystore)),
            &wrapping_alias,
            issuer_anchors,
            verifier_anchors,
        )?;
        Ok(Arc::new(Self {
            inner: Mutex::new(wallet),
        }))
    }

    /// The credentials held, oldest first.
    pub fn credentials(&self) -> Result<Vec<CredentialSummary>, DinhdanhError> {
        self.with(|wallet| {
            wallet
                .credentials()?
                .into_iter()
                .map(|info| {
                    let (unused, total) = wallet.copies_left(&info.id)?;
                    Ok(CredentialSummary {
                        id: info.id,
                        vct: info.vct,
                        issuer: info.issuer,
                        configuration_id: info.configuration_id,
                        issued_at: info.issued_at,
                        expires_at: info.expires_at,
                        unused_copies: unused,
                        copies: total,
                    })
                })
                .collect()
        })
    }

    /// Receives the credentials of an `openid-credential-offer://` URI (with the transaction
    /// code the citizen typed): `copies` of each, each bound to a new keystore key. Returns the
    /// ids of the credentials stored.
    pub fn receive_offer(
        &self,
        transport: Arc<dyn Transport>,
        offer_uri: String,
        tx_code: Option<String>,
        copies: u32,
        now: u64,
    ) -> Result<Vec<String>, DinhdanhError> {
        let transport = HostTransport(transport);
        self.with(|wallet| {
            Ok(wallet
                .receive_offer(&transport, &offer_uri, tx_code.as_deref(), copies, now)?
                .into_iter()
                .map(|info| info.id)
                .collect())
        })
    }

    /// Checks a presentation request (`openid4vp://…`; `request_uri` fetched through
    /// `transport`) and evaluates it against the wallet: the consent to show.
    pub fn prepare_presentation(
        &self,
        uri: String,
        transport: Option<Arc<dyn Transport>>,
        now: u64,
    ) -> Result<Arc<PendingPresentation>, DinhdanhError> {
        let transport = transport.map(HostTransport);
        self.with(|wallet| {
            let inner = wallet.prepare_presentation(
                &uri,
                transport.as_ref().map(|t| t as &dyn oid4vci::Transport),
                now,
            )?;
            Ok(Arc::new(PendingPresentation { inner }))
        })
    }

    /// Presents what the consent shows (the citizen approved): the body to POST.
    pub fn respond(
        &self,
        pending: Arc<PendingPresentation>,
        now: u64,
    ) -> Result<PresentationAnswer, DinhdanhError> {
        self.with(|wallet| {
            let response = wallet.respond(&pending.inner, now)?;
            Ok(PresentationAnswer {
                response_uri: response.response_uri,
                body: response.body,
            })
        })
    }

    /// The presentation log, oldest first.
    pub fn presentations(&self) -> Result<Vec<PresentationLogEntry>, DinhdanhError> {
        self.with(|wallet| {
            Ok(wallet
                .presentations()?
                .into_iter()
                .map(|p| PresentationLogEntry {
                    at: p.at,
                    verifier: p.verifier,
                    verifier_name: p.verifier_name,
                    purpose: p.purpose,
                    credential_id: p.credential_id,
                    claims: p.claims,
                })
                .collect())
        })
    }

    /// Deletes a credential and its keys.
    pub fn remove(&self, id: String) -> Result<(), DinhdanhError> {
        self.with(|wallet| wallet.remove(&id))
    }
}

// --- The verifier -------------------------------------------------------------------------------

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
            .map_err(|e| DinhdanhError::Untrusted {
                reason: e.to_string(),
            })
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

/// The agency's side of a registration: signs what a relying party may ask for (the server's
/// relying-party registry does this; exposed for tools and tests).
#[allow(clippy::too_many_arguments)]
#[uniffi::export]
pub fn sign_registration(
    agency_key_jwk: String,
    agency_chain_pem: String,
    client_id: String,
    name: String,
    purpose: String,
    vct: String,
    claims: Vec<String>,
    iat: u64,
    exp: u64,
) -> Result<String, DinhdanhError> {
    let jwk: serde_json::Value = serde_json::from_str(&agency_key_jwk).map_err(invalid)?;
    let key = Es256KeyPair::from_jwk(&jwk).map_err(invalid)?;
    let chain = x509::pem_to_der_chain(&agency_chain_pem).map_err(invalid)?;
    Ok(Registration {
        iss: "dinhdanh relying-party registry".into(),
        sub: client_id,
        name,
        purpose,
        credentials: vec![RegisteredCredential { vct, claims }],
        iat,
        exp,
    }
    .sign(&key, &chain)?)
}

/// The SDK's version.
#[uniffi::export]
pub fn sdk_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    use dinhdanh_sdk::wallet::KeyStore as _;

    use super::*;

    /// The software keystore of the SDK behind the foreign trait, as a host would write one.
    struct Soft(core::SoftwareKeyStore);

    fn failure(e: core::KeyStoreError) -> KeyStoreFailure {
        match e {
            core::KeyStoreError::NotFound(alias) => KeyStoreFailure::NotFound { alias },
            core::KeyStoreError::Unwrap => KeyStoreFailure::Unwrap,
            other => KeyStoreFailure::Refused {
                reason: other.to_string(),
            },
        }
    }

    impl KeyStore for Soft {
        fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
            self.0.generate_signing_key(&alias).map_err(failure)
        }
        fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure> {
            self.0.public_key(&alias).map_err(failure)
        }
        fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
            self.0.sign(&alias, &message).map_err(failure)
        }
        fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
            self.0.generate_wrapping_key(&alias).map_err(failure)
        }
        fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
            self.0.wrap(&alias, &secret).map_err(failure)
        }
        fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
            self.0.unwrap(&alias, &wrapped).map_err(failure)
        }
        fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure> {
            self.0.contains(&alias).map_err(failure)
        }
        fn delete(&self, alias: String) -> Result<(), KeyStoreFailure> {
            self.0.delete(&alias).map_err(failure)
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(Soft(
            core::SoftwareKeyStore::open_with_master_key(&dir.path().join("k"), &[1; 32]).unwrap(),
        ));
        let path = dir.path().join("w.db").display().to_string();
        let root = dinhdanh_sdk::x509::dev::DevCa::generate(
            &Es256KeyPair::generate().unwrap(),
            "root",
            0,
            4_000_000_000,
        )
        .unwrap()
        .certificate_pem();
        for (issuers, verifiers) in [("not pem", root.as_str()), (root.as_str(), "")] {
            assert!(matches!(
                Wallet::open(
                    path.clone(),
                    keys.clone(),
                    "w".into(),
                    issuers.into(),
                    verifiers.into()
                ),
                Err(DinhdanhError::Invalid { .. })
            ));
        }
        let wallet = Wallet::open(path, keys, "w".into(), root.clone(), root).unwrap();
        assert!(wallet.credentials().unwrap().is_empty());
        assert!(matches!(
            wallet.prepare_presentation("openid4vp://?client_id=x".into(), None, 0),
            Err(DinhdanhError::Invalid { .. })
        ));
        assert!(matches!(
            wallet.prepare_presentation(
                "openid4vp://?client_id=x&request=eyJhbGciOiJFUzI1NiJ9.e30.AAAA".into(),
                None,
                0
            ),
            Err(DinhdanhError::Untrusted { .. } | DinhdanhError::Invalid { .. })
        ));
        assert!(matches!(
            Verifier::new(VerifierConfig {
                signing_key_jwk: "{}".into(),
                certificate_chain_pem: String::new(),
                client_id: "x509_san_dns:bank.example.vn".into(),
                response_uri: "https://bank.example.vn/r".into(),
                issuer_anchors_pem: String::new(),
                trust_as_of: 0,
                registration: None,
                encrypt_responses: false,
                max_trust_age: None,
                status_max_age: None,
                require_status: None,
                clock_skew: None,
                max_presentation_age: None,
                request_ttl: None,
            }),
            Err(DinhdanhError::Invalid { .. })
        ));
    }
}
