//! The verifier's domain: requests made for the RP backend (a DCQL query or a preset), served
//! to wallets by reference, answers checked by the SDK's relying party against the request
//! read back from the database, taken once (atomically) when they verify, and results kept for
//! the backend to read. No axum here, no SQL.
//!
//! An answer that fails is recorded (`failed` with its reason) but leaves the request
//! answerable until it expires: its `state` and nonce are public (in the QR code and the
//! request object), so junk posted by a third party must not cancel it; the citizen's own
//! wallet can still answer, and a verified answer then replaces the failure. A verified request
//! is final: any further answer is refused as `replayed`.

use std::sync::{
    Mutex, RwLock,
    atomic::{AtomicU64, Ordering},
};

use dinhdanh_sdk::{
    jose::{UnverifiedJws, jwe::DecryptionKey},
    openid4vp::{
        Oid4vpError,
        dcql::DcqlQuery,
        request::{Registration, RequestReference, ResponseMode},
        response::{ResponsePolicy, VerifiedAnswer},
    },
    relying_party::{
        PendingRequest, PostedAnswer, RelyingParty, RelyingPartyConfig, RequestOptions, read_answer,
    },
    status_list::StatusReference,
    vc::Rejection,
    verifier::IssuerTrustData,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{
    config::{RelyingPartyIdentity, VerifierConfig},
    seal::{SealError, Sealer},
    store::{RequestRow, RequestStatus, VerifierStore, VerifierStoreError},
    trust::{RpStanding, TrustError, TrustSnapshot, TrustSource},
};

/// The PID's credential type.
pub const PID_VCT: &str = "urn:vn:dinhdanh:pid:1";

/// The presets a backend may ask for by name.
pub const PRESETS: &[&str] = &["pid-basic", "pid-age-over-18"];

/// The DCQL query of a preset: `pid-basic` (family name, given name, date of birth) and
/// `pid-age-over-18` (the PID's `age_equal_or_over/18`, true or false, nothing else).
pub fn preset(name: &str) -> Option<Value> {
    let claims = match name {
        "pid-basic" => json!([
            { "path": ["family_name"] },
            { "path": ["given_name"] },
            { "path": ["birthdate"] }
        ]),
        "pid-age-over-18" => json!([{ "path": ["age_equal_or_over", "18"] }]),
        _ => return None,
    };
    Some(json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [PID_VCT] },
            "claims": claims
        }]
    }))
}

/// Why an answer failed: what the RP backend reads in `reason`. `forged`: a signature,
/// disclosure or the key binding does not verify; `revoked`, `suspended`, `expired`: the
/// credential; `not_registered`: the credential's issuer is not under the trust data's issuer
/// roots; `rp_revoked`: the agency revoked this relying party's own registration;
/// `stale_trust_data`: the service's trust bundle or a status list is too old or unavailable;
/// `replayed`: the request was already answered; `invalid_response`: the answer does not answer
/// the request; `request_expired`: no verified answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// A signature, a disclosure or the key binding (audience, nonce, age) does not verify.
    Forged,
    /// The issuer revoked the credential.
    Revoked,
    /// The issuer suspended the credential.
    Suspended,
    /// The credential has expired.
    Expired,
    /// The credential's issuer is not one the agency's trust data registers (an issuer root
    /// of the bundle, or the pinned roots).
    NotRegistered,
    /// This service's own registration was revoked by the agency (its relying-party status
    /// list says so): answers are no longer accepted, and wallets refuse its requests.
    RpRevoked,
    /// The service's own trust data or a status list is too old or unavailable.
    StaleTrustData,
    /// An answer came for a request already answered.
    Replayed,
    /// The answer does not answer the request (claims missing, malformed, another request's).
    InvalidResponse,
    /// No verified answer came before the request expired.
    RequestExpired,
}

