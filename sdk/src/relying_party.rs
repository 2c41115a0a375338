//! [`RelyingParty`]: what a third-party app or a telecom operator embeds to ask for credentials.
//! It signs an OpenID4VP request for a DCQL query (an invocation URL for a QR code or a deep
//! link), keeps it pending, and checks the wallet's `direct_post` or `direct_post.jwt` answer
//! offline: the pending request taken once, the presentations verified under the policy (trust
//! anchors and status lists cached by the host, each with a maximum age).

use serde_json::{Value, json};

use crate::{
    jose::{
        JwsSigner,
        jwe::{ContentEncryption, DecryptionKey},
    },
    openid4vp::{
        Oid4vpError,
        dcql::DcqlQuery,
        request::{
            REGISTRATION_FORMAT, RequestObject, RequestReference, ResponseMode, STATIC_AUDIENCE,
            VerifierInfo, new_nonce, sign_request,
        },
        response::{
            PendingRequests, ResponsePolicy, VerifiedAnswer, open_encrypted_response,
            verify_response,
        },
    },
    verifier::StatusListCache,
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

/// A request made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRequest {
    /// The invocation URL (`openid4vp://?client_id=…&request=…`), for a QR code or a deep link.
    pub uri: String,
    /// Its `state`: the answer carries it back.
    pub state: String,
}

/// A relying party.
pub struct RelyingParty {
    config: RelyingPartyConfig,
    pending: PendingRequests,
    status_lists: StatusListCache,
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
        }
    }

    /// The status lists the host fetched (add them with [`StatusListCache::insert`]).
    pub fn status_lists(&mut self) -> &mut StatusListCache {
        &mut self.status_lists
    }

    /// Signs a request for `query` and keeps it pending until `now` + the request lifetime.
    pub fn create_request(
        &mut self,
        query: DcqlQuery,
        now: u64,
    ) -> Result<CreatedRequest, Oid4vpError> {
        let state = new_nonce()?;
        let exp = now + self.config.request_ttl;
        let object = RequestObject {
            client_id: self.config.client_id.clone(),
            response_type: "vp_token".into(),
            response_mode: if self.config.encryption.is_some() {
                ResponseMode::DirectPostJwt
            } else {
                ResponseMode::DirectPost
            },
            response_uri: self.config.response_uri.clone(),
            nonce: new_nonce()?,
            state: Some(state.clone()),
            dcql_query: query,
            client_metadata: self.config.encryption.as_ref().map(|key| {
                json!({
                    "jwks": { "keys": [key.public_jwk(ENCRYPTION_KID)] },
                    "encrypted_response_enc_values_supported": ["A256GCM", "A128GCM"],
                    "vp_formats_supported": { "dc+sd-jwt": {
                        "sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"] } }
                })
            }),
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
        self.pending.insert(object, exp)?;
        Ok(CreatedRequest {
            uri: RequestReference::Value {
                client_id: self.config.client_id.clone(),
                request,
            }
            .to_uri(),
            state,
        })
    }

    /// Checks a wallet's answer, the `application/x-www-form-urlencoded` body it posted
    /// (`vp_token` and `state`, or `response`, a JWE of both): the verified presentations. The
    /// request it answers is taken once; a second answer is refused.
    pub fn receive(&mut self, body: &str, now: u64) -> Result<Vec<VerifiedAnswer>, Oid4vpError> {
        let invalid = |m: &str| Oid4vpError::InvalidResponse(m.into());
        let mut fields = std::collections::HashMap::new();
        for pair in body.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8()
                .map_err(|_| invalid("a field is not UTF-8"))?
                .into_owned();
            if fields.insert(name.to_owned(), value).is_some() {
                return Err(invalid("a field is repeated"));
            }
        }
        let (vp_token, state) = match (&self.config.encryption, fields.get("response")) {
            (Some(key), Some(jwe)) => open_encrypted_response(
                jwe,
                key,
                &[ContentEncryption::A256Gcm, ContentEncryption::A128Gcm],
            )?,
            (Some(_), None) => return Err(invalid("the answer must be encrypted")),
            (None, _) => {
                let token = fields
                    .get("vp_token")
                    .ok_or_else(|| invalid("no vp_token"))?;
                let token: Value =
                    serde_json::from_str(token).map_err(|_| invalid("vp_token is not JSON"))?;
                (token, fields.get("state").cloned())
            }
        };
        let state = state.ok_or_else(|| invalid("no state"))?;
        let request = self.pending.take(&state, now)?;
        verify_response(
            &vp_token,
            &request,
            &self.config.policy,
            &self.status_lists,
            now,
        )
    }
}
