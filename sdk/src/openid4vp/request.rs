//! Authorization requests (OpenID4VP 1.0, section 5): the verifier signs a request object
//! (RFC 9101) with the key of its certificate, issued by the agency's relying-party CA; the wallet
//! checks the signature, the chain, and that the client identifier names that certificate
//! (prefixes `x509_san_dns` and `x509_hash`, section 5.9.3). The relying party's registration
//! (its name, purpose, and the claims it may ask for) travels with the request as a
//! `verifier_info` attestation signed by the agency ([`Registration`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Oid4vpError, dcql::DcqlQuery};
use crate::{
    jose::{
        self, JwsHeader, JwsSigner, PublicKey, UnverifiedJws, b64,
        jwe::{self, ContentEncryption},
        sign_compact,
    },
    sdjwt::ClaimPath,
    x509::{self, ChainPolicy, TrustAnchor, ValidatedChain},
};

/// `typ` of a request object.
pub const REQUEST_TYP: &str = "oauth-authz-req+jwt";
/// `typ` of a relying-party registration.
pub const REGISTRATION_TYP: &str = "rp-registration+jwt";
/// The `verifier_info` format of a registration.
pub const REGISTRATION_FORMAT: &str = "dinhdanh_registration";
/// The scheme of wallet invocation URLs.
pub const SCHEME: &str = "openid4vp://";
/// `aud` of a request object under static discovery (section 5.8).
pub const STATIC_AUDIENCE: &str = "https://self-issued.me/v2";
/// Largest request (URL or object) accepted.
pub const MAX_REQUEST: usize = 64 * 1024;

/// How the wallet sends its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    /// A form POST of `vp_token` (and `state`) to `response_uri`.
    #[serde(rename = "direct_post")]
    DirectPost,
    /// The same, encrypted to the verifier's key (a JWE in `response`).
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
}

/// An attestation about the verifier (`verifier_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierInfo {
    /// Its format.
    pub format: String,
    /// The attestation.
    pub data: Value,
    /// The credential queries it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ids: Option<Vec<String>>,
}

/// The parameters of a request object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestObject {
    /// The client identifier with its prefix.
    pub client_id: String,
    /// `vp_token`.
    pub response_type: String,
    /// How to answer.
    pub response_mode: ResponseMode,
    /// Where to answer.
    pub response_uri: String,
    /// The nonce the key binding must carry.
    pub nonce: String,
    /// Echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// What is asked.
    pub dcql_query: DcqlQuery,
    /// The verifier's metadata (encryption keys, supported formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<Value>,
    /// Attestations about the verifier (its registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_info: Option<Vec<VerifierInfo>>,
    /// The audience (static discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// A client identifier, by its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// `x509_san_dns:<name>`: a DNS name of the certificate's subject alternative names.
    X509SanDns(String),
    /// `x509_hash:<base64url SHA-256 of the certificate>`.
    X509Hash(String),
}

impl ClientId {
    /// Reads a client identifier; prefixes other than the two dinhdanh accepts are refused.
    pub fn parse(client_id: &str) -> Result<Self, Oid4vpError> {
        match client_id.split_once(':') {
            Some(("x509_san_dns", name)) if !name.is_empty() => Ok(Self::X509SanDns(name.into())),
            Some(("x509_hash", hash)) if hash.len() == jose::DIGEST_B64_LEN => {
                Ok(Self::X509Hash(hash.into()))
            }
            Some((prefix, _)) if prefix == "x509_san_dns" || prefix == "x509_hash" => {
                Err(Oid4vpError::InvalidClient(format!(
                    "{client_id:?} has an empty or malformed value"
                )))
            }
            _ => Err(Oid4vpError::InvalidClient(format!(
                "client identifier {client_id:?}: only the x509_san_dns and x509_hash prefixes are accepted"
            ))),
        }
    }

    /// The `x509_hash` client identifier of a certificate.
    pub fn x509_hash_of(certificate_der: &[u8]) -> String {
        format!("x509_hash:{}", jose::sha256_b64(certificate_der))
    }

    /// Whether the validated certificate is the one this identifier names.
    fn names(&self, chain: &ValidatedChain) -> bool {
        match self {
            Self::X509SanDns(name) => chain
                .leaf_dns_names()
                .iter()
                .any(|dns| dns.eq_ignore_ascii_case(name)),
            Self::X509Hash(hash) => {
                jose::sha256_b64(chain.leaf_der()).as_bytes() == hash.as_bytes()
            }
        }
    }
}

/// Signs a request object with the key of `chain`'s leaf certificate (chain leaf first, DER).
pub fn sign_request(
    request: &RequestObject,
    signer: &dyn JwsSigner,
    chain: &[Vec<u8>],
) -> Result<String, Oid4vpError> {
    let header = JwsHeader {
        x5c: Some(x509::der_chain_to_x5c(chain)),
        ..JwsHeader::es256(REQUEST_TYP)
    };
    let payload =
        serde_json::to_vec(request).map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?;
    sign_compact(&header, &payload, signer).map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))
}

