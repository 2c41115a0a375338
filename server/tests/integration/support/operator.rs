//! A telecom operator (or another relying party) as the tests need one: an access certificate
//! from a relying-party CA under the server's development agency root, registered with
//! `Store::insert_relying_party`, and client assertions signed with its key.

use axum::http::StatusCode;
use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader, sign_compact},
    x509::{
        self,
        dev::{DevCa, LeafProfile},
    },
};
use dinhdanh_server::store::{RelyingPartyKind, RelyingPartyRow};
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

/// The development agency root of `app`'s data directory, as a CA.
fn agency_root(app: &TestApp) -> DevCa {
    let keys = app.data_dir.join("keys");
    let key =
        Es256KeyPair::from_pkcs8_der(&std::fs::read(keys.join("agency-root.p8")).unwrap()).unwrap();
    let pem = std::fs::read_to_string(keys.join("agency-root.pem")).unwrap();
    let der = x509::pem_to_der_chain(&pem).unwrap().remove(0);
    DevCa::load(&der, &key).unwrap()
}

/// A relying-party CA under `app`'s agency root, and a P-256 key certified by it for `dns`.
pub fn certify(app: &TestApp, dns: &str) -> (Es256KeyPair, Vec<Vec<u8>>) {
    let now = wallet::now();
    let root = agency_root(app);
    let ca_key = Es256KeyPair::generate().unwrap();
    let ca_der = root
        .issue_intermediate(
            ca_key.public_key(),
            "test relying-party CA",
            now - 3600,
            now + 86_400,
        )
        .unwrap();
    let ca = DevCa::load(&ca_der, &ca_key).unwrap();
    let key = Es256KeyPair::generate().unwrap();
    let leaf = ca
        .issue(
            key.public_key(),
            &LeafProfile {
                common_name: dns,
                dns_names: &[dns],
                not_before: now - 3600,
                not_after: now + 86_400,
                ..LeafProfile::default()
            },
        )
        .unwrap();
    (key, vec![leaf, ca_der])
}

/// Registers a relying party of `kind` for `dns` (as `rp register` will).
pub async fn register(app: &TestApp, dns: &str, kind: RelyingPartyKind) -> Operator {
    let (key, chain) = certify(app, dns);
    let rp_id = uuid::Uuid::new_v4().to_string();
    let client_id = format!("x509_san_dns:{dns}");
    let row = RelyingPartyRow {
        id: rp_id.clone(),
        client_id: client_id.clone(),
        name: format!("Nhà mạng {dns}"),
        registration_number: None,
        kind,
        dns_name: dns.to_owned(),
        purpose: "Đăng ký thuê bao di động".into(),
        allowed: r#"[{"configuration_id":"pid","claims":["/personal_identifier"]}]"#.into(),
        certificate: chain[0].clone(),
        serial: uuid::Uuid::new_v4().simple().to_string(),
        key_thumbprint: key.public_key().thumbprint(),
        status_index: 0,
        created_at: wallet::now() as i64,
        revoked_at: None,
        revocation_reason: None,
    };
    let event =
        dinhdanh_server::domain::audit::event("operator", "rp.registered", &rp_id, json!({}));
    app.store.insert_relying_party(&row, &event).await.unwrap();
    Operator {
        rp_id,
        client_id,
        key,
        chain,
    }
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