impl FailureReason {
    /// As stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forged => "forged",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::NotRegistered => "not_registered",
            Self::RpRevoked => "rp_revoked",
            Self::StaleTrustData => "stale_trust_data",
            Self::Replayed => "replayed",
            Self::InvalidResponse => "invalid_response",
            Self::RequestExpired => "request_expired",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Forged,
            Self::Revoked,
            Self::Suspended,
            Self::Expired,
            Self::NotRegistered,
            Self::RpRevoked,
            Self::StaleTrustData,
            Self::Replayed,
            Self::InvalidResponse,
            Self::RequestExpired,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// The reason of an SDK refusal.
    pub fn of(error: &Oid4vpError) -> Self {
        match error {
            Oid4vpError::Presentation { error, .. } => match error.rejection() {
                Rejection::Revoked => Self::Revoked,
                Rejection::Suspended => Self::Suspended,
                Rejection::Expired => Self::Expired,
                Rejection::Forged => Self::Forged,
                Rejection::UntrustedIssuer => Self::NotRegistered,
                Rejection::StaleTrustData => Self::StaleTrustData,
                _ => Self::InvalidResponse,
            },
            Oid4vpError::UnknownOrReplayed => Self::RequestExpired,
            _ => Self::InvalidResponse,
        }
    }
}

/// Why a request could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// The body names no known preset.
    #[error("unknown preset {0:?} (known: pid-basic, pid-age-over-18)")]
    UnknownPreset(String),
    /// The body has both or neither of `dcql_query` and `preset`.
    #[error("give exactly one of dcql_query and preset")]
    QueryOrPreset,
    /// The DCQL query is malformed.
    #[error("invalid DCQL query: {0}")]
    Dcql(String),
    /// The agency revoked this service's registration: no new request is made (wallets would
    /// refuse it).
    #[error("the relying party's registration is revoked")]
    RpRevoked,
    /// Signing the request failed.
    #[error("signing the request: {0}")]
    Sign(Oid4vpError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] VerifierStoreError),
    /// A sealed value would not seal or open.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A stored row is unreadable.
    #[error("corrupt request row")]
    Corrupt,
}

/// Why a wallet's answer was not accepted (answered to the wallet as an OAuth error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No request with this id.
    #[error("unknown request")]
    UnknownRequest,
    /// The request was already answered and verified.
    #[error("replayed: the request was already answered")]
    Replayed,
    /// The request is no longer answerable.
    #[error("the request has expired")]
    Expired,
    /// The answer was checked and refused.
    #[error("the answer was refused: {}", .0.as_str())]
    Failed(FailureReason),
    /// The body is not a well-formed answer (nothing recorded).
    #[error("malformed answer")]
    Malformed,
    /// The service failed.
    #[error(transparent)]
    Internal(#[from] VerifierError),
}

impl From<SealError> for AnswerError {
    fn from(error: SealError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<VerifierStoreError> for AnswerError {
    fn from(error: VerifierStoreError) -> Self {
        Self::Internal(error.into())
    }
}

/// How an answer was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Verified, and the request taken.
    Verified,
    /// The wallet's error response (the citizen declined, or the wallet refused the relying
    /// party): advisory, the request stays pending.
    Declined,
}

/// A request made.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedRequest {
    /// The id to read the result with.
    pub request_id: String,
    /// The `openid4vp://` URL (QR code or deep link) with `client_id` and `request_uri`.
    pub authorization_request: String,
    /// When it stops being answerable (RFC 3339).
    pub expires_at: String,
}

/// What the RP backend reads.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestResult {
    /// `pending`, `verified` or `failed`.
    pub state: &'static str,
    /// Once verified: the disclosed claims by credential query id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// Once verified and asked for (`?include=presentation`): the verified presentation, for a
    /// backend that must pass it on (e.g. an operator binding a SIM at the agency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentation: Option<VerifiedPresentation>,
    /// Once failed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
}

/// A verified presentation as the wallet posted it, with the nonce it was bound to.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifiedPresentation {
    /// The `vp_token` (an object keyed by credential query id).
    #[schema(value_type = Object)]
    pub vp_token: Value,
    /// The request's nonce (the key binding JWT's `nonce`).
    pub nonce: String,
}

