//! A software passkey authenticator for API tests: P-256 (ES256), attestation format `none`,
//! user present and verified, a signature counter. It builds the same JSON a browser sends
//! (W3C WebAuthn Level 3, CTAP2 authenticator data and CBOR-encoded COSE key).

use dinhdanh_sdk::jose::b64;
use ring::{
    digest::{SHA256, digest},
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
};
use serde_json::{Value, json};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftAuthenticator {
    key: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
    pub credential_id: Vec<u8>,
    user_handle: Option<String>,
    pub counter: u32,
    rp_id: String,
    origin: String,
    /// Flags to clear (e.g. UV) to test refusals.
    pub drop_flags: u8,
}

fn cbor_head(major: u8, n: usize, out: &mut Vec<u8>) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=255 => out.extend([major | 24, n as u8]),
        _ => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
    }
}

fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len(), out);
    out.extend(s.as_bytes());
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len(), out);
    out.extend(b);
}

impl SoftAuthenticator {
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let mut credential_id = vec![0u8; 16];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut credential_id).unwrap();
        Self {
            key,
            pkcs8: pkcs8.as_ref().to_vec(),
            rng,
            credential_id,
            user_handle: None,
            counter: 0,
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            drop_flags: 0,
        }
    }

    /// The authenticator as JSON (its private key included: test use only), to carry it
    /// between processes (the `dinhdanh-passkey` helper).
    pub fn to_state(&self) -> Value {
        json!({
            "pkcs8": b64::encode(&self.pkcs8),
            "credential_id": b64::encode(&self.credential_id),
            "user_handle": self.user_handle,
            "counter": self.counter,
            "rp_id": self.rp_id,
            "origin": self.origin,
        })
    }

    /// The authenticator [`SoftAuthenticator::to_state`] saved.
    pub fn from_state(state: &Value) -> Self {
        let bytes = |name: &str| b64::decode(state[name].as_str().unwrap()).unwrap();
        let rng = SystemRandom::new();
        let pkcs8 = bytes("pkcs8");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng).unwrap();
        Self {
            key,
            pkcs8,
            rng,
            credential_id: bytes("credential_id"),
            user_handle: state["user_handle"].as_str().map(str::to_owned),
            counter: u32::try_from(state["counter"].as_u64().unwrap()).unwrap(),
            rp_id: state["rp_id"].as_str().unwrap().to_owned(),
            origin: state["origin"].as_str().unwrap().to_owned(),
            drop_flags: 0,
        }
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = digest(&SHA256, self.rp_id.as_bytes()).as_ref().to_vec();
        data.push(flags & !self.drop_flags);
        data.extend(self.counter.to_be_bytes());
        data
    }

    /// `navigator.credentials.create()`: a registration response for `options`.
    pub fn create(&mut self, options: &Value) -> Value {
        self.user_handle = options["publicKey"]["user"]["id"]
            .as_str()
            .map(str::to_owned);
        let client_data = self.client_data("webauthn.create", options);
        let point = self.key.public_key().as_ref();
        let mut auth_data = self.auth_data(UP | UV | AT);
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        auth_data.extend([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        cbor_bytes(&point[1..33], &mut auth_data);
        auth_data.push(0x22);
        cbor_bytes(&point[33..65], &mut auth_data);
        let mut attestation = Vec::new();
        cbor_head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        cbor_head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&auth_data, &mut attestation);
        json!({
            "id": b64::encode(&self.credential_id),
            "rawId": b64::encode(&self.credential_id),
            "type": "public-key",
            "response": { "attestationObject": b64::encode(&attestation), "clientDataJSON": b64::encode(&client_data) },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()`: an assertion for `options`, the counter advanced.
    pub fn get(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.assert(options)
    }

    /// An assertion without advancing the counter (a cloned authenticator).
    pub fn assert(&self, options: &Value) -> Value {
        let client_data = self.client_data("webauthn.get", options);
        let auth_data = self.auth_data(UP | UV);
        let mut signed = auth_data.clone();
        signed.extend(digest(&SHA256, &client_data).as_ref());
        let signature = self.key.sign(&self.rng, &signed).unwrap();
        json!({
            "id": b64::encode(&self.credential_id),
            "rawId": b64::encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64::encode(&auth_data),
                "clientDataJSON": b64::encode(&client_data),
                "signature": b64::encode(signature.as_ref()),
                "userHandle": self.user_handle,
            },
            "extensions": {},
        })
    }
}
