//! OpenID4VCI messages an issuer or a wallet receives: key proofs, DPoP proofs and credential
//! offer URIs. No input may panic; an accepted offer round trips through its own URI.

#![no_main]

use dinhdanh_sdk::openid4vci::{
    dpop::{self, DpopExpectation},
    offer::{OfferReference, parse_offer_uri},
    proof::{self, ProofExpectation},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = proof::verify(
        text,
        &ProofExpectation {
            issuer: "https://id.dinhdanh.example",
            now: 1_800_000_000,
            max_age: 300,
            skew: 30,
        },
    );
    let _ = dpop::verify(
        text,
        &DpopExpectation {
            htm: "POST",
            htu: "https://id.dinhdanh.example/credential",
            access_token: Some("token"),
            bound_jkt: None,
            now: 1_800_000_000,
            max_age: 300,
            skew: 30,
        },
    );
    if let Ok(OfferReference::Value(offer)) = parse_offer_uri(text) {
        let again = parse_offer_uri(&offer.to_uri());
        assert!(
            again == Ok(OfferReference::Value(offer)),
            "offer round trip: {again:?}"
        );
    }
});
