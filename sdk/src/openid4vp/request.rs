//! Authorization requests (OpenID4VP 1.0, section 5): the verifier signs a request object
//! (RFC 9101) with the key of its certificate, issued by the agency's relying-party CA; the wallet
//! checks the signature, the chain, and that the client identifier names that certificate
//! (prefixes `x509_san_dns` and `x509_hash`, section 5.9.3). The relying party's registration
//! (its name, purpose, and the claims it may ask for) travels with the request as a
//! `verifier_info` attestation signed by the agency ([`Registration`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Oid4vpError,
    dcql::{Candidate, DcqlQuery, DisclosurePolicy, Evaluation},
};
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
/// The role of the agency's relying-party registrar, carried by its certificate as a URI subject
/// alternative name. Registrations are accepted only from a certificate naming it: relying
/// parties' own access certificates chain to the same CA, and one signing its own registration
/// would choose its own claims.
pub const REGISTRAR_URI: &str = "urn:dinhdanh:relying-party-registrar";
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
        let query = crate::urlencode::query_of(uri)
            .ok_or_else(|| Oid4vpError::InvalidRequest("no query parameters".into()))?;
        // Other parameters are ignored: a signed request's parameters are read from the request
        // object only (section 5.10.1; RFC 9101 section 6.3).
        let mut parameters = crate::urlencode::parse(query)?;
        let client_id = parameters.remove("client_id");
        let request = parameters.remove("request");
        let request_uri = parameters.remove("request_uri");
        match parameters.remove("request_uri_method").as_deref() {
            None => {}
            Some(_) if request_uri.is_none() => {
                return Err(Oid4vpError::InvalidRequest(
                    "request_uri_method without request_uri".into(),
                ));
            }
            // Section 5.1: a wallet that does not support the `post` method (it would send its
            // metadata) fetches with GET, as this one does.
            Some("get" | "post") => {}
            Some(other) => {
                return Err(Oid4vpError::InvalidRequestUriMethod(format!(
                    "request_uri_method {other:?} is neither get nor post"
                )));
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
    /// Where the registration's status is published: a Token Status List reference
    /// (`{"status_list": {"idx", "uri"}}`), set to invalid when the agency revokes the relying
    /// party. Absent in registrations made before revocation was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
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

    /// Verifies a registration JWT (`rp-registration+jwt`) signed through an `x5c` chain leading
    /// to `anchors` (the relying-party anchor), not expired at `now`. Any failure is
    /// [`Oid4vpError::Unregistered`].
    pub fn verify(jwt: &str, anchors: &[TrustAnchor], now: u64) -> Result<Self, Oid4vpError> {
        let (chain, payload) = verify_x5c_jws(jwt, REGISTRATION_TYP, anchors, now)
            .map_err(Oid4vpError::Unregistered)?;
        if !chain.leaf_uris().iter().any(|uri| uri == REGISTRAR_URI) {
            return Err(Oid4vpError::Unregistered(
                "the registration is not signed by the agency's registrar".into(),
            ));
        }
        let registration: Self = serde_json::from_slice(&payload)
            .map_err(|e| Oid4vpError::Unregistered(format!("registration: {e}")))?;
        if registration.exp <= now {
            return Err(Oid4vpError::Unregistered(
                "the registration has expired".into(),
            ));
        }
        Ok(registration)
    }

    /// The status-list reference of the registration, when it has a well-formed one.
    pub fn status_reference(&self) -> Option<crate::status_list::StatusReference> {
        self.status
            .as_ref()
            .and_then(|status| crate::status_list::StatusReference::from_status_claim(status).ok())
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

/// A request object whose signature, certificate chain, client identifier and `response_uri`
/// check out: the verifier is who it says and the response channel is its own, so the wallet may
/// answer there, with an error if the rest of the request is refused (section 8.5).
#[derive(Debug, Clone)]
pub struct AuthenticatedRequest {
    parameters: serde_json::Map<String, Value>,
    client_id: ClientId,
    chain: ValidatedChain,
    response_uri: String,
    state: Option<String>,
}

/// Checks who sent a request object received with `client_id` (the invocation URL's): the
/// signature by the leaf of its `x5c`, the chain to the relying-party `anchors` at `now`, the
/// client identifier naming that certificate and equal in both places, and `response_uri` (https,
/// on the client's DNS name under `x509_san_dns`, section 5.9.3).
pub fn authenticate_request(
    jwt: &str,
    client_id: &str,
    anchors: &[TrustAnchor],
    now: u64,
) -> Result<AuthenticatedRequest, Oid4vpError> {
    if jwt.len() > MAX_REQUEST {
        return Err(Oid4vpError::InvalidRequest(
            "the request is too large".into(),
        ));
    }
    let (chain, payload) = verify_x5c_jws(jwt, REQUEST_TYP, anchors, now)
        .map_err(|e| Oid4vpError::InvalidClient(format!("request object: {e}")))?;
    let parameters: serde_json::Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|e| Oid4vpError::InvalidRequest(format!("request object: {e}")))?;
    let text = |name: &str| match parameters.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(Oid4vpError::InvalidRequest(format!(
            "request object: {name} is not a string"
        ))),
    };
    if text("client_id")?.as_deref() != Some(client_id) {
        return Err(Oid4vpError::InvalidClient(
            "client_id differs between the URL and the request object".into(),
        ));
    }
    let prefix = ClientId::parse(client_id)?;
    if !prefix.names(&chain) {
        return Err(Oid4vpError::InvalidClient(
            "the client identifier does not name the request's certificate".into(),
        ));
    }
    let response_uri = text("response_uri")?
        .filter(|uri| uri.starts_with("https://"))
        .ok_or_else(|| Oid4vpError::InvalidRequest("response_uri must be https".into()))?;
    if let ClientId::X509SanDns(name) = &prefix {
        let host = response_uri["https://".len()..]
            .split(['/', '?', '#', ':'])
            .next()
            .unwrap_or_default();
        if !host.eq_ignore_ascii_case(name) {
            return Err(Oid4vpError::InvalidRequest(
                "response_uri is not on the client's DNS name".into(),
            ));
        }
    }
    Ok(AuthenticatedRequest {
        state: text("state")?,
        parameters,
        client_id: prefix,
        chain,
        response_uri,
    })
}

impl AuthenticatedRequest {
    /// Where the verifier takes answers, errors included.
    pub fn response_uri(&self) -> &str {
        &self.response_uri
    }

    /// The `state` an answer echoes.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Checks the rest of the request at `now`: its parameters, the response encryption it asks
    /// for, the verifier's metadata; and the registration in `verifier_info`, if any (signed under
    /// the same `anchors`, for this client, not expired; one that fails is ignored and the request
    /// treated as unregistered).
    pub fn verify(self, anchors: &[TrustAnchor], now: u64) -> Result<VerifiedRequest, Oid4vpError> {
        // Unknown parameters are ignored, but not these two (sections 5 and 8.2).
        if self.parameters.contains_key("transaction_data") {
            return Err(Oid4vpError::InvalidTransactionData(
                "this wallet supports no transaction data type".into(),
            ));
        }
        if self.parameters.contains_key("redirect_uri") {
            return Err(Oid4vpError::InvalidRequest(
                "redirect_uri must not be present with response_uri (direct_post)".into(),
            ));
        }
        let request = RequestObject::deserialize(&Value::Object(self.parameters))
            .map_err(|e| Oid4vpError::InvalidRequest(format!("request object: {e}")))?;
        if request.response_type != "vp_token" {
            return Err(Oid4vpError::InvalidRequest(
                "response_type must be vp_token".into(),
            ));
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
        check_vp_formats(&request)?;
        let encryption = response_encryption(&request)?;
        let registration = request
            .verifier_info
            .iter()
            .flatten()
            .filter(|info| info.format == REGISTRATION_FORMAT)
            .filter_map(|info| info.data.as_str())
            .find_map(|jwt| {
                Registration::verify(jwt, anchors, now)
                    .ok()
                    .filter(|registration| registration.sub == request.client_id)
            });
        Ok(VerifiedRequest {
            encryption,
            certificate_subject: self.chain.leaf_subject(),
            client_id: self.client_id,
            registration,
            request,
        })
    }
}

/// The verifier's metadata (`client_metadata.vp_formats_supported`, section 11.1), when it
/// gives it, must accept what this wallet presents: SD-JWT VCs signed, and key-bound, with ES256.
/// Without it the wallet proceeds: our relying parties' formats are known by the ecosystem.
fn check_vp_formats(request: &RequestObject) -> Result<(), Oid4vpError> {
    let Some(formats) = request
        .client_metadata
        .as_ref()
        .and_then(|metadata| metadata.get("vp_formats_supported"))
    else {
        return Ok(());
    };
    let Some(sd_jwt) = formats.get(super::dcql::FORMAT_SD_JWT_VC) else {
        return Err(Oid4vpError::VpFormatsNotSupported(
            "the verifier does not accept dc+sd-jwt".into(),
        ));
    };
    // Section B.3.4: both lists are optional; an absent one restricts nothing.
    for member in ["sd-jwt_alg_values", "kb-jwt_alg_values"] {
        if let Some(values) = sd_jwt.get(member)
            && !values
                .as_array()
                .is_some_and(|algs| algs.iter().any(|alg| alg == "ES256"))
        {
            return Err(Oid4vpError::VpFormatsNotSupported(format!(
                "the verifier's {member} lack ES256"
            )));
        }
    }
    Ok(())
}

/// Checks a signed request object as received with `client_id` (the invocation URL's): who sent
/// it ([`authenticate_request`]), then the rest ([`AuthenticatedRequest::verify`]).
pub fn verify_request(
    jwt: &str,
    client_id: &str,
    anchors: &[TrustAnchor],
    now: u64,
) -> Result<VerifiedRequest, Oid4vpError> {
    authenticate_request(jwt, client_id, anchors, now)?.verify(anchors, now)
}

/// Verifies a JWS of type `typ` signed by the leaf of its `x5c` chain, validated to `anchors`.
pub(crate) fn verify_x5c_jws(
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
/// credential. Claims the relying party is not registered for are refused (never disclosed), and
/// a credential the query cannot have without them is withheld whole (section 6.4.1: a credential
/// is not returned with fewer claims than asked); with nothing left to present, the answer is
/// `access_denied` (section 8.5).
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
    /// Per credential to present. Empty: nothing can be presented within the registration (an
    /// unregistered verifier gets nothing), and responding tells the verifier `access_denied`.
    pub credentials: Vec<ConsentItem>,
    /// Credentials the wallet holds for the query but will not present, each with the claims
    /// refused that it would have needed (its `claims` empty).
    pub withheld: Vec<ConsentItem>,
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

/// A relying party's registration as a disclosure policy: credentials of the types it is
/// registered for, claims under the paths it is registered for; nothing without a registration.
struct Registered<'a> {
    registration: Option<&'a Registration>,
    candidates: &'a [Candidate<'a>],
}

impl Registered<'_> {
    fn vct(&self, candidate: usize) -> &str {
        self.candidates.get(candidate).map_or("", |c| c.vct)
    }
}