/// What a wallet invocation URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestReference {
    /// `request=`: the signed request object itself (fits a QR code for offline use).
    Value {
        /// The `client_id` parameter.
        client_id: String,
        /// The request object.
        request: String,
    },
    /// `request_uri=`: where to fetch it.
    Uri {
        /// The `client_id` parameter.
        client_id: String,
        /// An `https` URL.
        request_uri: String,
    },
}

impl RequestReference {
    /// The invocation URL (`openid4vp://?client_id=…&request=…` or `…&request_uri=…`).
    pub fn to_uri(&self) -> String {
        let enc = crate::urlencode::escape;
        match self {
            Self::Value { client_id, request } => {
                format!(
                    "{SCHEME}?client_id={}&request={}",
                    enc(client_id),
                    enc(request)
                )
            }
            Self::Uri {
                client_id,
                request_uri,
            } => format!(
                "{SCHEME}?client_id={}&request_uri={}",
                enc(client_id),
                enc(request_uri)
            ),
        }
    }

    /// Reads an invocation URL (any scheme: apps register their own, and the same parameters
    /// come through universal links).
    pub fn parse(uri: &str) -> Result<Self, Oid4vpError> {
        if uri.len() > MAX_REQUEST {
            return Err(Oid4vpError::InvalidRequest(
                "the request is too large".into(),
            ));
        }
        let query = uri
            .split_once('?')
            .map(|(_, q)| q)
            .ok_or_else(|| Oid4vpError::InvalidRequest("no query parameters".into()))?;
        let mut client_id = None;
        let mut request = None;
        let mut request_uri = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8()
                .map_err(|_| Oid4vpError::InvalidRequest(format!("{name} is not UTF-8")))?
                .into_owned();
            let slot = match name {
                "client_id" => &mut client_id,
                "request" => &mut request,
                "request_uri" => &mut request_uri,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Oid4vpError::InvalidRequest(format!("{name} is repeated")));
            }
        }
        let client_id =
            client_id.ok_or_else(|| Oid4vpError::InvalidRequest("client_id is missing".into()))?;
        match (request, request_uri) {
            (Some(request), None) => Ok(Self::Value { client_id, request }),
            (None, Some(request_uri)) if request_uri.starts_with("https://") => Ok(Self::Uri {
                client_id,
                request_uri,
            }),
            (None, Some(_)) => Err(Oid4vpError::InvalidRequest(
                "request_uri must be https".into(),
            )),
            _ => Err(Oid4vpError::InvalidRequest(
                "exactly one of request and request_uri is needed (unsigned requests are refused)"
                    .into(),
            )),
        }
    }
}

/// A relying party's registration with the agency: who it is, why it asks, and the claims it
/// may ask for, per credential type. Signed by the agency (a certificate chaining to the same
/// relying-party trust anchor) and presented in `verifier_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The agency.
    pub iss: String,
    /// The relying party's client identifier.
    pub sub: String,
    /// Its registered name, to show the citizen.
    pub name: String,
    /// Its registered purpose.
    pub purpose: String,
    /// What it may ask for.
    pub credentials: Vec<RegisteredCredential>,
    /// Issued at.
    pub iat: u64,
    /// Expiry.
    pub exp: u64,
}

/// The claims a relying party may ask of one credential type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCredential {
    /// The `vct`.
    pub vct: String,
    /// Claim paths as JSON Pointers (`/address/locality`); a path covers what lies beneath it.
    pub claims: Vec<String>,
}

impl Registration {
    /// Signs the registration with the agency's key (`chain`: its certificate, leaf first).
    pub fn sign(&self, signer: &dyn JwsSigner, chain: &[Vec<u8>]) -> Result<String, Oid4vpError> {
        let header = JwsHeader {
            x5c: Some(x509::der_chain_to_x5c(chain)),
            ..JwsHeader::es256(REGISTRATION_TYP)
        };
        let payload =
            serde_json::to_vec(self).map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?;
        sign_compact(&header, &payload, signer)
            .map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))
    }

    /// Whether the registration covers the claim at `path` of a credential of type `vct`.
    pub fn covers(&self, vct: &str, path: &ClaimPath) -> bool {
        self.credentials
            .iter()
            .filter(|c| c.vct == vct)
            .flat_map(|c| &c.claims)
            .filter_map(|pointer| ClaimPath::parse(pointer).ok())
            .any(|registered| registered.is_prefix_of(path))
    }
}

