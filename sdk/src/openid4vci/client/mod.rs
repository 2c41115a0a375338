//! The wallet's side of OpenID4VCI 1.0: resolve a credential offer, redeem a pre-authorized code
//! (with its `tx_code`), get a `c_nonce`, and request a batch of credentials with one key proof
//! per copy, each signed by a keystore key. The issued credentials are verified (issuer chain,
//! holder key) before they are returned.
//!
//! Network access goes through [`Transport`], which the host supplies (the platform's HTTP
//! stack); the SDK makes no connection of its own.

use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{
    FORMAT_SD_JWT_VC, Oid4vciError, PRE_AUTHORIZED_GRANT,
    dpop::{self, DpopInput},
    offer::{CredentialOffer, OfferReference, parse_offer_uri},
    proof::{self, ProofInput},
};
use crate::{
    jose::{JoseError, JwsSigner},
    vc::{IssuerTrust, VcError, VcVerifyOptions, VerifiedVc, verify_vc},
    wallet::{KeyStoreError, KeyStoreSigner},
    x509::TrustAnchor,
};

mod error;
#[cfg(test)]
mod tests;
mod transport;

pub use self::{
    error::{ClientError, ProtocolError},
    transport::{HttpRequest, HttpResponse, Transport, TransportError},
};

/// The documents [`ProtocolError`] names.
const ISSUER_METADATA: &str = "issuer metadata";
const AS_METADATA: &str = "authorization server metadata";

/// Largest response body read from an issuer.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// What a wallet learns of an issuer: the offer it came with (if any) and the endpoints.
#[derive(Debug, Clone)]
pub struct IssuerSession {
    /// The offer, when issuance started from one (`None`: the wallet started it).
    pub offer: Option<CredentialOffer>,
    /// The credential issuer identifier.
    pub issuer: String,
    /// The token endpoint (from the authorization server's metadata).
    pub token_endpoint: String,
    /// The authorization endpoint, when the authorization server has one.
    pub authorization_endpoint: Option<String>,
    /// The pushed authorization request endpoint (RFC 9126), when there is one.
    pub par_endpoint: Option<String>,
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
    let offer = match parse_offer_uri(uri).map_err(ProtocolError::Offer)? {
        OfferReference::Value(offer) => offer,
        OfferReference::Uri(url) => {
            let body = get(transport, &https_or_local(&url)?)?;
            let text = std::str::from_utf8(&body).map_err(|_| ProtocolError::NotUtf8("offer"))?;
            CredentialOffer::from_json(text).map_err(ProtocolError::Offer)?
        }
    };
    // The authorization server the offer's grant names, if any.
    let named = offer
        .pre_authorized_code()
        .and_then(|g| g.authorization_server.clone())
        .or_else(|| {
            offer
                .grants
                .authorization_code
                .as_ref()
                .and_then(|g| g.authorization_server.clone())
        });
    let mut session = discover(transport, &offer.credential_issuer, named.as_deref())?;
    for id in &offer.credential_configuration_ids {
        if session
            .metadata
            .pointer(&format!(
                "/credential_configurations_supported/{}",
                pointer_escape(id)
            ))
            .is_none()
        {
            return Err(ProtocolError::UnknownConfiguration(id.clone()).into());
        }
    }
    session.offer = Some(offer);
    Ok(session)
}

