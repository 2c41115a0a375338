//! A wallet as the tests need one: keys, and the OpenID4VCI requests built with the SDK.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use dinhdanh_sdk::{
    jose::Es256KeyPair,
    openid4vci::{
        PRE_AUTHORIZED_GRANT,
        dpop::{self, DpopInput},
        offer::{OfferReference, parse_offer_uri},
        proof::{self, ProofInput},
    },
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
    verifier::{
        IssuerTrustData, KeyBindingPolicy, StatusListCache, StatusPolicy, StatusTrust,
        Verification, VerificationError, VerificationPolicy, verify_presentation,
    },
    x509::TrustAnchor,
};
use serde_json::{Value, json};

use super::{ORIGIN, Reply, TestApp};

pub fn now() -> u64 {
    dinhdanh_server::platform::clock::now() as u64
}

/// The pre-authorized code of an offer URI.
pub fn pre_authorized_code(offer_uri: &str) -> String {
    let OfferReference::Value(offer) = parse_offer_uri(offer_uri).unwrap() else {
        panic!("offer by reference");
    };
    assert_eq!(offer.credential_issuer, ORIGIN);
    offer
        .pre_authorized_code()
        .unwrap()
        .pre_authorized_code
        .clone()
}

/// POSTs a form to the token endpoint, with a DPoP proof when `dpop_key` is given.
pub async fn token_request(
    app: &TestApp,
    fields: &[(&str, &str)],
    dpop_key: Option<&Es256KeyPair>,
) -> Reply {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A")))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(key) = dpop_key {
        request = request.header("DPoP", dpop_proof(key, "/token", None));
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

/// Exchanges a pre-authorized code (and transaction code) for an access token.
pub async fn redeem(
    app: &TestApp,
    offer_uri: &str,
    tx_code: &str,
    dpop_key: Option<&Es256KeyPair>,
) -> String {
    let code = pre_authorized_code(offer_uri);
    let reply = token_request(
        app,
        &[
            ("grant_type", PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", &code),
            ("tx_code", tx_code),
        ],
        dpop_key,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let expected = if dpop_key.is_some() { "DPoP" } else { "Bearer" };
    assert_eq!(reply.body["token_type"], expected);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// A DPoP proof for `POST <ORIGIN><path>`.
pub fn dpop_proof(key: &Es256KeyPair, path: &str, access_token: Option<&str>) -> String {
    dpop::build(&DpopInput {
        signer: key,
        public_key: key.public_key(),
        htm: "POST",
        htu: &format!("{ORIGIN}{path}"),
        access_token,
        nonce: None,
        iat: now(),
    })
    .unwrap()
}

/// A fresh `c_nonce`.
pub async fn nonce(app: &TestApp) -> String {
    let reply = app.call(Method::POST, "/nonce", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    reply.body["c_nonce"].as_str().unwrap().to_owned()
}

/// A key proof for this issuer.
pub fn key_proof(key: &Es256KeyPair, nonce: &str) -> String {
    proof_for(key, ORIGIN, Some(nonce))
}

/// A key proof for any audience.
pub fn proof_for(key: &Es256KeyPair, aud: &str, nonce: Option<&str>) -> String {
    proof::build(&ProofInput {
        signer: key,
        public_key: key.public_key(),
        aud,
        nonce,
        iss: None,
        iat: now(),
    })
    .unwrap()
}

/// How a credential request authenticates.
pub enum Access<'a> {
    Bearer(&'a str),
    Dpop(&'a str, &'a Es256KeyPair),
    None,
}

/// POSTs a credential request.
pub async fn credential_request(app: &TestApp, access: Access<'_>, body: Value) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/credential")
        .header(header::CONTENT_TYPE, "application/json");
    match access {
        Access::Bearer(token) => {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        Access::Dpop(token, key) => {
            request = request
                .header(header::AUTHORIZATION, format!("DPoP {token}"))
                .header("DPoP", dpop_proof(key, "/credential", Some(token)));
        }
        Access::None => {}
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

/// Requests one copy per key of `configuration`, each proof with `nonce`.
pub async fn request_credentials(
    app: &TestApp,
    access: Access<'_>,
    configuration: &str,
    keys: &[&Es256KeyPair],
    nonce: &str,
) -> Reply {
    let proofs: Vec<String> = keys.iter().map(|k| key_proof(k, nonce)).collect();
    credential_request(
        app,
        access,
        json!({ "credential_configuration_id": configuration, "proofs": { "jwt": proofs } }),
    )
    .await
}

/// The credentials of a successful credential response.
pub fn credentials(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["credential"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts an OAuth-style error (`{"error": code}`).
pub fn assert_oauth_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.body["error"], code, "{}", reply.text);
    assert!(reply.body["error_description"].is_string());
}

/// What a relying party needs to verify offline: the issuer root (as published) and the
/// status lists it fetched.
pub struct RelyingParty {
    pub anchors: Vec<TrustAnchor>,
    pub status: StatusListCache,
}

impl RelyingParty {
    pub async fn new(app: &TestApp) -> Self {
        let root = app
            .call(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        assert_eq!(root.status, StatusCode::OK);
        Self {
            anchors: TrustAnchor::from_pem(&root.text).unwrap(),
            status: StatusListCache::new(),
        }
    }

    /// Fetches (again) the status list a credential names.
    pub async fn fetch_status(&mut self, app: &TestApp, uri: &str) {
        let path = uri.strip_prefix(ORIGIN).unwrap();
        let reply = app.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/statuslist+jwt"
        );
        self.status = StatusListCache::new();
        self.status
            .insert(
                uri,
                &reply.text,
                &StatusTrust::Anchors(self.anchors.clone()),
                now(),
            )
            .unwrap();
    }

    /// Presents `credential` (disclosing `disclose`) with `holder` and verifies it.
    pub fn verify(
        &self,
        credential: &str,
        holder: &Es256KeyPair,
        disclose: &[&str],
    ) -> Result<Verification, VerificationError> {
        let sd_jwt = SdJwt::parse(credential).unwrap();
        let paths: Vec<ClaimPath> = disclose
            .iter()
            .map(|d| ClaimPath::root().child(*d))
            .collect();
        let presentation = sd_jwt
            .present(
                &paths,
                Some(KeyBindingInput {
                    signer: holder,
                    aud: "https://bank.example.vn",
                    nonce: "rp-nonce-1",
                    iat: now(),
                }),
            )
            .unwrap();
        let policy = VerificationPolicy {
            accepted_vcts: vec![],
            issuer_trust: IssuerTrustData::Anchors(self.anchors.clone()),
            trust_as_of: now(),
            max_trust_age: 86_400,
            skew: 60,
            key_binding: Some(KeyBindingPolicy {
                audience: "https://bank.example.vn".into(),
                nonce: "rp-nonce-1".into(),
                max_age: 300,
            }),
            status: StatusPolicy {
                max_age: 600,
                require_status: true,
            },
        };
        verify_presentation(&presentation, &policy, &self.status, now())
    }
}

/// The status reference (`uri`, `idx`) of a credential.
pub fn status_of(credential: &str) -> (String, u64) {
    let sd_jwt = SdJwt::parse(credential).unwrap();
    let list = &sd_jwt.claims()["status"]["status_list"];
    (
        list["uri"].as_str().unwrap().to_owned(),
        list["idx"].as_u64().unwrap(),
    )
}
