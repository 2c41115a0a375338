//! A telecom operator (or another relying party) as the tests need one: registered through
//! the relying-party registry (`domain::rp::register`, what `rp register` runs) with a CSR of
//! a fresh key, and client assertions signed with that key.

use axum::http::StatusCode;
use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader, sign_compact},
    x509,
};
use dinhdanh_server::{
    domain::rp::{self, RegisterRequest},
    store::RelyingPartyKind,
};
use serde_json::{Value, json};

use super::{ORIGIN, Reply, TestApp, wallet};

/// `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A registered relying party with its key and certificate chain (leaf, relying-party CA).
pub struct Operator {
    pub rp_id: String,
    pub client_id: String,
    pub key: Es256KeyPair,
    pub chain: Vec<Vec<u8>>,
}

/// The services of `app` (the same data directory, hence the same relying-party CA).
fn services(app: &TestApp) -> dinhdanh_server::domain::Services {
    let config = dinhdanh_server::platform::config::Config::default();
    dinhdanh_server::app::setup::services(
        app.store.clone(),
        config,
        &app.data_dir,
        ORIGIN.to_owned(),
    )
    .unwrap()
}

/// A CSR (DER) for `key`, signed by it (by another library than the registry's parser).
pub fn csr(key: &Es256KeyPair) -> Vec<u8> {
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_slice()).unwrap();
    rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key_pair)
        .unwrap()
        .der()
        .to_vec()
}

/// A relying party that may be asked for the personal identifier of a PID, as `rp register`
/// registers it: a fresh P-256 key, its CSR, the registry's access certificate.
pub fn request(dns: &str, kind: RelyingPartyKind, key: &Es256KeyPair) -> RegisterRequest {
    RegisterRequest {
        name: format!("Nhà mạng {dns}"),
        kind,
        dns: dns.to_owned(),
        csr: csr(key),
        allow: vec!["pid:/personal_identifier".into()],
        purpose: Some("Đăng ký thuê bao di động".into()),
        registration_number: None,
    }
}

/// Registers a relying party of `kind` for `dns` through the registry (as `rp register` does).
pub async fn register(app: &TestApp, dns: &str, kind: RelyingPartyKind) -> Operator {
    let key = Es256KeyPair::generate().unwrap();
    let registered = rp::register(
        &services(app),
        &request(dns, kind, &key),
        dinhdanh_server::domain::audit::OPERATOR,
    )
    .await
    .unwrap();
    Operator {
        rp_id: registered.rp_id,
        client_id: registered.client_id,
        key,
        chain: x509::pem_to_der_chain(&registered.certificate_chain).unwrap(),
    }
}

/// Revokes the relying party `rp_id` through the registry (as `rp revoke` does).
pub async fn revoke(app: &TestApp, rp_id: &str) {
    rp::revoke(
        &services(app),
        rp_id,
        Some("licence withdrawn"),
        dinhdanh_server::domain::audit::OPERATOR,
    )
    .await
    .unwrap();
}

impl Operator {
    /// The `x5c` header of its chain.
    pub fn x5c(&self) -> Vec<String> {
        x509::der_chain_to_x5c(&self.chain)
    }

    /// A client assertion with `claims`, signed by `key` with this operator's `x5c`.
    pub fn assertion_with(&self, key: &Es256KeyPair, claims: &Value) -> String {
        let header = JwsHeader {
            x5c: Some(self.x5c()),
            ..JwsHeader::es256("JWT")
        };
        sign_compact(&header, claims.to_string().as_bytes(), key).unwrap()
    }

    /// The claims of a good assertion: for the token endpoint, five minutes, a fresh `jti`.
    pub fn claims(&self) -> Value {
        let now = wallet::now();
        json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": format!("{ORIGIN}/token"),
            "iat": now,
            "exp": now + 120,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// A good client assertion.
    pub fn assertion(&self) -> String {
        self.assertion_with(&self.key, &self.claims())
    }

    /// POSTs a client credentials token request with `assertion` and `scope`.
    pub async fn token_request(&self, app: &TestApp, assertion: &str, scope: &str) -> Reply {
        wallet::token_request(
            app,
            &[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("client_id", &self.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ],
            None,
        )
        .await
    }

    /// An access token of scope `telecom`.
    pub async fn token(&self, app: &TestApp) -> String {
        let reply = self.token_request(app, &self.assertion(), "telecom").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }
}
