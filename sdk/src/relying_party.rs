//! [`RelyingParty`]: what a third-party app or a telecom operator embeds to ask for credentials.
//! It signs an OpenID4VP request for a DCQL query (an invocation URL for a QR code or a deep
//! link), keeps it pending, and checks the wallet's `direct_post` or `direct_post.jwt` answer
//! offline: the pending request taken once, the presentations verified under the policy (trust
//! anchors and status lists cached by the host, each with a maximum age). A request travels by
//! value (`request=`, for offline QR codes) or by reference (`request_uri=`, which HAIP requires:
//! the host serves [`RelyingParty::request_object`] at that URL).
//!
//! A host that keeps its pending requests itself (in a database, so that they outlive the
//! process and are shared by several of them) uses the stateless half:
//! [`RelyingParty::prepare_request`] signs a request and hands back a [`PendingRequest`] (plain
//! data, serde) and its response-encryption key; [`RelyingParty::check_answer`] checks an
//! answer against a pending request the host read back, and the host takes the request once,
//! atomically, when the answer verifies.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{
    jose::{
        JwsSigner, PublicKey,
        jwe::{ContentEncryption, DecryptionKey},
    },
    openid4vp::{
        Oid4vpError,
        dcql::{DcqlQuery, FORMAT_SD_JWT_VC},
        request::{
            REGISTRATION_FORMAT, Registration, RequestObject, RequestReference, ResponseMode,
            STATIC_AUDIENCE, VerifierInfo, new_nonce, sign_request,
        },
        response::{
            PendingRequests, ResponsePolicy, VerifiedAnswer, open_encrypted_payload,
            verify_response,
        },
    },
    trust::TrustBundle,
    verifier::StatusListCache,
    x509,
};

/// How a relying party presents itself, and what it trusts. [`RelyingPartyConfig::new`] sets
/// the defaults; the fields are public to change them.
pub struct RelyingPartyConfig {
    /// The key of its certificate.
    pub signer: Box<dyn JwsSigner + Send + Sync>,
    /// Its certificate chain, leaf first (issued by the agency's relying-party CA).
    pub chain: Vec<Vec<u8>>,
    /// Its client identifier (`x509_san_dns:…` or `x509_hash:…`).
    pub client_id: String,
    /// Where wallets post their answers.
    pub response_uri: String,
    /// Its registration with the agency (a signed `rp-registration+jwt`), if it has one.
    pub registration: Option<String>,
    /// With a key, answers come encrypted (`direct_post.jwt`, A256GCM then A128GCM).
    pub encryption: Option<DecryptionKey>,
    /// How long a request stays answerable, seconds.
    pub request_ttl: u64,
    /// Trust and freshness.
    pub policy: ResponsePolicy,
}

impl RelyingPartyConfig {
    /// How long a request stays answerable unless the relying party says otherwise: five
    /// minutes, as long as a presentation's key binding may be old
    /// ([`ResponsePolicy::DEFAULT_MAX_PRESENTATION_AGE`]).
    pub const DEFAULT_REQUEST_TTL: u64 = 300;

    /// A relying party signing with `signer` under `chain`, known as `client_id`, answered at
    /// `response_uri`, verifying under `policy` (see [`ResponsePolicy::new`] for its defaults);
    /// unregistered, answers in the clear, requests answerable for
    /// [`Self::DEFAULT_REQUEST_TTL`].
    pub fn new(
        signer: Box<dyn JwsSigner + Send + Sync>,
        chain: Vec<Vec<u8>>,
        client_id: impl Into<String>,
        response_uri: impl Into<String>,
        policy: ResponsePolicy,
    ) -> Self {
        Self {
            signer,
            chain,
            client_id: client_id.into(),
            response_uri: response_uri.into(),
            registration: None,
            encryption: None,
            request_ttl: Self::DEFAULT_REQUEST_TTL,
            policy,
        }
    }
}

