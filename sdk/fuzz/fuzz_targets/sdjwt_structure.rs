//! The RFC 9901 processing rules behind a valid signature: digests, `_sd`, `...` array elements,
//! recursive disclosures, collisions, depth limits, presentation selection and Key Binding.
//!
//! Input: `<payload>~<disclosure 0>~<disclosure 1>~...` with the disclosures in decoded form and
//! `@N` standing for the digest of disclosure `N`; see
//! [`dinhdanh_sdk_fuzz::sd_jwt_from_template`]. The payload is signed with the fixed issuer key.
//!
//! The result `<jwt>~<d0>~<d1>~...~` goes through `sdjwt::verify` and `SdJwt::parse`; when the
//! holder can parse it, presentations of every disclosable path (and of half of them) with a
//! Key Binding JWT from the fixed holder key are verified as a relying party would.

#![no_main]

use dinhdanh_sdk::jose::{JwsHeader, PublicKey};
use dinhdanh_sdk::sdjwt::{
    self, ClaimPath, KeyBindingExpectation, KeyBindingInput, SdJwt, SdJwtError, VerifyOptions,
};
use dinhdanh_sdk_fuzz::{HOLDER_KEY, ISSUER_KEY, NOW, issuer_public, sd_jwt_from_template};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some(sd_jwt) = sd_jwt_from_template(
        data,
        &JwsHeader::es256("example+sd-jwt"),
        &*ISSUER_KEY,
    ) else {
        return;
    };

    let key = issuer_public();
    let mut resolver =
        |_: &JwsHeader, _: &Map<String, Value>| -> Result<PublicKey, SdJwtError> { Ok(key.clone()) };
    let expectation = KeyBindingExpectation {
        aud: "a",
        nonce: "n",
        max_age: 300,
    };
    let without_kb = VerifyOptions {
        now: NOW,
        skew: 60,
        key_binding: None,
    };
    let with_kb = VerifyOptions {
        key_binding: Some(expectation),
        ..without_kb
    };
    let _ = sdjwt::verify(&sd_jwt, &without_kb, &mut resolver);
    let _ = sdjwt::verify(&sd_jwt, &with_kb, &mut resolver);

    let Ok(parsed) = SdJwt::parse(&sd_jwt) else {
        return;
    };
    let _ = parsed.present(&[], None);
    let paths: Vec<ClaimPath> = parsed.disclosable_paths().cloned().collect();
    let half: Vec<ClaimPath> = paths.iter().step_by(2).cloned().collect();
    for (disclose, everything) in [(&paths, true), (&half, false)] {
        let kb = KeyBindingInput {
            signer: &*HOLDER_KEY,
            aud: expectation.aud,
            nonce: expectation.nonce,
            iat: NOW,
        };
        let Ok(presentation) = parsed.present(disclose, Some(kb)) else {
            continue;
        };
        if let Ok(verified) = sdjwt::verify(&presentation, &with_kb, &mut resolver) {
            // Holder and verifier must agree on what a full presentation shows.
            if everything {
                assert!(
                    &verified.claims == parsed.claims(),
                    "holder and verifier disagree:\n{:?}\n{:?}",
                    parsed.claims(),
                    verified.claims
                );
            }
        }
    }
});
