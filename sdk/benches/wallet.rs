//! Speed of the wallet and of the relying party's verification (issue 5's figures).
//!
//! Run: `cargo bench -p dinhdanh-sdk --bench wallet` (add `-- --quick` for a short run).
//!
//! 1. **Open a wallet holding 100 credentials and answer a DCQL request**: open the encrypted
//!    store (unwrap the data key through the keystore), check the signed request (certificate
//!    chain, signature, registration), decrypt and parse the 100 credentials, evaluate the query,
//!    take an unused copy, present four claims with a KB-JWT signed through the keystore, log it.
//!    Milliseconds per answer (median), and the peak heap it allocates above what was live before
//!    (a counting global allocator; SQLite's page cache is on the heap too).
//! 2. **Verify a presentation through the verifier API, status included**: `verify_response`
//!    (the pending request's DCQL query, the issuer's `x5c` chain to the agency root, the
//!    disclosures, the key binding, the status entry in a cached 2^20-entry list); beside it the
//!    bound: the three bare ES256 verifications it cannot avoid (certificate, credential, KB-JWT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use dinhdanh_sdk::{
    holder::Wallet,
    jose::{Es256KeyPair, JwsHeader, PublicKey},
    openid4vp::{
        dcql::DcqlQuery,
        request::{
            REGISTRAR_URI, REGISTRATION_FORMAT, RegisteredCredential, Registration, RequestObject,
            RequestReference, ResponseMode, STATIC_AUDIENCE, VerifierInfo, new_nonce, sign_request,
        },
        response::{ResponsePolicy, verify_response},
    },
    status_list::{StatusList, StatusListToken, StatusReference},
    vc::{self, CredentialKind, VcIssuance},
    verifier::{IssuerTrustData, StatusListCache, StatusPolicy, StatusTrust},
    wallet::{CopyRecord, CredentialInfo, KeyStore, SoftwareKeyStore, WalletStore},
    x509::{
        self, TrustAnchor,
        dev::{DevCa, LeafProfile},
    },
};
use serde_json::{Map, Value, json};