/// What is sealed once a request is verified.
#[derive(Debug, Serialize, Deserialize)]
struct SealedResult {
    claims: Map<String, Value>,
    presentation: VerifiedPresentation,
}

/// Counters for the metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests made.
    pub created: AtomicU64,
    /// Answers verified.
    pub verified: AtomicU64,
    /// Answers refused, by reason.
    pub failed: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Error responses from wallets.
    pub declined: AtomicU64,
}

/// The verifier service.
pub struct Verifier {
    rp: RwLock<RelyingParty>,
    store: VerifierStore,
    trust: TrustSource,
    sealer: Sealer,
    base_url: String,
    client_id: String,
    /// Where the registration's status is published (in the relying parties' status list).
    rp_status: Option<StatusReference>,
    /// (version, iat) of the bundle whose trust the relying party's policy holds.
    applied: Mutex<(u64, u64)>,
    /// The counters of this process.
    pub counters: Counters,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

const SEAL_KEY: &str = "encryption-key";
/// Results sealed before presentations were kept: the claims alone.
const SEAL_RESULT: &str = "result";
/// Results with the presentation ([`SealedResult`]).
const SEAL_RESULT_V2: &str = "result-v2";

use crate::platform::clock::rfc3339;

fn new_id() -> Result<String, VerifierError> {
    dinhdanh_sdk::openid4vp::request::new_nonce().map_err(VerifierError::Sign)
}

impl Verifier {
    /// The service for `config`, the relying party `identity`, over `store` and `trust`.
    pub fn new(
        config: &VerifierConfig,
        identity: RelyingPartyIdentity,
        store: VerifierStore,
        trust: TrustSource,
    ) -> Result<Self, VerifierError> {
        let sealer = Sealer::from_rp_key(&identity.key)?;
        let base_url = config.base_url().to_owned();
        // Until trust data is held the policy trusts nothing (and is stale).
        let mut policy = ResponsePolicy::new(IssuerTrustData::Anchors(Vec::new()), 0);
        policy.max_trust_age = config.trust.max_age_seconds;
        policy.status.max_age = config.trust.status_max_age_seconds;
        let signer: Box<dyn dinhdanh_sdk::jose::JwsSigner + Send + Sync> = Box::new(identity.key);
        let mut rp_config = RelyingPartyConfig::new(
            signer,
            identity.chain,
            identity.client_id.clone(),
            format!("{base_url}/wallet/responses"),
            policy,
        );
        let rp_status = identity.registration.as_deref().and_then(status_reference);
        rp_config.registration = identity.registration;
        rp_config.request_ttl = config.request_ttl_seconds;
        let verifier = Self {
            rp: RwLock::new(RelyingParty::new(rp_config)),
            store,
            trust,
            sealer,
            base_url,
            client_id: identity.client_id,
            rp_status,
            applied: Mutex::new((u64::MAX, 0)),
            counters: Counters::default(),
        };
        Ok(verifier)
    }

    /// The database.
    pub fn store(&self) -> &VerifierStore {
        &self.store
    }

