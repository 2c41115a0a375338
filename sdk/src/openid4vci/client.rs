//! The wallet's side of OpenID4VCI 1.0: resolve a credential offer, redeem a pre-authorized code
//! (with its `tx_code`), get a `c_nonce`, and request a batch of credentials with one key proof
//! per copy, each signed by a keystore key. The issued credentials are verified (issuer chain,
//! holder key) before they are returned.
//!
//! Network access goes through [`Transport`], which the host supplies (the platform's HTTP
//! stack); the SDK makes no connection of its own.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    FORMAT_SD_JWT_VC, PRE_AUTHORIZED_GRANT,
    dpop::{self, DpopInput},
    offer::{CredentialOffer, OfferReference, parse_offer_uri},
    proof::{self, ProofInput},
};
use crate::{
    jose::JwsSigner,
    vc::{IssuerTrust, VcVerifyOptions, VerifiedVc, verify_vc},
    wallet::{KeyStoreError, KeyStoreSigner},
    x509::TrustAnchor,
};

/// An HTTP request the SDK asks the host to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
}

/// The host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The host's HTTP stack.
pub trait Transport: Send + Sync {
    /// Sends `request` and returns the response, whatever its status; `Err` only when no
    /// response came (no network, TLS failure, timeout).
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// Why receiving a credential failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be sent or no response came.
    #[error("network: {0}")]
    Transport(String),
    /// The issuer answered with an error (its OAuth / OpenID4VCI error code when it gave one).
    #[error("the issuer answered {status}: {code} {description}")]
    Issuer {
        /// HTTP status.
        status: u16,
        /// `error`, e.g. `invalid_grant`, `invalid_proof`.
        code: String,
        /// `error_description`, if any.
        description: String,
    },
    /// An offer, metadata document or response does not follow the specification.
    #[error("the issuer's {0}")]
    Protocol(String),
    /// The keystore failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// An issued credential did not verify, or is not bound to the key that asked for it.
    #[error("an issued credential does not verify: {0}")]
    Credential(String),
}

/// Largest response body read from an issuer.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// What a wallet learns from an offer: the offer itself and the issuer's endpoints.
#[derive(Debug, Clone)]
pub struct IssuerSession {
    /// The offer.
    pub offer: CredentialOffer,
    /// The credential issuer identifier.
    pub issuer: String,
    /// The token endpoint (from the authorization server's metadata).
    pub token_endpoint: String,
    /// The credential endpoint.
    pub credential_endpoint: String,
    /// The nonce endpoint, when the issuer has one.
    pub nonce_endpoint: Option<String>,
    /// Most proofs per credential request (`batch_credential_issuance.batch_size`; 1 without).
    pub batch_size: u32,
    /// The issuer metadata document, as fetched (display names, claim labels).
    pub metadata: Value,
}

/// An access token and how it is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
}