/// Fetches an issuer's metadata and its authorization server's (wallet-initiated issuance, or
/// after an offer): the authorization server `authorization_server` when given, else the first
/// the issuer lists, else the issuer itself.
pub fn discover(
    transport: &dyn Transport,
    issuer: &str,
    authorization_server: Option<&str>,
) -> Result<IssuerSession, ClientError> {
    let issuer = https_or_local(issuer)?;
    let metadata: Value = json_of(
        ISSUER_METADATA,
        &get(transport, &well_known(&issuer, "openid-credential-issuer"))?,
    )?;
    if metadata.get("credential_issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(ProtocolError::OtherIssuer.into());
    }
    let endpoint = |document: &Value, name: &str| -> Result<Option<String>, ClientError> {
        document
            .get(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ProtocolError::NotAString(name.to_owned()).into())
                    .and_then(https_or_local)
            })
            .transpose()
    };
    let credential_endpoint =
        endpoint(&metadata, "credential_endpoint")?.ok_or(ProtocolError::Missing {
            document: ISSUER_METADATA,
            member: "credential_endpoint",
        })?;
    let nonce_endpoint = endpoint(&metadata, "nonce_endpoint")?;
    let batch_size = metadata
        .pointer("/batch_credential_issuance/batch_size")
        .and_then(Value::as_u64)
        .map_or(1, |n| n.clamp(1, 100) as u32);
    let authorization_server = authorization_server
        .map(str::to_owned)
        .or_else(|| {
            metadata
                .pointer("/authorization_servers/0")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| issuer.clone());
    let authorization_server = https_or_local(&authorization_server)?;
    let as_metadata: Value = json_of(
        AS_METADATA,
        &get(
            transport,
            &well_known(&authorization_server, "oauth-authorization-server"),
        )?,
    )?;
    let token_endpoint =
        endpoint(&as_metadata, "token_endpoint")?.ok_or(ProtocolError::Missing {
            document: AS_METADATA,
            member: "token_endpoint",
        })?;
    Ok(IssuerSession {
        offer: None,
        issuer,
        token_endpoint,
        authorization_endpoint: endpoint(&as_metadata, "authorization_endpoint")?,
        par_endpoint: endpoint(&as_metadata, "pushed_authorization_request_endpoint")?,
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
        .as_ref()
        .and_then(CredentialOffer::pre_authorized_code)
        .ok_or(ProtocolError::NoPreAuthorizedCode)?;
    let mut form = vec![
        ("grant_type", PRE_AUTHORIZED_GRANT),
        ("pre-authorized_code", grant.pre_authorized_code.as_str()),
    ];
    match (&grant.tx_code, tx_code) {
        (Some(_), Some(code)) => form.push(("tx_code", code)),
        (Some(_), None) => return Err(ProtocolError::TxCodeRequired.into()),
        (None, _) => {}
    }
    token_request(transport, session, &form, dpop, now)
}

/// A token request (`form`), DPoP-bound when `dpop` is given.
fn token_request(
    transport: &dyn Transport,
    session: &IssuerSession,
    form: &[(&str, &str)],
    dpop: Option<&KeyStoreSigner<'_>>,
    now: u64,
) -> Result<AccessToken, ClientError> {
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
            body: crate::urlencode::form(form).into_bytes(),
        },
    )?;
    let token: TokenResponse =
        serde_json::from_slice(&response.body).map_err(|e| ProtocolError::Json {
            document: "token response",
            reason: e.to_string(),
        })?;
    let expected = if dpop.is_some() { "DPoP" } else { "Bearer" };
    if !token.token_type.eq_ignore_ascii_case(expected) {
        return Err(ProtocolError::TokenType {
            found: token.token_type,
            expected,
        }
        .into());
    }
    Ok(AccessToken {
        token: token.access_token,
        token_type: expected.to_owned(),
    })
}

/// An authorization started by the wallet: the URL to open (the issuer's sign-in page), and
/// what the wallet keeps until the redirect comes back.
pub struct AuthorizationStart {
    /// The URL to open in the system browser.
    pub url: String,
    /// The `state` the redirect must carry back.
    pub state: String,
    /// The redirect URI registered for the wallet.
    pub redirect_uri: String,
    /// The wallet's client id.
    pub client_id: String,
    code_verifier: Zeroizing<String>,
}

impl std::fmt::Debug for AuthorizationStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationStart")
            .field("url", &self.url)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Starts the authorization code flow (HAIP: PAR, PKCE S256, DPoP): pushes the authorization
/// request for `configuration_ids` with a fresh code challenge, bound to the `dpop` key, and
/// returns the authorization URL to open.
pub fn start_authorization(
    transport: &dyn Transport,
    session: &IssuerSession,
    configuration_ids: &[&str],
    client_id: &str,
    redirect_uri: &str,
    dpop: &KeyStoreSigner<'_>,
    now: u64,
) -> Result<AuthorizationStart, ClientError> {
    let (Some(par), Some(authorize)) = (&session.par_endpoint, &session.authorization_endpoint)
    else {
        return Err(ProtocolError::NoAuthorizationEndpoint.into());
    };
    let verifier = Zeroizing::new(super::pkce_verifier()?);
    let mut state = [0u8; 16];
    crate::jose::random_bytes(&mut state)?;
    let state = crate::jose::b64::encode(state);
    let details = Value::Array(
        configuration_ids
            .iter()
            .map(|id| json!({ "type": "openid_credential", "credential_configuration_id": id }))
            .collect(),
    )
    .to_string();
    let challenge = super::pkce_challenge(&verifier);
    let issuer_state = session
        .offer
        .as_ref()
        .and_then(|o| o.grants.authorization_code.as_ref())
        .and_then(|g| g.issuer_state.clone());
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("authorization_details", details.as_str()),
        ("state", state.as_str()),
    ];
    if let Some(issuer_state) = &issuer_state {
        form.push(("issuer_state", issuer_state));
    }
    let response = send(
        transport,
        HttpRequest {
            method: "POST".into(),
            url: par.clone(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("DPoP".into(), dpop_proof(dpop, "POST", par, None, now)?),
            ],
            body: crate::urlencode::form(&form).into_bytes(),
        },
    )?;
    let document = "pushed authorization response";
    let pushed: Value = json_of(document, &response.body)?;
    let request_uri =
        pushed
            .get("request_uri")
            .and_then(Value::as_str)
            .ok_or(ProtocolError::Missing {
                document,
                member: "request_uri",
            })?;
    let separator = if authorize.contains('?') { '&' } else { '?' };
    Ok(AuthorizationStart {
        url: format!(
            "{authorize}{separator}{}",
            crate::urlencode::form(&[("client_id", client_id), ("request_uri", request_uri)])
        ),
        state,
        redirect_uri: redirect_uri.to_owned(),
        client_id: client_id.to_owned(),
        code_verifier: verifier,
    })
}