    /// Makes a request for `query` (a DCQL query as JSON) answered in `mode`, at `now`.
    pub async fn create(
        &self,
        query: &Value,
        mode: ResponseMode,
        now: u64,
    ) -> Result<CreatedRequest, VerifierError> {
        let query = DcqlQuery::from_json(query).map_err(|e| VerifierError::Dcql(e.to_string()))?;
        // Trust data unavailable does not stop a request (the answer will say so); a revoked
        // registration does.
        if let Ok(snapshot) = self.trust.current(now).await
            && self.standing(&snapshot, now).await == RpStanding::Revoked
        {
            return Err(VerifierError::RpRevoked);
        }
        let id = new_id()?;
        let response_uri = format!("{}/wallet/responses/{id}", self.base_url);
        let prepared = {
            let rp = self.rp.read().map_err(|_| VerifierError::Corrupt)?;
            rp.prepare_request(
                query,
                RequestOptions {
                    response_mode: mode,
                    response_uri: Some(&response_uri),
                },
                now,
            )
            .map_err(VerifierError::Sign)?
        };
        let encryption_key = prepared
            .encryption
            .as_ref()
            .map(|key| self.sealer.seal(SEAL_KEY, &id, &key.to_bytes()))
            .transpose()?;
        let expires_at = i64::try_from(prepared.pending.expires_at).unwrap_or(i64::MAX);
        let created_at = i64::try_from(now).unwrap_or(i64::MAX);
        let row = RequestRow {
            oid4vp_state: prepared.pending.state().to_owned(),
            status: RequestStatus::Pending,
            pending: serde_json::to_string(&prepared.pending)
                .map_err(|_| VerifierError::Corrupt)?,
            request_object: Some(prepared.request_object),
            encryption_key,
            reason: None,
            result: None,
            created_at,
            expires_at,
            updated_at: created_at,
            id: id.clone(),
        };
        self.store.insert(&row).await?;
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        let authorization_request = RequestReference::Uri {
            client_id: self.client_id.clone(),
            request_uri: format!("{}/wallet/requests/{id}", self.base_url),
        }
        .to_uri();
        Ok(CreatedRequest {
            request_id: id,
            authorization_request,
            expires_at: rfc3339(expires_at),
        })
    }

    /// The signed request object of request `id`, while it is answerable at `now`.
    pub async fn request_object(
        &self,
        id: &str,
        now: u64,
    ) -> Result<Option<String>, VerifierError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        Ok(self
            .store
            .get(id)
            .await?
            .filter(|row| row.status != RequestStatus::Verified && row.expires_at > now)
            .and_then(|row| row.request_object))
    }

    /// What the backend reads about request `id` at `now`; the verified presentation too when
    /// `with_presentation`.
    pub async fn result(
        &self,
        id: &str,
        now: u64,
        with_presentation: bool,
    ) -> Result<Option<RequestResult>, VerifierError> {
        let Some(row) = self.store.get(id).await? else {
            return Ok(None);
        };
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        Ok(Some(match row.status {
            RequestStatus::Verified => {
                let sealed = row.result.as_deref().ok_or(VerifierError::Corrupt)?;
                let (claims, presentation) = match self.sealer.open(SEAL_RESULT_V2, &row.id, sealed)
                {
                    Ok(plain) => {
                        let result: SealedResult =
                            serde_json::from_slice(&plain).map_err(|_| VerifierError::Corrupt)?;
                        (result.claims, Some(result.presentation))
                    }
                    Err(_) => {
                        let plain = self.sealer.open(SEAL_RESULT, &row.id, sealed)?;
                        let claims: Map<String, Value> =
                            serde_json::from_slice(&plain).map_err(|_| VerifierError::Corrupt)?;
                        (claims, None)
                    }
                };
                RequestResult {
                    state: "verified",
                    claims: Some(claims),
                    presentation: presentation.filter(|_| with_presentation),
                    reason: None,
                }
            }
            RequestStatus::Failed => RequestResult {
                state: "failed",
                claims: None,
                presentation: None,
                reason: row.reason.as_deref().and_then(FailureReason::parse),
            },
            RequestStatus::Pending if row.expires_at <= now => RequestResult {
                state: "failed",
                claims: None,
                presentation: None,
                reason: Some(FailureReason::RequestExpired),
            },
            RequestStatus::Pending => RequestResult {
                state: "pending",
                claims: None,
                presentation: None,
                reason: None,
            },
        }))
    }