/// Resolves an offer (`openid-credential-offer://` by value or by reference) and fetches the
/// issuer's metadata and its authorization server's.
pub fn resolve_offer(transport: &dyn Transport, uri: &str) -> Result<IssuerSession, ClientError> {
    let offer = match parse_offer_uri(uri).map_err(|e| ClientError::Protocol(e.to_string()))? {
        OfferReference::Value(offer) => offer,
        OfferReference::Uri(url) => {
            let body = get(transport, &https_or_local(&url)?)?;
            let text = std::str::from_utf8(&body)
                .map_err(|_| ClientError::Protocol("offer is not UTF-8".into()))?;
            CredentialOffer::from_json(text).map_err(|e| ClientError::Protocol(e.to_string()))?
        }
    };
    let issuer = https_or_local(&offer.credential_issuer)?;
    let metadata: Value = json_of(&get(
        transport,
        &well_known(&issuer, "openid-credential-issuer"),
    )?)?;
    if metadata.get("credential_issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(ClientError::Protocol(
            "metadata names another credential_issuer".into(),
        ));
    }
    let endpoint = |name: &str| -> Result<Option<String>, ClientError> {
        metadata
            .get(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| {
                        ClientError::Protocol(format!("metadata: {name} is not a string"))
                    })
                    .and_then(https_or_local)
            })
            .transpose()
    };
    let credential_endpoint = endpoint("credential_endpoint")?
        .ok_or_else(|| ClientError::Protocol("metadata has no credential_endpoint".into()))?;
    let nonce_endpoint = endpoint("nonce_endpoint")?;
    let batch_size = metadata
        .pointer("/batch_credential_issuance/batch_size")
        .and_then(Value::as_u64)
        .map_or(1, |n| n.clamp(1, 100) as u32);
    for id in &offer.credential_configuration_ids {
        if metadata
            .pointer(&format!(
                "/credential_configurations_supported/{}",
                pointer_escape(id)
            ))
            .is_none()
        {
            return Err(ClientError::Protocol(format!(
                "metadata does not describe the offered configuration {id:?}"
            )));
        }
    }
    // The authorization server: the one the offer's grant names, else the first listed, else
    // the issuer itself.
    let authorization_server = offer
        .pre_authorized_code()
        .and_then(|g| g.authorization_server.clone())
        .or_else(|| {
            metadata
                .pointer("/authorization_servers/0")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| issuer.clone());
    let authorization_server = https_or_local(&authorization_server)?;
    let as_metadata: Value = json_of(&get(
        transport,
        &well_known(&authorization_server, "oauth-authorization-server"),
    )?)?;
    let token_endpoint = as_metadata
        .get("token_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ClientError::Protocol("authorization server metadata has no token_endpoint".into())
        })
        .and_then(https_or_local)?;
    Ok(IssuerSession {
        offer,
        issuer,
        token_endpoint,
        credential_endpoint,
        nonce_endpoint,
        batch_size,
        metadata,
    })
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
}

/// Redeems the offer's pre-authorized code, with the transaction code the citizen typed when the
/// offer asks for one. With `dpop`, the token is bound to that key.
pub fn redeem_pre_authorized(
    transport: &dyn Transport,
    session: &IssuerSession,
    tx_code: Option<&str>,
    dpop: Option<&KeyStoreSigner<'_>>,
    now: u64,
) -> Result<AccessToken, ClientError> {
    let grant = session
        .offer
        .pre_authorized_code()
        .ok_or_else(|| ClientError::Protocol("offer has no pre-authorized code".into()))?;
    let mut form = vec![
        ("grant_type", PRE_AUTHORIZED_GRANT),
        ("pre-authorized_code", grant.pre_authorized_code.as_str()),
    ];
    match (&grant.tx_code, tx_code) {
        (Some(_), Some(code)) => form.push(("tx_code", code)),
        (Some(_), None) => {
            return Err(ClientError::Protocol(
                "the offer needs a transaction code".into(),
            ));
        }
        (None, _) => {}
    }
    let mut headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some(key) = dpop {
        headers.push((
            "DPoP".into(),
            dpop_proof(key, "POST", &session.token_endpoint, None, now)?,
        ));
    }
    let response = send(
        transport,
        HttpRequest {
            method: "POST".into(),
            url: session.token_endpoint.clone(),
            headers,
            body: form_encode(&form).into_bytes(),
        },
    )?;
    let token: TokenResponse = serde_json::from_slice(&response.body)
        .map_err(|e| ClientError::Protocol(format!("token response: {e}")))?;
    let expected = if dpop.is_some() { "DPoP" } else { "Bearer" };
    if !token.token_type.eq_ignore_ascii_case(expected) {
        return Err(ClientError::Protocol(format!(
            "token response: token_type {} where {expected} was asked for",
            token.token_type
        )));
    }
    Ok(AccessToken {
        token: token.access_token,
        token_type: expected.to_owned(),
    })
}

/// Asks the nonce endpoint for a fresh `c_nonce`.
pub fn fetch_nonce(
    transport: &dyn Transport,
    session: &IssuerSession,
) -> Result<Option<String>, ClientError> {
    let Some(endpoint) = &session.nonce_endpoint else {
        return Ok(None);
    };
    let response = send(
        transport,
        HttpRequest {
            method: "POST".into(),
            url: endpoint.clone(),
            headers: vec![],
            body: vec![],
        },
    )?;
    let body: Value = json_of(&response.body)?;
    body.get("c_nonce")
        .and_then(Value::as_str)
        .map(|n| Some(n.to_owned()))
        .ok_or_else(|| ClientError::Protocol("nonce response has no c_nonce".into()))
}