impl RelyingPartyConfig {
    /// A relying party configured from what the agency's registry issued it (`dinhdanh-server rp
    /// register` prints both): `certificate_chain_pem`, its access certificate then the
    /// relying-party CA, and `registration`, the agency-signed `rp-registration+jwt`; `signer`
    /// holds the certified key. Trust comes from the agency's `bundle` (verified by the host with
    /// [`TrustBundle::verify`]): the chain must lead to one of its relying-party roots and
    /// certify `signer`'s key, the registration must be signed under the same roots, name the
    /// client id (`x509_san_dns:` and the certificate's DNS name) and not have expired at
    /// `now`; answers are checked under [`TrustBundle::response_policy`]. A registration that
    /// fails is [`Oid4vpError::Unregistered`]; a chain or key that fails,
    /// [`Oid4vpError::InvalidClient`].
    pub fn from_registration(
        signer: Box<dyn JwsSigner + Send + Sync>,
        certificate_chain_pem: &str,
        registration: &str,
        response_uri: impl Into<String>,
        bundle: &TrustBundle,
        now: u64,
    ) -> Result<Self, Oid4vpError> {
        let untrusted = |why: String| Oid4vpError::InvalidClient(why);
        let anchors = bundle.rp_anchors().map_err(|e| untrusted(e.to_string()))?;
        let chain = x509::pem_to_der_chain(certificate_chain_pem)
            .map_err(|e| untrusted(format!("certificate chain: {e}")))?;
        let validated = x509::validate_chain(
            &chain,
            &anchors,
            &x509::ChainPolicy::at(now).require_digital_signature(),
        )
        .map_err(|e| untrusted(format!("certificate chain: {e}")))?;
        // The signer must hold the certified key: a signature over a fixed text shows it (the
        // key itself may live in an HSM).
        const PROBE: &[u8] = b"dinhdanh relying-party key check";
        let key = validated
            .leaf_public_key_sec1()
            .and_then(|sec1| PublicKey::from_sec1(sec1).ok())
            .ok_or_else(|| untrusted("the access certificate has no P-256 key".into()))?;
        signer
            .sign(PROBE)
            .and_then(|signature| key.verify_es256(PROBE, &signature))
            .map_err(|_| untrusted("the signer does not hold the certified key".into()))?;
        let [dns] = validated.leaf_dns_names().try_into().map_err(|_| {
            untrusted("the access certificate must name exactly one DNS name".into())
        })?;
        let client_id = format!("x509_san_dns:{dns}");
        let registered = Registration::verify(registration, &anchors, now)?;
        if registered.sub != client_id {
            return Err(Oid4vpError::Unregistered(format!(
                "the registration is for {}, not {client_id}",
                registered.sub
            )));
        }
        let policy = bundle
            .response_policy()
            .map_err(|e| untrusted(e.to_string()))?;
        let mut config = Self::new(signer, chain, client_id, response_uri, policy);
        config.registration = Some(registration.to_owned());
        Ok(config)
    }
}

/// A request made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRequest {
    /// The invocation URL (`openid4vp://?client_id=…&request=…`, or `…&request_uri=…`), for a QR
    /// code or a deep link.
    pub uri: String,
    /// Its `state`: the answer carries it back.
    pub state: String,
}

/// A request made and not yet answered, as data a host may store and read back: the request
/// object (its `nonce`, `state`, DCQL query and response mode) and the end of its lifetime. Its
/// response-encryption key, if any, is kept beside it ([`PreparedRequest::encryption`]), secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request object as signed.
    pub request: RequestObject,
    /// When it stops being answerable, Unix seconds.
    pub expires_at: u64,
}

impl PendingRequest {
    /// The `state` its answer carries back.
    pub fn state(&self) -> &str {
        self.request.state.as_deref().unwrap_or_default()
    }

    /// Whether an answer may still come at `now`.
    pub fn is_answerable(&self, now: u64) -> bool {
        self.expires_at > now
    }
}

/// A request signed by [`RelyingParty::prepare_request`] and kept nowhere yet: the host stores
/// `pending` (and `encryption`, secret) and serves `request_object` at its `request_uri`.
pub struct PreparedRequest {
    /// The signed request object (`oauth-authz-req+jwt`).
    pub request_object: String,
    /// What checking its answer needs.
    pub pending: PendingRequest,
    /// Under `direct_post.jwt`, the key made for this request alone that answers are encrypted
    /// to; `None` under `direct_post`.
    pub encryption: Option<DecryptionKey>,
}

impl std::fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("state", &self.pending.state())
            .field("expires_at", &self.pending.expires_at)
            .finish_non_exhaustive()
    }
}

/// How a request made by [`RelyingParty::prepare_request`] is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOptions<'a> {
    /// `direct_post`, or `direct_post.jwt` (answers encrypted to a key made for the request).
    pub response_mode: ResponseMode,
    /// Where this request's answer is posted; the configuration's `response_uri` when `None`.
    pub response_uri: Option<&'a str>,
}