    /// Checks a wallet's answer (the form body it posted to request `id`'s `response_uri`) at
    /// `now`.
    pub async fn answer(
        &self,
        id: &str,
        body: &str,
        now: u64,
    ) -> Result<AnswerOutcome, AnswerError> {
        let row = self
            .store
            .get(id)
            .await?
            .ok_or(AnswerError::UnknownRequest)?;
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        if row.status == RequestStatus::Verified {
            self.count_failure(FailureReason::Replayed);
            return Err(AnswerError::Replayed);
        }
        if row.expires_at <= now_i {
            return Err(AnswerError::Expired);
        }
        let pending: PendingRequest =
            serde_json::from_str(&row.pending).map_err(|_| VerifierError::Corrupt)?;
        let key = row
            .encryption_key
            .as_deref()
            .map(|sealed| {
                let bytes = self.sealer.open(SEAL_KEY, &row.id, sealed)?;
                DecryptionKey::from_bytes(&bytes).map_err(|_| VerifierError::Corrupt)
            })
            .transpose()?;
        let posted = read_answer(body, key.as_ref()).map_err(|_| AnswerError::Malformed)?;
        if let PostedAnswer::Refused { .. } = posted {
            if posted.state() == pending.state() {
                self.counters.declined.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(AnswerOutcome::Declined);
        }
        // The request's `state` and id are public (its QR code): an answer naming another state
        // is a stranger's, refused before any status list is fetched for it, and it does not
        // mark the request failed for the backend (the citizen's wallet may still answer).
        if posted.state() != pending.state() {
            self.count_failure(FailureReason::InvalidResponse);
            return Err(AnswerError::Failed(FailureReason::InvalidResponse));
        }
        let posted_vp_token = match &posted {
            PostedAnswer::Presentation { vp_token, .. } => Some(vp_token.clone()),
            PostedAnswer::Refused { .. } => None,
        };
        let checked = match self.trust.current(now).await {
            Ok(snapshot) if self.standing(&snapshot, now).await == RpStanding::Revoked => {
                Err(FailureReason::RpRevoked)
            }
            Ok(snapshot) => {
                self.apply_trust(&snapshot, now);
                if let PostedAnswer::Presentation { vp_token, .. } = &posted {
                    let uris = status_uris(vp_token);
                    self.trust
                        .ensure_status_lists(&uris, &snapshot, &self.rp, now)
                        .await;
                }
                let rp = self.rp.read().map_err(|_| VerifierError::Corrupt)?;
                rp.check_posted_answer(&pending, posted, now)
                    .map_err(|e| FailureReason::of(&e))
            }
            Err(TrustError::Stale(detail) | TrustError::Config(detail)) => {
                tracing::warn!(%detail, "answer refused: trust data unavailable");
                Err(FailureReason::StaleTrustData)
            }
        };
        match checked {
            Ok(answers) => {
                let result = SealedResult {
                    claims: disclosed_claims(&answers),
                    presentation: VerifiedPresentation {
                        vp_token: posted_vp_token.ok_or(VerifierError::Corrupt)?,
                        nonce: pending.request.nonce.clone(),
                    },
                };
                let sealed = self.sealer.seal(
                    SEAL_RESULT_V2,
                    &row.id,
                    &serde_json::to_vec(&result).map_err(|_| VerifierError::Corrupt)?,
                )?;
                if self.store.take_verified(&row.id, &sealed, now_i).await? {
                    self.counters.verified.fetch_add(1, Ordering::Relaxed);
                    Ok(AnswerOutcome::Verified)
                } else {
                    // Another answer took it between the read and this write.
                    self.count_failure(FailureReason::Replayed);
                    Err(AnswerError::Replayed)
                }
            }
            Err(reason) => {
                self.count_failure(reason);
                self.store
                    .record_failure(&row.id, reason.as_str(), now_i)
                    .await?;
                Err(AnswerError::Failed(reason))
            }
        }
    }

    fn count_failure(&self, reason: FailureReason) {
        if let Ok(mut failed) = self.counters.failed.lock() {
            *failed.entry(reason.as_str()).or_default() += 1;
        }
    }

    /// Puts the trust data into the relying party's policy when it changed: a newer bundle's
    /// roots and maximum ages, or (once) the pinned issuer roots, which do not age.
    fn apply_trust(&self, snapshot: &TrustSnapshot, now: u64) {
        let held = snapshot
            .bundle
            .as_ref()
            .map_or((0, 0), |b| (b.version, b.iat));
        let Ok(mut applied) = self.applied.lock() else {
            return;
        };
        if *applied == held {
            return;
        }
        let Ok(mut rp) = self.rp.write() else {
            return;
        };
        let policy = rp.policy();
        match &snapshot.bundle {
            Some(bundle) => match bundle.apply(policy) {
                Ok(()) => *applied = held,
                Err(error) => tracing::warn!(%error, "trust bundle not applied"),
            },
            None => {
                policy.issuer_trust = IssuerTrustData::Anchors(snapshot.issuer_anchors.clone());
                policy.trust_as_of = now;
                policy.max_trust_age = u64::MAX / 2;
                *applied = held;
            }
        }
    }

    /// Deletes requests expired more than `retention` seconds before `now`.
    pub async fn prune(&self, now: u64, retention: u64) -> Result<u64, VerifierError> {
        let before = i64::try_from(now.saturating_sub(retention)).unwrap_or(i64::MAX);
        Ok(self.store.prune(before).await?)
    }

    /// Where this relying party stands by `snapshot`, logged when not known.
    async fn standing(&self, snapshot: &TrustSnapshot, now: u64) -> RpStanding {
        let standing = self
            .trust
            .rp_standing(snapshot, self.rp_status.as_ref(), now)
            .await;
        if let RpStanding::Unknown(detail) = &standing {
            tracing::warn!(%detail, "the relying party's own status is unknown");
        }
        standing
    }

    /// Whether the trust data is usable at `now`: the bundle version and where the relying
    /// party stands, or why not.
    pub async fn trust_state(&self, now: u64) -> Result<(u64, RpStanding), TrustError> {
        let snapshot = self.trust.current(now).await?;
        let standing = self.standing(&snapshot, now).await;
        Ok((snapshot.version(), standing))
    }
}

/// The status reference of a registration JWT (the service's own configuration, read without
/// verifying it: wallets verify it; here it only says which entry of the relying parties'
/// status list is this service's).
fn status_reference(jwt: &str) -> Option<StatusReference> {
    let jws = UnverifiedJws::parse(jwt).ok()?;
    serde_json::from_slice::<Registration>(jws.unverified_payload())
        .ok()?
        .status_reference()
}

/// The status-list URIs the presentations' credentials name (read from the issuer-signed part,
/// unverified: they are only looked at to fetch what verification will need, from the trusted
/// locations only).
fn status_uris(vp_token: &Value) -> Vec<String> {
    let mut uris = Vec::new();
    for presentation in vp_token
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
    {
        let jwt = presentation.split('~').next().unwrap_or_default();
        let Ok(jws) = UnverifiedJws::parse(jwt) else {
            continue;
        };
        let Ok(payload) = serde_json::from_slice::<Value>(jws.unverified_payload()) else {
            continue;
        };
        if let Some(uri) = payload
            .pointer("/status/status_list/uri")
            .and_then(Value::as_str)
            && !uris.iter().any(|u| u == uri)
        {
            uris.push(uri.to_owned());
        }
    }
    uris
}

/// The claims the wallet disclosed, by credential query: each top-level claim a disclosure
/// reached, as the verified credential holds it (undisclosed parts absent).
fn disclosed_claims(answers: &[VerifiedAnswer]) -> Map<String, Value> {
    let mut out = Map::new();
    for answer in answers {
        let mut claims = Map::new();
        for (path, _) in &answer.verification.disclosed {
            let Some(name) = path.segments().first() else {
                continue;
            };
            if let Some(value) = answer.verification.claims.get(name) {
                claims.insert(name.clone(), value.clone());
            }
        }
        out.insert(answer.query.clone(), Value::Object(claims));
    }
    out
}
