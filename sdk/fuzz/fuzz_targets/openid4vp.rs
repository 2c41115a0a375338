//! OpenID4VP input from the network: invocation URLs and request objects (a wallet receives),
//! compact QR presentations, posted answers, encrypted responses (JWE) and `vp_token`s (a
//! verifier receives), pending requests read back from a host's store. No input may panic; any text
//! round trips through the compact QR form; a decoded QR form re-encodes to a decodable one.

#![no_main]

use dinhdanh_sdk::{
    jose::{
        Es256KeyPair,
        jwe::{ContentEncryption, DecryptionKey},
    },
    openid4vp::{
        dcql::DcqlQuery,
        qr,
        request::{RequestObject, RequestReference, ResponseMode, verify_request},
        response::{ResponsePolicy, open_encrypted_response, verify_response},
    },
    verifier::{IssuerTrustData, StatusListCache, StatusPolicy},
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = RequestReference::parse(text);
    // A posted answer as a verifier service reads it (the body of its response_uri), in the
    // clear and under direct_post.jwt; a stored pending request read back.
    let _ = dinhdanh_sdk::relying_party::read_answer(text, None);
    let _ = serde_json::from_str::<dinhdanh_sdk::relying_party::PendingRequest>(text);
    if let Ok(key) = DecryptionKey::from_bytes(&[7u8; 32]) {
        let _ = dinhdanh_sdk::relying_party::read_answer(text, Some(&key));
        let _ = open_encrypted_response(
            text,
            &key,
            &[ContentEncryption::A128Gcm, ContentEncryption::A256Gcm],
        );
    }
    let _ = verify_request(text, "x509_san_dns:bank.example.vn", &[], NOW);
    let compact = qr::encode(text).expect("any text packs");
    assert_eq!(qr::decode(&compact).as_deref(), Ok(text));
    if let Ok(decoded) = qr::decode(text) {
        let again = qr::encode(&decoded).expect("decoded text packs");
        assert_eq!(qr::decode(&again).as_deref(), Ok(decoded.as_str()));
    }
    let Ok(token) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Ok(query) = DcqlQuery::from_json(&json!({
        "credentials": [{ "id": "pid", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] },
            "claims": [{ "path": ["given_name"] }] }]
    })) else {
        return;
    };
    let Ok(issuer) = Es256KeyPair::generate() else {
        return;
    };
    let request = RequestObject {
        client_id: "x509_san_dns:bank.example.vn".into(),
        response_type: "vp_token".into(),
        response_mode: ResponseMode::DirectPost,
        response_uri: "https://bank.example.vn/response".into(),
        nonce: "n-0123456789abcdef".into(),
        state: Some("s".into()),
        dcql_query: query,
        client_metadata: None,
        verifier_info: None,
        aud: None,
        iat: None,
        exp: None,
    };
    let policy = ResponsePolicy {
        issuer_trust: IssuerTrustData::Key(issuer.public_key().clone()),
        trust_as_of: NOW,
        max_trust_age: 60,
        skew: 60,
        max_presentation_age: 300,
        status: StatusPolicy {
            max_age: 60,
            require_status: false,
        },
    };
    let _ = verify_response(&token, &request, &policy, &StatusListCache::new(), NOW);
});