/// What a wallet posted, read: an answer to check, or its error response (section 8.5).
#[derive(Debug, Clone, PartialEq)]
pub enum PostedAnswer {
    /// `vp_token` and `state`.
    Presentation {
        /// The `state` echoed.
        state: String,
        /// The presentations by credential query id.
        vp_token: Value,
    },
    /// An error response: advisory, since nothing proves who sent it.
    Refused {
        /// The `state` echoed.
        state: String,
        /// The error code and its description.
        error: Oid4vpError,
    },
}

impl PostedAnswer {
    /// The `state` the answer names.
    pub fn state(&self) -> &str {
        match self {
            Self::Presentation { state, .. } | Self::Refused { state, .. } => state,
        }
    }
}

/// Reads a wallet's `application/x-www-form-urlencoded` answer: with `encryption`, `response`
/// (a JWE of the parameters) is required and opened (an error response may also come in the
/// clear, as section 8.3.1 allows); without, the fields themselves.
pub fn read_answer(
    body: &str,
    encryption: Option<&DecryptionKey>,
) -> Result<PostedAnswer, Oid4vpError> {
    let invalid = |m: &str| Oid4vpError::InvalidResponse(m.into());
    let fields = crate::urlencode::parse(body)?;
    let accepted = [ContentEncryption::A256Gcm, ContentEncryption::A128Gcm];
    let parameters: Map<String, Value> = match (encryption, fields.get("response")) {
        (Some(key), Some(jwe)) => open_encrypted_payload(jwe, key, &accepted)?,
        (Some(_), None) if !fields.contains_key("error") => {
            return Err(invalid("the answer must be encrypted"));
        }
        _ => fields
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
    };
    let text = |name: &str| match parameters.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(Oid4vpError::InvalidResponse(format!(
            "{name} is not a string"
        ))),
    };
    let state = text("state")?.ok_or_else(|| invalid("no state"))?;
    if let Some(error) = text("error")? {
        return Ok(PostedAnswer::Refused {
            state,
            error: Oid4vpError::Refused {
                error,
                description: text("error_description")?,
            },
        });
    }
    let vp_token = match parameters.get("vp_token") {
        None => return Err(invalid("no vp_token")),
        // In a form body `vp_token` is JSON text; inside a JWE, JSON itself.
        Some(Value::String(json)) if encryption.is_none() => {
            serde_json::from_str(json).map_err(|_| invalid("vp_token is not JSON"))?
        }
        Some(token) => token.clone(),
    };
    Ok(PostedAnswer::Presentation { state, vp_token })
}

/// A relying party.
pub struct RelyingParty {
    config: RelyingPartyConfig,
    pending: PendingRequests,
    status_lists: StatusListCache,
    /// Request objects served by reference: by `request_uri`, the signed object and the `state`
    /// of its request (served while that is pending).
    served: HashMap<String, (String, String)>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("client_id", &self.config.client_id)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

const ENCRYPTION_KID: &str = "response-encryption";

impl RelyingParty {
    /// A relying party with no request pending and no status list cached.
    pub fn new(config: RelyingPartyConfig) -> Self {
        Self {
            config,
            pending: PendingRequests::new(),
            status_lists: StatusListCache::new(),
            served: HashMap::new(),
        }
    }

    /// The status lists the host fetched (add them with [`StatusListCache::insert`]).
    pub fn status_lists(&mut self) -> &mut StatusListCache {
        &mut self.status_lists
    }

    /// Signs a request for `query` and keeps it pending until `now` + the request lifetime; the
    /// invocation URL carries it by value (`request=`), so that it works without a network.
    pub fn create_request(
        &mut self,
        query: DcqlQuery,
        now: u64,
    ) -> Result<CreatedRequest, Oid4vpError> {
        let (request, state) = self.sign_pending(query, now)?;
        Ok(CreatedRequest {
            uri: RequestReference::Value {
                client_id: self.config.client_id.clone(),
                request,
            }
            .to_uri(),
            state,
        })
    }

    /// As [`RelyingParty::create_request`], the request passed by reference: the invocation URL
    /// carries `request_uri`, an `https` URL under `base` (the host's endpoint for request
    /// objects) with a random last segment, where the host serves
    /// [`RelyingParty::request_object`] to the wallet's GET (RFC 9101 section 5.2; OpenID4VP
    /// section 5.10 for `request_uri_method=post`, which wallets may also answer with GET).
    pub fn create_request_by_reference(
        &mut self,
        query: DcqlQuery,
        base: &str,
        now: u64,
    ) -> Result<CreatedRequest, Oid4vpError> {
        if !base.starts_with("https://") {
            return Err(Oid4vpError::InvalidRequest(
                "a request_uri must be https".into(),
            ));
        }
        let (request, state) = self.sign_pending(query, now)?;
        let request_uri = format!("{}/{}", base.trim_end_matches('/'), new_nonce()?);
        let pending = &self.pending;
        self.served
            .retain(|_, (_, served_state)| pending.get(served_state, now).is_ok());
        self.served
            .insert(request_uri.clone(), (request, state.clone()));
        Ok(CreatedRequest {
            uri: RequestReference::Uri {
                client_id: self.config.client_id.clone(),
                request_uri,
            }
            .to_uri(),
            state,
        })
    }

