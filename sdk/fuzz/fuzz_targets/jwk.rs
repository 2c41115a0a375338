//! Key decoding: P-256 JWKs (public and private), SEC1 points and PKCS#8 DER. Every key that is
//! accepted must survive a round trip through its own encoding unchanged.

#![no_main]

use dinhdanh_sdk::jose::{Es256KeyPair, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(key) = PublicKey::from_jwk(&jwk) {
            let again = PublicKey::from_jwk(&key.to_jwk());
            assert!(again.as_ref() == Ok(&key), "public JWK round trip: {again:?}");
            let _ = key.thumbprint();
        }
        if let Ok(key) = PublicKey::from_jwk_unvalidated(&jwk) {
            // An unvalidated point may be off the curve: verification must refuse, not panic.
            let _ = key.validate();
            let _ = key.verify_es256(b"message", &[1u8; 64]);
        }
        if let Ok(pair) = Es256KeyPair::from_jwk(&jwk) {
            let _ = pair.public_key().thumbprint();
            let _ = pair.sign_es256(b"message");
        }
    }

    if let Ok(key) = PublicKey::from_sec1(data) {
        let again = PublicKey::from_sec1(key.sec1_uncompressed());
        assert!(again.as_ref() == Ok(&key), "SEC1 round trip: {again:?}");
    }

    if let Ok(pair) = Es256KeyPair::from_pkcs8_der(data) {
        let der = pair.to_pkcs8_der();
        let again = der.as_ref().ok().and_then(|der| Es256KeyPair::from_pkcs8_der(der).ok());
        assert!(
            again.as_ref().map(Es256KeyPair::public_key) == Some(pair.public_key()),
            "PKCS#8 round trip"
        );
    }
});