/// A request the wallet has checked.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    /// The request object.
    pub request: RequestObject,
    /// The client identifier, by prefix.
    pub client_id: ClientId,
    /// The subject of the verifier's certificate.
    pub certificate_subject: String,
    /// The verifier's registration, when the request carries a valid one for this client.
    pub registration: Option<Registration>,
    /// With `direct_post.jwt`: the key and content encryption of the response.
    pub encryption: Option<ResponseEncryption>,
}

/// How a `direct_post.jwt` response is encrypted: to which key, with which content encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseEncryption {
    /// The verifier's ECDH key.
    pub key: PublicKey,
    /// Its `kid`, echoed in the JWE header.
    pub kid: Option<String>,
    /// The content encryption chosen.
    pub enc: ContentEncryption,
}

/// The response encryption a request asks for (`direct_post.jwt`): the first P-256 key of
/// `client_metadata.jwks` meant for ECDH-ES encryption, and the first content encryption of
/// `encrypted_response_enc_values_supported` this wallet supports (`A128GCM` when absent).
pub fn response_encryption(
    request: &RequestObject,
) -> Result<Option<ResponseEncryption>, Oid4vpError> {
    if request.response_mode != ResponseMode::DirectPostJwt {
        return Ok(None);
    }
    let invalid = |m: &str| Oid4vpError::InvalidRequest(format!("direct_post.jwt: {m}"));
    let metadata = request
        .client_metadata
        .as_ref()
        .ok_or_else(|| invalid("no client_metadata"))?;
    let keys = metadata
        .pointer("/jwks/keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no client_metadata.jwks.keys"))?;
    let (key, kid) = keys
        .iter()
        .filter(|k| {
            k.get("use").is_none_or(|u| u == "enc")
                && k.get("alg").is_none_or(|a| a == jwe::ECDH_ES)
        })
        .find_map(|k| {
            let mut public = k.clone();
            if let Some(map) = public.as_object_mut() {
                for member in ["use", "alg", "kid", "key_ops"] {
                    map.remove(member);
                }
            }
            let key = PublicKey::from_jwk(&public).ok()?;
            Some((key, k.get("kid").and_then(Value::as_str).map(str::to_owned)))
        })
        .ok_or_else(|| invalid("no P-256 key for ECDH-ES in jwks"))?;
    let enc = match metadata.get("encrypted_response_enc_values_supported") {
        None => ContentEncryption::A128Gcm,
        Some(values) => values
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(ContentEncryption::from_name)
            .ok_or_else(|| invalid("no supported content encryption (A128GCM, A256GCM)"))?,
    };
    Ok(Some(ResponseEncryption { key, kid, enc }))
}

/// Checks a signed request object as received with `client_id` (the invocation URL's): the
/// signature by the leaf of its `x5c`, the chain to the relying-party `anchors` at `now`, the
/// client identifier naming that certificate and equal in both places, the parameters; and the
/// registration in `verifier_info`, if any (signed under the same anchors, for this client, not
/// expired; one that fails is ignored and the request treated as unregistered).
pub fn verify_request(
    jwt: &str,
    client_id: &str,
    anchors: &[TrustAnchor],
    now: u64,
) -> Result<VerifiedRequest, Oid4vpError> {
    if jwt.len() > MAX_REQUEST {
        return Err(Oid4vpError::InvalidRequest(
            "the request is too large".into(),
        ));
    }
    let (chain, payload) = verify_x5c_jws(jwt, REQUEST_TYP, anchors, now)
        .map_err(|e| Oid4vpError::InvalidClient(format!("request object: {e}")))?;
    let request: RequestObject = serde_json::from_slice(&payload)
        .map_err(|e| Oid4vpError::InvalidRequest(format!("request object: {e}")))?;
    if request.client_id != client_id {
        return Err(Oid4vpError::InvalidClient(
            "client_id differs between the URL and the request object".into(),
        ));
    }
    let prefix = ClientId::parse(&request.client_id)?;
    if !prefix.names(&chain) {
        return Err(Oid4vpError::InvalidClient(
            "the client identifier does not name the request's certificate".into(),
        ));
    }
    if request.response_type != "vp_token" {
        return Err(Oid4vpError::InvalidRequest(
            "response_type must be vp_token".into(),
        ));
    }
    if !request.response_uri.starts_with("https://") {
        return Err(Oid4vpError::InvalidRequest(
            "response_uri must be https".into(),
        ));
    }
    if let ClientId::X509SanDns(name) = &prefix {
        let host = request.response_uri["https://".len()..]
            .split(['/', '?', '#', ':'])
            .next()
            .unwrap_or_default();
        if !host.eq_ignore_ascii_case(name) {
            return Err(Oid4vpError::InvalidRequest(
                "response_uri is not on the client's DNS name".into(),
            ));
        }
    }
    if request.nonce.len() < 16 {
        return Err(Oid4vpError::InvalidRequest(
            "nonce must carry at least 128 bits".into(),
        ));
    }
    if request.exp.is_some_and(|exp| exp <= now) {
        return Err(Oid4vpError::InvalidRequest(
            "the request has expired".into(),
        ));
    }
    if request
        .aud
        .as_deref()
        .is_some_and(|aud| aud != STATIC_AUDIENCE)
    {
        return Err(Oid4vpError::InvalidRequest(
            "aud is not for wallets under static discovery".into(),
        ));
    }
    let encryption = response_encryption(&request)?;
    let registration = request
        .verifier_info
        .iter()
        .flatten()
        .filter(|info| info.format == REGISTRATION_FORMAT)
        .filter_map(|info| info.data.as_str())
        .find_map(|jwt| {
            let (_, payload) = verify_x5c_jws(jwt, REGISTRATION_TYP, anchors, now).ok()?;
            let registration: Registration = serde_json::from_slice(&payload).ok()?;
            (registration.sub == request.client_id && registration.exp > now)
                .then_some(registration)
        });
    Ok(VerifiedRequest {
        encryption,
        certificate_subject: chain.leaf_subject(),
        client_id: prefix,
        registration,
        request,
    })
}