/// A credential received: the SD-JWT VC and what verifying it showed.
#[derive(Debug, Clone)]
pub struct ReceivedCredential {
    /// The SD-JWT VC, as issued (all disclosures).
    pub sd_jwt: String,
    /// Its verification.
    pub verified: VerifiedVc,
}

/// What to ask the credential endpoint for.
#[allow(missing_debug_implementations)]
pub struct CredentialsRequest<'a> {
    /// The credential configuration.
    pub configuration_id: &'a str,
    /// One key per copy (at most the issuer's batch size); each copy is bound to its key.
    pub keys: &'a [KeyStoreSigner<'a>],
    /// The key the access token is DPoP-bound to, if it is.
    pub dpop: Option<&'a KeyStoreSigner<'a>>,
    /// The agency roots the issuer's `x5c` chain must lead to.
    pub anchors: &'a [TrustAnchor],
    /// Seconds since the Unix epoch.
    pub now: u64,
}

/// Requests one copy per key, each with a key proof for a fresh nonce, and verifies each copy:
/// issuer chain to the anchors, the configuration's `vct`, the issuer, and bound to the key whose
/// proof asked for it.
pub fn request_credentials(
    transport: &dyn Transport,
    session: &IssuerSession,
    token: &AccessToken,
    request: &CredentialsRequest<'_>,
) -> Result<Vec<ReceivedCredential>, ClientError> {
    let CredentialsRequest {
        configuration_id,
        keys,
        dpop,
        anchors,
        now,
    } = *request;
    if keys.is_empty() || keys.len() > session.batch_size as usize {
        return Err(ClientError::Protocol(format!(
            "asks for {} copies; the issuer takes 1 to {}",
            keys.len(),
            session.batch_size
        )));
    }
    let nonce = fetch_nonce(transport, session)?;
    let proofs = keys
        .iter()
        .map(|key| {
            proof::build(&ProofInput {
                signer: key as &dyn JwsSigner,
                public_key: key.public_key(),
                aud: &session.issuer,
                nonce: nonce.as_deref(),
                iss: None,
                iat: now,
            })
            .map_err(|e| ClientError::Protocol(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = json!({
        "credential_configuration_id": configuration_id,
        "proofs": { "jwt": proofs },
    });
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (
            "authorization".to_owned(),
            format!("{} {}", token.token_type, token.token),
        ),
    ];
    if let Some(key) = dpop {
        headers.push((
            "DPoP".into(),
            dpop_proof(
                key,
                "POST",
                &session.credential_endpoint,
                Some(&token.token),
                now,
            )?,
        ));
    } else if token.token_type == "DPoP" {
        return Err(ClientError::Protocol("a DPoP token needs its key".into()));
    }
    let response = send(
        transport,
        HttpRequest {
            method: "POST".into(),
            url: session.credential_endpoint.clone(),
            headers,
            body: serde_json::to_vec(&body).map_err(|e| ClientError::Protocol(e.to_string()))?,
        },
    )?;
    let body: Value = json_of(&response.body)?;
    let credentials = body
        .get("credentials")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Protocol("credential response has no credentials".into()))?;
    if credentials.len() != keys.len() {
        return Err(ClientError::Protocol(format!(
            "{} credentials for {} proofs",
            credentials.len(),
            keys.len()
        )));
    }
    let expected_vct = session
        .metadata
        .pointer(&format!(
            "/credential_configurations_supported/{}",
            pointer_escape(configuration_id)
        ))
        .filter(|c| c.get("format").and_then(Value::as_str) == Some(FORMAT_SD_JWT_VC))
        .and_then(|c| c.get("vct"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ClientError::Protocol(format!(
                "metadata has no {FORMAT_SD_JWT_VC} configuration {configuration_id:?}"
            ))
        })?;
    let options = VcVerifyOptions {
        trust: IssuerTrust::Anchors(anchors),
        now,
        skew: 300,
        key_binding: None,
        accepted_vcts: None,
    };
    credentials
        .iter()
        .zip(keys)
        .map(|(entry, key)| {
            let sd_jwt = entry
                .get("credential")
                .and_then(Value::as_str)
                .ok_or_else(|| ClientError::Protocol("a credential is not a string".into()))?;
            let verified =
                verify_vc(sd_jwt, &options).map_err(|e| ClientError::Credential(e.to_string()))?;
            if verified.vct != expected_vct {
                return Err(ClientError::Credential(format!(
                    "vct {} where {expected_vct} was asked for",
                    verified.vct
                )));
            }
            if verified.iss.as_deref() != Some(session.issuer.as_str()) {
                return Err(ClientError::Credential("issued by another issuer".into()));
            }
            if verified.holder_key.as_ref() != Some(key.public_key()) {
                return Err(ClientError::Credential(
                    "not bound to the key that asked for it".into(),
                ));
            }
            Ok(ReceivedCredential {
                sd_jwt: sd_jwt.to_owned(),
                verified,
            })
        })
        .collect()
}

fn dpop_proof(
    key: &KeyStoreSigner<'_>,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: u64,
) -> Result<String, ClientError> {
    let htu = url.split(['?', '#']).next().unwrap_or(url);
    dpop::build(&DpopInput {
        signer: key,
        public_key: key.public_key(),
        htm: method,
        htu,
        access_token,
        nonce: None,
        iat: now,
    })
    .map_err(|e| ClientError::Protocol(e.to_string()))
}

fn get(transport: &dyn Transport, url: &str) -> Result<Vec<u8>, ClientError> {
    Ok(send(
        transport,
        HttpRequest {
            method: "GET".into(),
            url: url.to_owned(),
            headers: vec![("accept".into(), "application/json".into())],
            body: vec![],
        },
    )?
    .body)
}

/// Sends; an error status becomes [`ClientError::Issuer`] with the body's OAuth error.
fn send(transport: &dyn Transport, request: HttpRequest) -> Result<HttpResponse, ClientError> {
    let response = transport.send(&request).map_err(ClientError::Transport)?;
    if response.body.len() > MAX_RESPONSE {
        return Err(ClientError::Protocol("response is too large".into()));
    }
    if !(200..300).contains(&response.status) {
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let text = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        return Err(ClientError::Issuer {
            status: response.status,
            code: text("error"),
            description: text("error_description"),
        });
    }
    Ok(response)
}

fn json_of(body: &[u8]) -> Result<Value, ClientError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ClientError::Protocol(format!("JSON: {e}")))?;
    if !value.is_object() {
        return Err(ClientError::Protocol("JSON: not an object".into()));
    }
    Ok(value)
}