/// Counts heap bytes, live and peak (the crate keeps the `unsafe` allocator code).
#[global_allocator]
static HEAP: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";
const PID: &str = "urn:vn:dinhdanh:pid:1";
const CLIENT_ID: &str = "x509_san_dns:bank.example.vn";
const CREDENTIALS: usize = 100;
const COPIES: usize = 3;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn rate(window: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < window {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 5 } else { 21 };

    // The agency: an issuing root and issuer, a relying-party CA, a bank and the registry.
    let validity = (NOW - 1_000, NOW + 10_000_000);
    let leaf = |ca: &DevCa, key: &Es256KeyPair, name: &str, dns: &[&str], uris: &[&str]| {
        ca.issue(
            key.public_key(),
            &LeafProfile {
                common_name: name,
                dns_names: dns,
                uris,
                not_before: validity.0,
                not_after: validity.1,
            },
        )
        .unwrap()
    };
    let root = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "root",
        validity.0,
        validity.1,
    )
    .unwrap();
    let issuer = Es256KeyPair::generate().unwrap();
    let issuer_x5c = x509::der_chain_to_x5c(&[leaf(&root, &issuer, "issuer", &[], &[ISS])]);
    let rp_ca = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "rp ca",
        validity.0,
        validity.1,
    )
    .unwrap();
    let bank = Es256KeyPair::generate().unwrap();
    let bank_chain = vec![leaf(&rp_ca, &bank, "bank", &["bank.example.vn"], &[])];
    let registry = Es256KeyPair::generate().unwrap();
    let registry_chain = vec![leaf(&rp_ca, &registry, "registry", &[], &[REGISTRAR_URI])];
    let anchors = vec![root.trust_anchor().unwrap()];
    let rp_anchors: Vec<TrustAnchor> = vec![rp_ca.trust_anchor().unwrap()];

    // A status list of 2^20 entries, 1 % revoked, cached by the relying party.
    let status_uri = format!("{ISS}/status-lists/1");
    let mut list = StatusList::new(2, 1 << 20).unwrap();
    for i in (0..1 << 20).step_by(100) {
        list.set(i + 1, 1).unwrap();
    }
    let status_token = StatusListToken::new(status_uri.clone(), NOW - 60, list)
        .sign(
            &JwsHeader {
                x5c: Some(issuer_x5c.clone()),
                ..JwsHeader::default()
            },
            &issuer,
        )
        .unwrap();
    let mut status = StatusListCache::new();
    status
        .insert(
            &status_uri,
            &status_token,
            &StatusTrust::Anchors(anchors.clone()),
            NOW,
        )
        .unwrap();

    // The wallet: 100 credentials (PIDs and the four other kinds), 3 copies each.
    let dir = tempfile::tempdir().unwrap();
    let keys = std::sync::Arc::new(
        SoftwareKeyStore::open_with_master_key(&dir.path().join("keys"), &[1; 32]).unwrap(),
    );
    let path = dir.path().join("wallet.db");
    let mut pid: Map<String, Value> =
        serde_json::from_str(include_str!("../tests/vectors/pid-sample.json")).unwrap();
    pid.remove("age_equal_or_over");
    {
        let mut store = WalletStore::open(&path, keys.as_ref(), "wallet").unwrap();
        for i in 0..CREDENTIALS {
            let copies: Vec<CopyRecord> = (0..COPIES)
                .map(|c| {
                    let alias = format!("holder/{i}/{c}");
                    keys.generate_signing_key(&alias).unwrap();
                    let holder = PublicKey::from_sec1(&keys.public_key(&alias).unwrap()).unwrap();
                    let reference =
                        StatusReference::new(status_uri.clone(), (i * 7 + c) as u64 * 100);
                    let sd_jwt = vc::issue_vc(
                        &issuer,
                        &VcIssuance {
                            vct: PID,
                            iss: Some(ISS),
                            iat: NOW - 86_400,
                            exp: Some(NOW + 86_400 * 365),
                            holder_key: Some(&holder),
                            status: Some(&reference),
                            x5c: Some(issuer_x5c.clone()),
                            ..VcIssuance::default()
                        },
                        &pid,
                        &CredentialKind::Pid.disclosable_paths(&pid),
                    )
                    .unwrap();
                    CopyRecord {
                        sd_jwt,
                        key_alias: alias,
                    }
                })
                .collect();
            store
                .add(
                    &CredentialInfo {
                        id: String::new(),
                        configuration_id: Some("pid".into()),
                        vct: PID.into(),
                        issuer: ISS.into(),
                        issued_at: NOW - 86_400,
                        expires_at: None,
                        added_at: NOW,
                    },
                    &copies,
                )
                .unwrap();
        }
    }

    // The bank's request: four PID claims, registered.
    let registration = Registration {
        iss: "https://rp-registry.dinhdanh.example".into(),
        sub: CLIENT_ID.into(),
        name: "Ngân hàng Ví dụ".into(),
        purpose: "eKYC".into(),
        credentials: vec![RegisteredCredential {
            vct: PID.into(),
            claims: vec![
                "/given_name".into(),
                "/family_name".into(),
                "/birthdate".into(),
                "/address".into(),
            ],
        }],
        iat: NOW - 60,
        exp: NOW + 86_400,
        status: None,
    }
    .sign(&registry, &registry_chain)
    .unwrap();
    let query = DcqlQuery::from_json(&json!({
        "credentials": [{ "id": "pid", "format": "dc+sd-jwt", "meta": { "vct_values": [PID] },
            "claims": [{ "path": ["given_name"] }, { "path": ["family_name"] },
                       { "path": ["birthdate"] }, { "path": ["address", "locality"] }] }]
    }))
    .unwrap();
    let request = |nonce: String| RequestObject {
        client_id: CLIENT_ID.into(),
        response_type: "vp_token".into(),
        response_mode: ResponseMode::DirectPost,
        response_uri: "https://bank.example.vn/response".into(),
        nonce,
        state: Some("s".into()),
        dcql_query: query.clone(),
        client_metadata: None,
        verifier_info: Some(vec![VerifierInfo {
            format: REGISTRATION_FORMAT.into(),
            data: Value::String(registration.clone()),
            credential_ids: None,
        }]),
        aud: Some(STATIC_AUDIENCE.into()),
        iat: Some(NOW),
        exp: Some(NOW + 300),
    };
    let object = request(new_nonce().unwrap());
    let uri = RequestReference::Value {
        client_id: CLIENT_ID.into(),
        request: sign_request(&object, &bank, &bank_chain).unwrap(),
    }
    .to_uri();

    // 1. Open and answer.
    let answer = || {
        let mut wallet = Wallet::open(
            &path,
            keys.clone(),
            "wallet",
            anchors.clone(),
            rp_anchors.clone(),
        )
        .unwrap();
        let pending = wallet.prepare_presentation(&uri, None, NOW).unwrap();
        wallet.respond(&pending, NOW).unwrap()
    };
    let response = answer();
    let vp_token = response
        .vp_token
        .clone()
        .expect("the registered bank gets a presentation");
    let mut millis = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..rounds {
        let base = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let start = Instant::now();
        black_box(answer());
        millis.push(start.elapsed().as_secs_f64() * 1e3);
        peaks.push(HEAP.peak_usage().saturating_sub(base) as f64 / 1024.0);
    }
    println!("Wallet of {CREDENTIALS} PID credentials ({COPIES} copies each), {rounds} rounds");
    println!(
        "{:<58} {:>8.2} ms",
        "open + check request + evaluate DCQL + present + log",
        median(&mut millis)
    );
    println!(
        "{:<58} {:>8.0} KiB",
        "  peak heap allocated during it",
        median(&mut peaks)
    );

    // 2. The relying party's verification, status included, against its bound.
    let policy = ResponsePolicy {
        issuer_trust: IssuerTrustData::Anchors(anchors.clone()),
        trust_as_of: NOW - 60,
        max_trust_age: 86_400,
        skew: 60,
        max_presentation_age: 300,
        status: StatusPolicy {
            max_age: 3_600,
            require_status: true,
        },
    };
    let answers = verify_response(&vp_token, &object, &policy, &status, NOW).unwrap();
    let claims = &answers[0].verification.claims;
    assert!(
        ["given_name", "family_name", "birthdate", "address"]
            .iter()
            .all(|c| claims.contains_key(*c))
    );
    let presentation = vp_token["pid"][0].as_str().unwrap().to_owned();
    let (jwt, _) = presentation.split_once('~').unwrap();
    let kb = presentation.rsplit('~').next().unwrap();
    let signed = |token: &str| token[..token.rfind('.').unwrap()].to_owned();
    let signature =
        |token: &str| dinhdanh_sdk::jose::b64::decode(token.rsplit('.').next().unwrap()).unwrap();
    let holder_key = answers[0].verification.claims["cnf"]["jwk"].clone();
    let holder_key = PublicKey::from_jwk(&holder_key).unwrap();
    let (jwt_input, jwt_sig, kb_input, kb_sig) =
        (signed(jwt), signature(jwt), signed(kb), signature(kb));
    let cert_message = b"a certificate's to-be-signed bytes, about this long............".repeat(6);
    let cert_sig = root_sign(&cert_message);
    let window = Duration::from_millis(if quick { 100 } else { 300 });
    let (mut verify, mut bound) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        verify.push(rate(window, || {
            black_box(verify_response(&vp_token, &object, &policy, &status, NOW).unwrap());
        }));
        bound.push(rate(window, || {
            issuer
                .public_key()
                .verify_es256(jwt_input.as_bytes(), &jwt_sig)
                .unwrap();
            holder_key
                .verify_es256(kb_input.as_bytes(), &kb_sig)
                .unwrap();
            cert_sig.0.verify_es256(&cert_message, &cert_sig.1).unwrap();
        }));
    }
    let (verify, bound) = (median(&mut verify), median(&mut bound));
    println!();
    println!("Relying party: verify_response, PID with 4 disclosed claims, status in a 2^20 list");
    println!(
        "{:<58} {:>8.0} /s",
        "verify_response (chain, SD-JWT, KB, DCQL, status)", verify
    );
    println!(
        "{:<58} {:>8.0} /s",
        "bound: 3 bare ES256 verifications (ring)", bound
    );
    println!("{:<58} {:>8.2}", "ratio", verify / bound);
}

/// A key and its ES256 signature of `message` (the certificate's signature in the bound).
fn root_sign(message: &[u8]) -> (PublicKey, Vec<u8>) {
    let key = Es256KeyPair::generate().unwrap();
    (key.public_key().clone(), key.sign_es256(message).unwrap())
}