/// Verifies a JWS of type `typ` signed by the leaf of its `x5c` chain, validated to `anchors`.
fn verify_x5c_jws(
    jwt: &str,
    typ: &str,
    anchors: &[TrustAnchor],
    now: u64,
) -> Result<(ValidatedChain, Vec<u8>), String> {
    let jws = UnverifiedJws::parse(jwt).map_err(|e| e.to_string())?;
    jws.header().require_typ(typ).map_err(|e| e.to_string())?;
    let x5c = jws.header().x5c.as_ref().ok_or("no x5c header")?;
    let chain = x509::x5c_to_der_chain(x5c).map_err(|e| e.to_string())?;
    let validated = x509::validate_chain(
        &chain,
        anchors,
        &ChainPolicy::at(now).require_digital_signature(),
    )
    .map_err(|e| e.to_string())?;
    let key = validated
        .leaf_public_key_sec1()
        .ok_or("the certificate's key is not P-256")
        .and_then(|sec1| PublicKey::from_sec1(sec1).map_err(|_| "bad certificate key"))?;
    let verified = jws.verify(&key).map_err(|e| e.to_string())?;
    if !jose::is_json_object(&verified.payload) {
        return Err("the payload is not a JSON object".into());
    }
    Ok((validated, verified.payload))
}

/// A random nonce for a request: 128 bits, base64url.
pub fn new_nonce() -> Result<String, Oid4vpError> {
    let mut bytes = [0u8; 16];
    jose::random_bytes(&mut bytes).map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?;
    Ok(b64::encode(bytes))
}

/// What the wallet shows the citizen before presenting: who asks, why, and which claims of which
/// credential; claims the relying party is not registered for are refused (never disclosed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The client identifier.
    pub verifier: String,
    /// The registered name, else the certificate's subject.
    pub verifier_name: String,
    /// Whether a valid registration came with the request.
    pub registered: bool,
    /// The registered purpose.
    pub purpose: Option<String>,
    /// Per credential to present.
    pub credentials: Vec<ConsentItem>,
}

/// One credential in a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentItem {
    /// The credential query it answers.
    pub query: String,
    /// Index of the credential among the candidates evaluated.
    pub candidate: usize,
    /// Its type.
    pub vct: String,
    /// The claims that will be disclosed.
    pub claims: Vec<ClaimPath>,
    /// Claims asked for beyond the registration: refused.
    pub refused: Vec<ClaimPath>,
}

impl VerifiedRequest {
    /// The consent for an evaluation of this request's query: the first matching credential of
    /// each query (`vct_of` gives a candidate's type), with the claims split into registered
    /// (disclosed) and not registered (refused).
    pub fn consent(
        &self,
        evaluation: &super::dcql::Evaluation,
        vct_of: impl Fn(usize) -> String,
    ) -> Consent {
        let credentials = evaluation
            .queries
            .iter()
            .filter_map(|q| q.matches.first().map(|m| (q, m)))
            .map(|(q, m)| {
                let vct = vct_of(m.candidate);
                let (claims, refused) = m.claims.iter().cloned().partition(|path| {
                    self.registration
                        .as_ref()
                        .is_some_and(|r| r.covers(&vct, path))
                });
                ConsentItem {
                    query: q.query.clone(),
                    candidate: m.candidate,
                    vct,
                    claims,
                    refused,
                }
            })
            .collect();
        Consent {
            verifier: self.request.client_id.clone(),
            verifier_name: self
                .registration
                .as_ref()
                .map_or_else(|| self.certificate_subject.clone(), |r| r.name.clone()),
            registered: self.registration.is_some(),
            purpose: self.registration.as_ref().map(|r| r.purpose.clone()),
            credentials,
        }
    }
}
