//! Compact JWS (RFC 7515) parsing and ES256 verification: `UnverifiedJws::parse`, then
//! `verify` under the fixed issuer and holder keys.

#![no_main]

use dinhdanh_sdk::jose::UnverifiedJws;
use dinhdanh_sdk_fuzz::{HOLDER_KEY, issuer_public};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jws) = UnverifiedJws::parse(text) else {
        return;
    };
    let _ = jws.header().require_typ("kb+jwt");
    let _ = jws.unverified_payload().len();
    let _ = jws.verify(issuer_public());
    if let Ok(jws) = UnverifiedJws::parse(text) {
        let _ = jws.verify(HOLDER_KEY.public_key());
    }
});