/// Completes the authorization code flow from the redirect the browser delivered: checks
/// `state` and the issuer (`iss`, RFC 9207), then redeems the code with the PKCE verifier, the
/// token bound to the `dpop` key.
pub fn finish_authorization(
    transport: &dyn Transport,
    session: &IssuerSession,
    start: &AuthorizationStart,
    redirect: &str,
    dpop: &KeyStoreSigner<'_>,
    now: u64,
) -> Result<AccessToken, ClientError> {
    let query = redirect
        .strip_prefix(start.redirect_uri.as_str())
        .and_then(|rest| rest.strip_prefix('?'))
        .ok_or(ProtocolError::RedirectTarget)?;
    let parameters = crate::urlencode::parse(query).map_err(ProtocolError::RedirectQuery)?;
    if parameters.get("state") != Some(&start.state) {
        return Err(ProtocolError::StateMismatch.into());
    }
    if parameters
        .get("iss")
        .is_some_and(|iss| *iss != session.issuer)
    {
        return Err(ProtocolError::RedirectIssuer.into());
    }
    if let Some(code) = parameters.get("error") {
        return Err(ClientError::Issuer {
            status: 302,
            code: code.clone(),
            description: parameters
                .get("error_description")
                .cloned()
                .unwrap_or_default(),
        });
    }
    let code = parameters.get("code").ok_or(ProtocolError::Missing {
        document: "redirect",
        member: "code",
    })?;
    let form = [
        ("grant_type", super::AUTHORIZATION_CODE_GRANT),
        ("code", code.as_str()),
        ("redirect_uri", start.redirect_uri.as_str()),
        ("client_id", start.client_id.as_str()),
        ("code_verifier", start.code_verifier.as_str()),
    ];
    token_request(transport, session, &form, Some(dpop), now)
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
    let document = "nonce response";
    let body: Value = json_of(document, &response.body)?;
    body.get("c_nonce")
        .and_then(Value::as_str)
        .map(|n| Some(n.to_owned()))
        .ok_or_else(|| {
            ProtocolError::Missing {
                document,
                member: "c_nonce",
            }
            .into()
        })
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
        return Err(ProtocolError::BatchSize {
            asked: keys.len(),
            max: session.batch_size,
        }
        .into());
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
        return Err(ProtocolError::DpopKeyMissing.into());
    }
    let response = send(
        transport,
        HttpRequest {
            method: "POST".into(),
            url: session.credential_endpoint.clone(),
            headers,
            body: body.to_string().into_bytes(),
        },
    )?;
    let document = "credential response";
    let body: Value = json_of(document, &response.body)?;
    let credentials =
        body.get("credentials")
            .and_then(Value::as_array)
            .ok_or(ProtocolError::Missing {
                document,
                member: "credentials",
            })?;
    if credentials.len() != keys.len() {
        return Err(ProtocolError::CredentialCount {
            found: credentials.len(),
            proofs: keys.len(),
        }
        .into());
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
        .ok_or_else(|| ProtocolError::UnknownConfiguration(configuration_id.to_owned()))?;
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
                .ok_or(ProtocolError::CredentialNotText)?;
            let verified = verify_vc(sd_jwt, &options)?;
            if verified.vct != expected_vct {
                return Err(ClientError::WrongType {
                    found: verified.vct,
                    expected: expected_vct.to_owned(),
                });
            }
            if verified.iss.as_deref() != Some(session.issuer.as_str()) {
                return Err(ClientError::WrongIssuer {
                    found: verified.iss,
                    expected: session.issuer.clone(),
                });
            }
            if verified.holder_key.as_ref() != Some(key.public_key()) {
                return Err(ClientError::NotBound);
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
    .map_err(ClientError::from)
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
    let response = transport.send(&request)?;
    if response.body.len() > MAX_RESPONSE {
        return Err(TransportError::TooLarge.into());
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

/// `body` parsed as the JSON object `document` must be.
fn json_of(document: &'static str, body: &[u8]) -> Result<Value, ClientError> {
    let json = |reason: String| ProtocolError::Json { document, reason };
    let value: Value = serde_json::from_slice(body).map_err(|e| json(e.to_string()))?;
    if !value.is_object() {
        return Err(json("not an object".into()).into());
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
        Err(ProtocolError::InsecureUrl(url.to_owned()).into())
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
