//! [`Wallet`]: what a phone app drives, on top of the wallet core ([`crate::wallet`]) and the
//! protocols ([`crate::openid4vci`], [`crate::openid4vp`]). It receives credentials over OpenID4VCI (a batch of
//! copies, each bound to a new keystore key, verified, stored encrypted), and answers OpenID4VP
//! requests: checks the request, evaluates its DCQL query over the stored credentials, shows a
//! consent, and on approval presents an unused copy of each credential and logs it.

use std::sync::Arc;

use serde_json::Value;

use crate::{
    jose::{self, b64},
    openid4vci::client::{self, ClientError, CredentialsRequest, HttpRequest, Transport},
    openid4vp::{
        Oid4vpError,
        dcql::{Candidate, Evaluation, FORMAT_SD_JWT_VC},
        request::{Consent, RequestReference, VerifiedRequest, authenticate_request},
        response::{direct_post_body, direct_post_jwt_body, error_body, error_jwt_body, vp_token},
    },
    sdjwt::{KeyBindingInput, SdJwt, SdJwtError},
    status_list::StatusListToken,
    trust::{TrustBundle, TrustBundleError},
    verifier::{StatusListCache, StatusTrust},
    wallet::{
        CopyRecord, CredentialInfo, KeyStore, KeyStoreError, KeyStoreSigner, PresentationRecord,
        StoreError, WalletStore,
    },
    x509::TrustAnchor,
};

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The keystore failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// Receiving credentials failed.
    #[error(transparent)]
    Issuance(#[from] ClientError),
    /// A presentation request was refused.
    #[error(transparent)]
    Presentation(#[from] Oid4vpError),
    /// No credential in the wallet answers the request.
    #[error("no credential in the wallet answers this request")]
    NoMatch,
    /// A request from an authenticated verifier was refused: `response` is the error response
    /// (section 8.5, `error`'s code, unencrypted) for the host to POST to the verifier's
    /// `response_uri`, so that it learns why instead of waiting.
    #[error("{error}")]
    RequestRefused {
        /// Why.
        error: Oid4vpError,
        /// The error response.
        response: Box<PresentationResponse>,
    },
    /// The verifier has no registration with the agency: the wallet discloses nothing to it.
    /// `response` is the `access_denied` answer (section 8.5) for the host to POST to the
    /// verifier's `response_uri`.
    #[error("{verifier} is not registered with the agency")]
    UnregisteredVerifier {
        /// The verifier's client identifier.
        verifier: String,
        /// The `access_denied` response.
        response: Box<PresentationResponse>,
    },
    /// A stored credential no longer parses.
    #[error("a stored credential is unreadable: {0}")]
    Credential(#[from] SdJwtError),
    /// The agency revoked the verifier's registration: the wallet discloses nothing to it and
    /// answers nothing (its `response_uri` is no longer vouched for).
    #[error("{verifier} was revoked by the agency")]
    RevokedVerifier {
        /// The verifier's client identifier.
        verifier: String,
    },
    /// The wallet's trust data (the trust bundle, the relying parties' status list) is missing
    /// or older than its maximum age: the host fetches it again
    /// ([`Wallet::apply_trust_bundle`], [`Wallet::refresh_rp_status_list`]) and retries.
    #[error("stale trust data: {0}")]
    StaleTrustData(String),
    /// A trust bundle was refused (invalid, expired, or older than the one held).
    #[error(transparent)]
    TrustBundle(#[from] TrustBundleError),
    /// A status list handed in does not verify or is not the one the trust bundle names.
    #[error("invalid trust data: {0}")]
    InvalidTrustData(String),
}

/// The alias of the key the wallet binds access tokens to (DPoP).
pub const DPOP_ALIAS: &str = "dinhdanh.dpop";

/// A request checked and evaluated, waiting for the citizen's consent.
#[derive(Debug, Clone)]
pub struct PendingPresentation {
    /// The request.
    pub request: VerifiedRequest,
    /// What the wallet would disclose, what it refuses, to whom and why.
    pub consent: Consent,
    /// The evaluation of the query.
    pub evaluation: Evaluation,
    /// Store ids of the candidates, in evaluation order.
    credential_ids: Vec<String>,
}

impl PendingPresentation {
    /// The store id of the credential a consent item (its `candidate`) would present.
    pub fn credential_id(&self, candidate: usize) -> Option<&str> {
        self.credential_ids.get(candidate).map(String::as_str)
    }
}

/// The wallet's answer, to POST to `response_uri`.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationResponse {
    /// Where to send it.
    pub response_uri: String,
    /// The `vp_token`; `None` when the answer is an error response (`access_denied` when nothing
    /// is presented), which says so in `body`.
    pub vp_token: Option<Value>,
    /// The `application/x-www-form-urlencoded` body: `vp_token` and `state` (or `error` and
    /// `state`), or with `direct_post.jwt` `response`, a JWE of them to the verifier's key.
    pub body: String,
    /// Copies left unused, per credential presented (0: refresh it).
    pub unused_left: Vec<(String, u32)>,
}

/// A citizen's wallet. It owns its keystore handle and its store, so a host keeps one wallet
/// for as long as the app runs.
pub struct Wallet {
    keys: Arc<dyn KeyStore>,
    store: WalletStore,
    issuer_anchors: Arc<[TrustAnchor]>,
    verifier_anchors: Arc<[TrustAnchor]>,
    trust: Option<BundleTrust>,
}

/// Trust taken from the agency's bundle, and the relying parties' status list fetched where it
/// says.
struct BundleTrust {
    bundle: TrustBundle,
    rp_status: Option<StatusListToken>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").finish_non_exhaustive()
    }
}

impl Wallet {
    /// Opens the wallet file at `path` with `keys` (its data key wrapped by `wrapping_alias`),
    /// trusting credentials that chain to `issuer_anchors` and requests from relying parties
    /// that chain to `verifier_anchors` (the agency's roots, shipped with the app). The anchors
    /// may be a `Vec` or an `Arc` shared with other wallets.
    pub fn open(
        path: &std::path::Path,
        keys: Arc<dyn KeyStore>,
        wrapping_alias: &str,
        issuer_anchors: impl Into<Arc<[TrustAnchor]>>,
        verifier_anchors: impl Into<Arc<[TrustAnchor]>>,
    ) -> Result<Self, WalletError> {
        Ok(Self::from_store(
            WalletStore::open(path, keys.as_ref(), wrapping_alias)?,
            keys,
            issuer_anchors,
            verifier_anchors,
        ))
    }

    /// A wallet over an open store.
    pub fn from_store(
        store: WalletStore,
        keys: Arc<dyn KeyStore>,
        issuer_anchors: impl Into<Arc<[TrustAnchor]>>,
        verifier_anchors: impl Into<Arc<[TrustAnchor]>>,
    ) -> Self {
        Self {
            keys,
            store,
            issuer_anchors: issuer_anchors.into(),
            verifier_anchors: verifier_anchors.into(),
            trust: None,
        }
    }

    /// Takes the wallet's trust from the agency's trust bundle (`trust-bundle+jwt`, fetched by
    /// the host from `/trust/bundle`), verified against `agency_roots` (pinned in the app) at
    /// `now`: credentials are then trusted under its issuer roots and requests under its
    /// relying-party roots, and a request is answered only while the bundle and the relying
    /// parties' status list ([`Wallet::refresh_rp_status_list`]) are within their maximum ages;
    /// a relying party the agency revoked is refused. A bundle older than the one held is
    /// refused ([`TrustBundleError::Rollback`]). Returns the bundle, for the host to fetch the
    /// status list it names.
    pub fn apply_trust_bundle(
        &mut self,
        jwt: &str,
        agency_roots: &[TrustAnchor],
        now: u64,
    ) -> Result<TrustBundle, WalletError> {
        let bundle = TrustBundle::verify(jwt, agency_roots, now)?;
        if let Some(held) = &self.trust {
            bundle.check_replaces(&held.bundle)?;
        }
        self.issuer_anchors = bundle.issuer_anchors()?.into();
        self.verifier_anchors = bundle.rp_anchors()?.into();
        // A status list is kept while the bundle still names it.
        let rp_status = self.trust.take().and_then(|held| {
            (held.bundle.status_lists.relying_parties == bundle.status_lists.relying_parties)
                .then_some(held.rp_status)
                .flatten()
        });
        self.trust = Some(BundleTrust {
            bundle: bundle.clone(),
            rp_status,
        });
        Ok(bundle)
    }

    /// The trust bundle the wallet holds, if any.
    pub fn trust_bundle(&self) -> Option<&TrustBundle> {
        self.trust.as_ref().map(|trust| &trust.bundle)
    }

    /// Hands in the relying parties' status list (`statuslist+jwt`) the host fetched at the
    /// bundle's `status_lists.relying_parties`: verified under the bundle's issuer roots, for
    /// that URI, and not older than `max_ages.status_list` at `now`. A newer list replaces the
    /// held one; an older one is ignored.
    pub fn refresh_rp_status_list(&mut self, token: &str, now: u64) -> Result<(), WalletError> {
        let trust = self.trust.as_mut().ok_or_else(|| {
            WalletError::InvalidTrustData("no trust bundle: apply one first".into())
        })?;
        let uri = trust
            .bundle
            .status_lists
            .relying_parties
            .as_deref()
            .ok_or_else(|| {
                WalletError::InvalidTrustData("the trust bundle names no status list".into())
            })?;
        let anchors = trust
            .bundle
            .issuer_anchors()
            .map_err(|e| WalletError::InvalidTrustData(e.to_string()))?;
        let mut cache = StatusListCache::new();
        cache
            .insert(uri, token, &StatusTrust::Anchors(anchors), now)
            .map_err(|e| WalletError::InvalidTrustData(e.to_string()))?;
        let verified = cache
            .get(uri)
            .ok_or_else(|| WalletError::InvalidTrustData("no status list".into()))?;
        verified
            .check_fresh(now, trust.bundle.max_ages.status_list)
            .map_err(|e| WalletError::StaleTrustData(e.to_string()))?;
        // An older list than the one held could turn a revocation back into "valid".
        if trust
            .rp_status
            .as_ref()
            .is_none_or(|held| held.iat <= verified.iat)
        {
            trust.rp_status = Some(verified.clone());
        }
        Ok(())
    }

    /// With a trust bundle: the bundle must still be fresh, and a registration that names its
    /// status in the bundle's list needs that list, fresh, saying it is valid.
    fn check_relying_party(&self, request: &VerifiedRequest, now: u64) -> Result<(), WalletError> {
        let Some(trust) = &self.trust else {
            return Ok(());
        };
        trust
            .bundle
            .check_fresh(now)
            .map_err(|e| WalletError::StaleTrustData(e.to_string()))?;
        let Some(reference) = request
            .registration
            .as_ref()
            .and_then(|registration| registration.status_reference())
        else {
            return Ok(());
        };
        if trust.bundle.status_lists.relying_parties.as_deref() != Some(reference.uri.as_str()) {
            return Err(WalletError::StaleTrustData(format!(
                "the registration's status list {} is not the trust bundle's",
                reference.uri
            )));
        }
        let status = trust.rp_status.as_ref().ok_or_else(|| {
            WalletError::StaleTrustData("no relying-party status list: fetch it".into())
        })?;
        status
            .check_fresh(now, trust.bundle.max_ages.status_list)
            .map_err(|e| WalletError::StaleTrustData(e.to_string()))?;
        match status.status_of(&reference) {
            Ok(found) if found.is_valid() => Ok(()),
            Ok(_) => Err(WalletError::RevokedVerifier {
                verifier: request.request.client_id.clone(),
            }),
            Err(e) => Err(WalletError::InvalidTrustData(e.to_string())),
        }
    }

    /// The keystore the wallet's keys live in.
    pub fn keys(&self) -> &Arc<dyn KeyStore> {
        &self.keys
    }

    /// The store, giving the wallet up.
    pub fn into_store(self) -> WalletStore {
        self.store
    }

    /// The credentials held, oldest first.
    pub fn credentials(&self) -> Result<Vec<CredentialInfo>, WalletError> {
        Ok(self.store.list()?)
    }

    /// The presentation log, oldest first.
    pub fn presentations(&self) -> Result<Vec<PresentationRecord>, WalletError> {
        Ok(self.store.presentations()?)
    }

    /// Copies never used, and all copies, of a credential.
    pub fn copies_left(&self, id: &str) -> Result<(u32, u32), WalletError> {
        Ok(self.store.copies_left(id)?)
    }

    /// The store, for what the facade does not cover.
    pub fn store(&mut self) -> &mut WalletStore {
        &mut self.store
    }

    /// Receives the credentials of an offer with a pre-authorized code: `copies` of each offered
    /// configuration (at most the issuer's batch size), each bound to a new keystore key, the
    /// access token bound to the wallet's DPoP key. Returns what was stored.
    pub fn receive_offer(
        &mut self,
        transport: &dyn Transport,
        offer_uri: &str,
        tx_code: Option<&str>,
        copies: u32,
        now: u64,
    ) -> Result<Vec<CredentialInfo>, WalletError> {
        let session = client::resolve_offer(transport, offer_uri)?;
        if !self.keys.contains(DPOP_ALIAS)? {
            self.keys.generate_signing_key(DPOP_ALIAS)?;
        }
        let dpop = KeyStoreSigner::new(self.keys.as_ref(), DPOP_ALIAS)?;
        let token = client::redeem_pre_authorized(transport, &session, tx_code, Some(&dpop), now)?;
        let copies = copies.clamp(1, session.batch_size) as usize;
        let mut stored = Vec::new();
        let offered = session
            .offer
            .as_ref()
            .map(|o| o.credential_configuration_ids.clone())
            .unwrap_or_default();
        for configuration in &offered {
            let aliases: Vec<String> =
                (0..copies).map(|_| new_alias()).collect::<Result<_, _>>()?;
            for alias in &aliases {
                self.keys.generate_signing_key(alias)?;
            }
            let received = (|| {
                let signers: Vec<KeyStoreSigner<'_>> = aliases
                    .iter()
                    .map(|alias| KeyStoreSigner::new(self.keys.as_ref(), alias))
                    .collect::<Result<_, _>>()?;
                let received = client::request_credentials(
                    transport,
                    &session,
                    &token,
                    &CredentialsRequest {
                        configuration_id: configuration,
                        keys: &signers,
                        dpop: Some(&dpop),
                        anchors: &self.issuer_anchors,
                        now,
                    },
                )?;
                Ok::<_, WalletError>(received)
            })();
            let received = match received {
                Ok(received) => received,
                Err(error) => {
                    // No credential, no key: the keys made for it go.
                    for alias in &aliases {
                        let _ = self.keys.delete(alias);
                    }
                    return Err(error);
                }
            };
            let first = &received[0].verified;
            let info = CredentialInfo {
                id: String::new(),
                configuration_id: Some(configuration.clone()),
                vct: first.vct.clone(),
                issuer: first.iss.clone().unwrap_or_else(|| session.issuer.clone()),
                issued_at: first
                    .claims
                    .get("iat")
                    .and_then(Value::as_u64)
                    .unwrap_or(now),
                expires_at: first.expires_at,
                added_at: now,
            };
            let records: Vec<CopyRecord> = received
                .iter()
                .zip(&aliases)
                .map(|(r, alias)| CopyRecord {
                    sd_jwt: r.sd_jwt.clone(),
                    key_alias: alias.clone(),
                })
                .collect();
            let id = self.store.add(&info, &records)?;
            stored.push(CredentialInfo { id, ..info });
        }
        Ok(stored)
    }

    /// Checks a presentation request (an invocation URL; `request_uri` is fetched through
    /// `transport`) and evaluates it: the consent to show. Nothing is disclosed or stored yet.
    pub fn prepare_presentation(
        &self,
        uri: &str,
        transport: Option<&dyn Transport>,
        now: u64,
    ) -> Result<PendingPresentation, WalletError> {
        let (client_id, jwt) = match RequestReference::parse(uri)? {
            RequestReference::Value { client_id, request } => (client_id, request),
            RequestReference::Uri {
                client_id,
                request_uri,
            } => {
                let transport = transport.ok_or_else(|| {
                    Oid4vpError::InvalidRequest("request_uri needs a network".into())
                })?;
                let response = transport
                    .send(&HttpRequest {
                        method: "GET".into(),
                        url: request_uri,
                        headers: vec![("accept".into(), "application/oauth-authz-req+jwt".into())],
                        body: Vec::new(),
                    })
                    .map_err(ClientError::from)?;
                if response.status != 200 {
                    return Err(Oid4vpError::InvalidRequest(format!(
                        "request_uri answered {}",
                        response.status
                    ))
                    .into());
                }
                let jwt = String::from_utf8(response.body).map_err(|_| {
                    Oid4vpError::InvalidRequest("the request object is not text".into())
                })?;
                (client_id, jwt.trim().to_owned())
            }
        };
        let authenticated = authenticate_request(&jwt, &client_id, &self.verifier_anchors, now)?;
        // From here on the verifier is authenticated and `response_uri` is its own: a refusal is
        // answered there (section 8.5).
        let response_uri = authenticated.response_uri().to_owned();
        let state = authenticated.state().map(str::to_owned);
        let request = authenticated
            .verify(&self.verifier_anchors, now)
            .map_err(|error| WalletError::RequestRefused {
                response: Box::new(PresentationResponse {
                    body: error_body(error.code(), Some(&error.to_string()), state.as_deref()),
                    response_uri,
                    vp_token: None,
                    unused_left: Vec::new(),
                }),
                error,
            })?;
        self.check_relying_party(&request, now)?;
        let infos = self.store.list()?;
        let parsed: Vec<SdJwt> = infos
            .iter()
            .map(|info| {
                let copies = self.store.copies(&info.id)?;
                Ok(SdJwt::parse(&copies[0].sd_jwt)?)
            })
            .collect::<Result<_, WalletError>>()?;
        // For `trusted_authorities` of type `aki`: the key identifiers of each issuer's chain,
        // parsed from the certificates only when the query names authorities at all.
        let names_authorities = request
            .request
            .dcql_query
            .credentials
            .iter()
            .any(|query| query.trusted_authorities.is_some());
        let akis: Vec<Vec<String>> = parsed
            .iter()
            .map(|sd_jwt| {
                sd_jwt
                    .header()
                    .x5c
                    .as_deref()
                    .filter(|_| names_authorities)
                    .and_then(|x5c| crate::x509::x5c_to_der_chain(x5c).ok())
                    .map(|chain| crate::x509::authority_key_ids(&chain))
                    .unwrap_or_default()
            })
            .collect();
        let candidates: Vec<Candidate<'_>> = infos
            .iter()
            .zip(&parsed)
            .zip(&akis)
            .map(|((info, sd_jwt), akis)| Candidate {
                format: FORMAT_SD_JWT_VC,
                vct: &info.vct,
                claims: sd_jwt.claims(),
                authority_key_ids: akis,
                holder_bound: true,
            })
            .collect();
        let evaluation = request
            .request
            .dcql_query
            .evaluate(&candidates)
            .ok_or(WalletError::NoMatch)?;
        let consent = request.consent(&evaluation, &candidates);
        Ok(PendingPresentation {
            request,
            consent,
            evaluation,
            credential_ids: infos.into_iter().map(|i| i.id).collect(),
        })
    }

    /// Presents what the consent allows (the citizen approved it): for each credential an
    /// unused copy, with only the consented claims and key binding to this request; each
    /// presentation logged. When the consent has nothing to present, the answer is
    /// `access_denied` ([`Wallet::decline`]); a verifier without a registration gets that
    /// answer inside [`WalletError::UnregisteredVerifier`], so that no host mistakes it for a
    /// presentation.
    pub fn respond(
        &mut self,
        pending: &PendingPresentation,
        now: u64,
    ) -> Result<PresentationResponse, WalletError> {
        if !pending.consent.registered {
            return Err(WalletError::UnregisteredVerifier {
                verifier: pending.consent.verifier.clone(),
                response: Box::new(self.decline(pending)?),
            });
        }
        if pending.consent.credentials.is_empty() {
            return self.decline(pending);
        }
        let request = &pending.request.request;
        let mut presentations = Vec::new();
        let mut unused_left = Vec::new();
        for item in &pending.consent.credentials {
            let id = pending
                .credential_id(item.candidate)
                .ok_or(WalletError::NoMatch)?;
            let taken = self.store.take_copy(id, now)?;
            let signer = KeyStoreSigner::new(self.keys.as_ref(), &taken.copy.key_alias)?;
            let presentation = SdJwt::parse(&taken.copy.sd_jwt)?.present(
                &item.claims,
                Some(KeyBindingInput {
                    signer: &signer,
                    aud: &request.client_id,
                    nonce: &request.nonce,
                    iat: now,
                }),
            )?;
            self.store.log_presentation(&PresentationRecord {
                at: now,
                verifier: pending.consent.verifier.clone(),
                verifier_name: Some(pending.consent.verifier_name.clone()),
                purpose: pending.consent.purpose.clone(),
                credential_id: id.to_owned(),
                claims: item.claims.iter().map(ToString::to_string).collect(),
            })?;
            unused_left.push((id.to_owned(), taken.unused_left));
            presentations.push((item.query.clone(), presentation));
        }
        let token = vp_token(&presentations);
        let body = match &pending.request.encryption {
            Some(encryption) => direct_post_jwt_body(&token, request.state.as_deref(), encryption)?,
            None => direct_post_body(&token, request.state.as_deref()),
        };
        Ok(PresentationResponse {
            response_uri: request.response_uri.clone(),
            body,
            vp_token: Some(token),
            unused_left,
        })
    }

    /// Declines a request (the citizen refused, or nothing can be presented within the
    /// registration): the `access_denied` error response (section 8.5), in the response mode
    /// asked for. Nothing is disclosed, used or logged.
    pub fn decline(
        &self,
        pending: &PendingPresentation,
    ) -> Result<PresentationResponse, WalletError> {
        const ACCESS_DENIED: &str = "access_denied";
        let request = &pending.request.request;
        let state = request.state.as_deref();
        // No description: why the wallet says no is the citizen's business (section 15.9).
        let body = match &pending.request.encryption {
            Some(encryption) => error_jwt_body(ACCESS_DENIED, None, state, encryption)?,
            None => error_body(ACCESS_DENIED, None, state),
        };
        Ok(PresentationResponse {
            response_uri: request.response_uri.clone(),
            vp_token: None,
            body,
            unused_left: Vec::new(),
        })
    }

    /// Deletes a credential and the keys of its copies.
    pub fn remove(&mut self, id: &str) -> Result<(), WalletError> {
        let copies = self.store.copies(id)?;
        self.store.remove(id)?;
        for copy in copies {
            self.keys.delete(&copy.key_alias)?;
        }
        Ok(())
    }
}

/// A fresh random key alias for a copy's holder key.
fn new_alias() -> Result<String, WalletError> {
    let mut bytes = [0u8; 12];
    jose::random_bytes(&mut bytes)
        .map_err(|e| KeyStoreError::Refused(format!("no randomness: {e}")))?;
    Ok(format!("dinhdanh.holder.{}", b64::encode(bytes)))
}
