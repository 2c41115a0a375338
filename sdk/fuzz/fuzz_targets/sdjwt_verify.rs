//! SD-JWT (RFC 9901) parsing and verification of arbitrary presentations: `sdjwt::verify` with
//! and without a Key Binding expectation, `SdJwt::parse` + `present`, `Disclosure::parse`, the
//! JSON serialization and claim paths.
//!
//! The issuer key is the RFC 9901 example key, so the example presentations in
//! `seeds/sdjwt_verify/` verify and mutations of their disclosures and KB-JWT reach the
//! processing rules behind the signature check.

#![no_main]

use dinhdanh_sdk::jose::{JwsHeader, PublicKey};
use dinhdanh_sdk::sdjwt::{
    self, ClaimPath, Disclosure, KeyBindingExpectation, SdJwt, SdJwtError, VerifyOptions,
};
use dinhdanh_sdk_fuzz::{NOW, issuer_public};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// The `iat` of the RFC 9901 example KB-JWTs (`kb_jwt_payload.json`).
const EXAMPLE_KB_IAT: u64 = 1_795_745_459;

fn verify_all(text: &str) {
    let key = issuer_public();
    let mut resolver =
        |_: &JwsHeader, _: &Map<String, Value>| -> Result<PublicKey, SdJwtError> { Ok(key.clone()) };
    let with_kb = VerifyOptions {
        now: NOW,
        skew: 60,
        key_binding: Some(KeyBindingExpectation {
            aud: "a",
            nonce: "n",
            max_age: 300,
        }),
    };
    let _ = sdjwt::verify(text, &with_kb, &mut resolver);
    let without_kb = VerifyOptions {
        key_binding: None,
        ..with_kb
    };
    let _ = sdjwt::verify(text, &without_kb, &mut resolver);
    // What the RFC 9901 examples expect, so a mutated example can pass the KB-JWT checks.
    let example = VerifyOptions {
        now: EXAMPLE_KB_IAT + 10,
        skew: 60,
        key_binding: Some(KeyBindingExpectation {
            aud: "https://verifier.example.org",
            nonce: "1234567890",
            max_age: 300,
        }),
    };
    let _ = sdjwt::verify(text, &example, &mut resolver);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    verify_all(text);

    if let Ok(sd_jwt) = SdJwt::parse(text) {
        let _ = sd_jwt.present(&[], None);
        let paths: Vec<ClaimPath> = sd_jwt.disclosable_paths().cloned().collect();
        let _ = sd_jwt.present(&paths, None);
        let _ = sd_jwt.serialize();
    }
    if let Ok(disclosure) = Disclosure::parse(text) {
        let _ = (disclosure.digest(), disclosure.name(), disclosure.value());
    }
    if let Ok(compact) = sdjwt::from_json_serialization(text) {
        verify_all(&compact);
        let _ = sdjwt::to_json_serialization(&compact);
    }
    if let Ok(path) = ClaimPath::parse(text) {
        let again = ClaimPath::parse(&path.to_string());
        assert!(again.as_ref() == Ok(&path), "claim path round trip: {path:?} -> {again:?}");
    }
    let _ = ClaimPath::parse_list(text);
});