impl DisclosurePolicy for Registered<'_> {
    fn presents(&self, candidate: usize) -> bool {
        let vct = self.vct(candidate);
        self.registration
            .is_some_and(|r| r.credentials.iter().any(|c| c.vct == vct))
    }

    fn discloses(&self, candidate: usize, path: &ClaimPath) -> bool {
        self.registration
            .is_some_and(|r| r.covers(self.vct(candidate), path))
    }
}

impl VerifiedRequest {
    /// The consent for this request over the wallet's `candidates`, given their unrestricted
    /// `evaluation` (what the wallet holds that answers the query): the query evaluated again
    /// within the registration (claim sets and credential sets fall back to options it covers),
    /// the first matching credential of each query chosen, and the claims asked for beyond the
    /// registration listed as refused.
    pub fn consent(&self, evaluation: &Evaluation, candidates: &[Candidate<'_>]) -> Consent {
        let policy = Registered {
            registration: self.registration.as_ref(),
            candidates,
        };
        let vct = |i: usize| policy.vct(i).to_owned();
        // Claims of `candidate` the unrestricted evaluation would give `query`.
        let asked = |query: &str, candidate: usize| {
            evaluation
                .queries
                .iter()
                .filter(|q| q.query == query)
                .flat_map(|q| &q.matches)
                .find(|m| m.candidate == candidate)
                .map(|m| m.claims.clone())
                .unwrap_or_default()
        };
        let credentials: Vec<ConsentItem> = self
            .request
            .dcql_query
            .evaluate_within(candidates, &policy)
            .into_iter()
            .flat_map(|within| within.queries)
            .filter_map(|q| q.matches.into_iter().next().map(|m| (q.query, m)))
            .map(|(query, m)| {
                let refused = asked(&query, m.candidate)
                    .into_iter()
                    .filter(|path| !m.claims.contains(path))
                    .collect();
                ConsentItem {
                    vct: vct(m.candidate),
                    candidate: m.candidate,
                    claims: m.claims,
                    refused,
                    query,
                }
            })
            .collect();
        let withheld = evaluation
            .queries
            .iter()
            .filter(|q| !credentials.iter().any(|item| item.query == q.query))
            .filter_map(|q| q.matches.first().map(|m| (q, m)))
            .map(|(q, m)| ConsentItem {
                query: q.query.clone(),
                candidate: m.candidate,
                vct: vct(m.candidate),
                claims: Vec::new(),
                refused: m
                    .claims
                    .iter()
                    .filter(|path| {
                        !(policy.presents(m.candidate) && policy.discloses(m.candidate, path))
                    })
                    .cloned()
                    .collect(),
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
            withheld,
        }
    }
}