    /// The signed request object to serve at `request_uri` (as the body of a 200 with content
    /// type `application/oauth-authz-req+jwt`), while its request is answerable; `None`: answer
    /// 404.
    pub fn request_object(&self, request_uri: &str, now: u64) -> Option<&str> {
        self.served
            .get(request_uri)
            .filter(|(_, state)| self.pending.get(state, now).is_ok())
            .map(|(jwt, _)| jwt.as_str())
    }

    /// Signs a request object for `query` and keeps it pending: the object and its `state`.
    fn sign_pending(
        &mut self,
        query: DcqlQuery,
        now: u64,
    ) -> Result<(String, String), Oid4vpError> {
        let mode = if self.config.encryption.is_some() {
            ResponseMode::DirectPostJwt
        } else {
            ResponseMode::DirectPost
        };
        let (request, pending) = self.sign(
            query,
            mode,
            self.config.encryption.as_ref(),
            &self.config.response_uri,
            now,
        )?;
        let state = pending.state().to_owned();
        self.pending.insert(pending.request, pending.expires_at)?;
        Ok((request, state))
    }

    /// Signs a request for `query`, answerable until `now` + the request lifetime, and keeps
    /// nothing: the host stores [`PreparedRequest::pending`] (and its encryption key, secret),
    /// serves [`PreparedRequest::request_object`] by reference while the request is pending,
    /// and checks the answer with [`RelyingParty::check_answer`]. Under `direct_post.jwt` the
    /// answers are encrypted to a key made for this request alone.
    pub fn prepare_request(
        &self,
        query: DcqlQuery,
        options: RequestOptions<'_>,
        now: u64,
    ) -> Result<PreparedRequest, Oid4vpError> {
        let encryption = match options.response_mode {
            ResponseMode::DirectPost => None,
            ResponseMode::DirectPostJwt => Some(
                DecryptionKey::generate()
                    .map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?,
            ),
        };
        let response_uri = options.response_uri.unwrap_or(&self.config.response_uri);
        let (request_object, pending) = self.sign(
            query,
            options.response_mode,
            encryption.as_ref(),
            response_uri,
            now,
        )?;
        Ok(PreparedRequest {
            request_object,
            pending,
            encryption,
        })
    }

    /// Signs a request object for `query`, answered in `mode` (to `encryption`'s key under
    /// `direct_post.jwt`) at `response_uri`.
    fn sign(
        &self,
        query: DcqlQuery,
        mode: ResponseMode,
        encryption: Option<&DecryptionKey>,
        response_uri: &str,
        now: u64,
    ) -> Result<(String, PendingRequest), Oid4vpError> {
        let state = new_nonce()?;
        let exp = now + self.config.request_ttl;
        // Under x509_san_dns and x509_hash all verifier metadata comes from `client_metadata`
        // (section 5.9.3), and `vp_formats_supported` is required there (sections 5.1, 11.1):
        // the formats always, the encryption keys when answers must come encrypted.
        let mut metadata = Map::new();
        metadata.insert(
            "vp_formats_supported".into(),
            json!({ FORMAT_SD_JWT_VC: {
                "sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"] } }),
        );
        let encryption = match mode {
            ResponseMode::DirectPost => None,
            ResponseMode::DirectPostJwt => Some(encryption.ok_or_else(|| {
                Oid4vpError::InvalidRequest("direct_post.jwt needs an encryption key".into())
            })?),
        };
        if let Some(key) = encryption {
            metadata.insert(
                "jwks".into(),
                json!({ "keys": [key.public_jwk(ENCRYPTION_KID)] }),
            );
            metadata.insert(
                "encrypted_response_enc_values_supported".into(),
                json!(["A256GCM", "A128GCM"]),
            );
        }
        let object = RequestObject {
            client_id: self.config.client_id.clone(),
            response_type: "vp_token".into(),
            response_mode: mode,
            response_uri: response_uri.to_owned(),
            nonce: new_nonce()?,
            state: Some(state),
            dcql_query: query,
            client_metadata: Some(Value::Object(metadata)),
            verifier_info: self.config.registration.as_ref().map(|jwt| {
                vec![VerifierInfo {
                    format: REGISTRATION_FORMAT.into(),
                    data: Value::String(jwt.clone()),
                    credential_ids: None,
                }]
            }),
            aud: Some(STATIC_AUDIENCE.into()),
            iat: Some(now),
            exp: Some(exp),
        };
        let request = sign_request(&object, self.config.signer.as_ref(), &self.config.chain)?;
        Ok((
            request,
            PendingRequest {
                request: object,
                expires_at: exp,
            },
        ))
    }