/// An issuer URL: `https`, or `http` to a loopback host (development servers).
fn https_or_local(url: &str) -> Result<String, ClientError> {
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if url.starts_with("https://") || loopback {
        Ok(url.to_owned())
    } else {
        Err(ClientError::Protocol(format!(
            "URL {url:?} is not https (nor a loopback development address)"
        )))
    }
}

/// `{scheme}://{host}/.well-known/{name}{path}` (RFC 8615, as OpenID4VCI and RFC 8414 place it).
fn well_known(issuer: &str, name: &str) -> String {
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        format!("{scheme}://{host}/.well-known/{name}")
    } else {
        format!("{scheme}://{host}/.well-known/{name}/{path}")
    }
}

/// A JSON Pointer token (RFC 6901).
fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_insert_before_the_path() {
        assert_eq!(
            well_known("https://id.example.vn", "openid-credential-issuer"),
            "https://id.example.vn/.well-known/openid-credential-issuer"
        );
        assert_eq!(
            well_known(
                "https://id.example.vn/tenant/",
                "oauth-authorization-server"
            ),
            "https://id.example.vn/.well-known/oauth-authorization-server/tenant"
        );
    }

    #[test]
    fn only_https_or_loopback() {
        assert!(https_or_local("https://id.example.vn").is_ok());
        assert!(https_or_local("http://localhost:8080").is_ok());
        assert!(https_or_local("http://127.0.0.1/x").is_ok());
        assert!(https_or_local("http://localhost.evil.example").is_err());
        assert!(https_or_local("http://id.example.vn").is_err());
        assert!(https_or_local("ftp://id.example.vn").is_err());
    }

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("grant_type", PRE_AUTHORIZED_GRANT), ("tx_code", "12 34")]),
            "grant%5Ftype=urn%3Aietf%3Aparams%3Aoauth%3Agrant%2Dtype%3Apre%2Dauthorized%5Fcode&tx%5Fcode=12%2034"
        );
    }
}