    /// Checks a wallet's answer (the body it posted, see [`RelyingParty::receive`]) to the
    /// host-kept `pending` request, whose encryption key is `encryption`, at `now`: the verified
    /// presentations. Nothing is taken: the host takes the request once, atomically, when this
    /// succeeds (so a second answer finds it gone), and leaves it pending otherwise. An answer
    /// for another `state` is [`Oid4vpError::InvalidResponse`]; a request no longer answerable
    /// is [`Oid4vpError::UnknownOrReplayed`]; an error response is [`Oid4vpError::Refused`].
    pub fn check_answer(
        &self,
        pending: &PendingRequest,
        encryption: Option<&DecryptionKey>,
        body: &str,
        now: u64,
    ) -> Result<Vec<VerifiedAnswer>, Oid4vpError> {
        if !pending.is_answerable(now) {
            return Err(Oid4vpError::UnknownOrReplayed);
        }
        if (pending.request.response_mode == ResponseMode::DirectPostJwt) != encryption.is_some() {
            return Err(Oid4vpError::InvalidRequest(
                "the response mode and the encryption key disagree".into(),
            ));
        }
        self.check_posted_answer(pending, read_answer(body, encryption)?, now)
    }

    /// As [`RelyingParty::check_answer`], for an answer the host has already read with
    /// [`read_answer`] (to look at it first, e.g. for the status lists it will need).
    pub fn check_posted_answer(
        &self,
        pending: &PendingRequest,
        answer: PostedAnswer,
        now: u64,
    ) -> Result<Vec<VerifiedAnswer>, Oid4vpError> {
        if !pending.is_answerable(now) {
            return Err(Oid4vpError::UnknownOrReplayed);
        }
        match answer {
            PostedAnswer::Refused { error, .. } => Err(error),
            PostedAnswer::Presentation { state, vp_token } => {
                if state != pending.state() {
                    return Err(Oid4vpError::InvalidResponse(
                        "the answer is for another request".into(),
                    ));
                }
                verify_response(
                    &vp_token,
                    &pending.request,
                    &self.config.policy,
                    &self.status_lists,
                    now,
                )
            }
        }
    }

    /// The trust and freshness policy answers are checked under (the host replaces its trust
    /// data here when it refreshes it).
    pub fn policy(&mut self) -> &mut ResponsePolicy {
        &mut self.config.policy
    }

    /// Checks a wallet's answer, the `application/x-www-form-urlencoded` body it posted
    /// (`vp_token` and `state`, or `response`, a JWE of both): the verified presentations. The
    /// request it answers is taken once its answer verifies; a second answer is refused, and an
    /// answer that fails leaves the request pending. An error response (section 8.5; encrypted,
    /// or in the clear as section 8.3.1 allows) is [`Oid4vpError::Refused`] with the wallet's
    /// code (`access_denied`: the citizen declined, or the wallet holds nothing it may present
    /// for this request). Nothing proves who sent it, so it is advisory: the request stays
    /// pending until it expires or a verified answer arrives.
    pub fn receive(&mut self, body: &str, now: u64) -> Result<Vec<VerifiedAnswer>, Oid4vpError> {
        let (state, vp_token) = match read_answer(body, self.config.encryption.as_ref())? {
            // An error response carries no proof of who sent it (`state` is in the request
            // anyone who saw the QR code can read): it is advisory and leaves the request
            // pending, so no third party can cancel it.
            PostedAnswer::Refused { state, error } => {
                self.pending.get(&state, now)?;
                return Err(error);
            }
            PostedAnswer::Presentation { state, vp_token } => (state, vp_token),
        };
        // Taken only once its answer verifies: an answer that fails (junk posted with a known
        // `state`) leaves the request to its wallet.
        let answers = verify_response(
            &vp_token,
            self.pending.get(&state, now)?,
            &self.config.policy,
            &self.status_lists,
            now,
        )?;
        self.pending.take(&state, now)?;
        self.served
            .retain(|_, (served_state, _)| *served_state != state);
        Ok(answers)
    }
}
