//! What the demo apps need beside the wallet and the verifier: a presentation packed for one QR
//! code (phone to counter with no network), and the SDK's software keystore for desktops, tests
//! and benchmarks (a phone passes its platform keystore instead).

use std::sync::Arc;

use dinhdanh_sdk::{
    openid4vp::qr,
    wallet::{self as core, KeyStore as _},
};

use crate::{
    error::{DinhdanhError, invalid},
    platform::{KeyStore, KeyStoreFailure},
};

/// Packs a wallet's answer (the form body of `Wallet.respond`, or any SD-JWT text) into the
/// compact form of one QR code (`DD1:` then Base45 of the DEFLATE-compressed segments: the QR
/// alphanumeric alphabet).
#[uniffi::export]
pub fn encode_qr_presentation(text: String) -> Result<String, DinhdanhError> {
    Ok(qr::encode(&text)?)
}

/// What a QR code made by [`encode_qr_presentation`] carries, byte for byte (at most 64 KiB).
#[uniffi::export]
pub fn decode_qr_presentation(text: String) -> Result<String, DinhdanhError> {
    Ok(qr::decode(text.trim())?)
}

/// The SDK's software keystore behind the host's keystore interface (also the FFI tests').
pub(crate) struct SoftwareKeys(pub(crate) core::SoftwareKeyStore);

fn failure(error: core::KeyStoreError) -> KeyStoreFailure {
    match error {
        core::KeyStoreError::NotFound(alias) => KeyStoreFailure::NotFound { alias },
        core::KeyStoreError::Unwrap => KeyStoreFailure::Unwrap,
        other => KeyStoreFailure::Refused {
            reason: other.to_string(),
        },
    }
}

impl KeyStore for SoftwareKeys {
    fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.generate_signing_key(&alias).map_err(failure)
    }
    fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.public_key(&alias).map_err(failure)
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.sign(&alias, &message).map_err(failure)
    }
    fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.generate_wrapping_key(&alias).map_err(failure)
    }
    fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.wrap(&alias, &secret).map_err(failure)
    }
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.unwrap(&alias, &wrapped).map_err(failure)
    }
    fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure> {
        self.0.contains(&alias).map_err(failure)
    }
    fn delete(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.delete(&alias).map_err(failure)
    }
}

/// The SDK's software keystore in `dir` (each key a file encrypted under a key derived from
/// `passphrase`): for desktops, tests and benchmarks, where there is no platform keystore. Keys
/// in it are only as safe as the passphrase and the files.
#[uniffi::export]
pub fn software_keystore(
    dir: String,
    passphrase: String,
) -> Result<Arc<dyn KeyStore>, DinhdanhError> {
    let keys =
        core::SoftwareKeyStore::open_with_passphrase(std::path::Path::new(&dir), &passphrase)
            .map_err(invalid)?;
    Ok(Arc::new(SoftwareKeys(keys)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_qr_presentation_round_trips_and_garbage_is_invalid_input() {
        let body = "vp_token=%7B%22pid%22%3A%5B%22eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIkFuIl0~%22%5D%7D&state=s-1";
        let packed = encode_qr_presentation(body.into()).unwrap();
        assert!(packed.starts_with("DD1:"));
        assert_eq!(decode_qr_presentation(format!("{packed}\n")).unwrap(), body);
        for garbage in ["", "DD1:", "DD1:%%%", "DD2:ABC", "eyJhbGciOiJFUzI1NiJ9"] {
            assert!(
                matches!(
                    decode_qr_presentation(garbage.into()),
                    Err(DinhdanhError::InvalidInput { .. })
                ),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn the_software_keystore_signs_wraps_and_refuses_what_it_must() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let keys = software_keystore(path.clone(), "passphrase".into()).unwrap();
        keys.generate_signing_key("k".into()).unwrap();
        assert_eq!(keys.public_key("k".into()).unwrap().len(), 65);
        assert!(
            !keys
                .sign("k".into(), b"message".to_vec())
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            keys.sign("missing".into(), vec![]),
            Err(KeyStoreFailure::NotFound { .. })
        ));
        keys.generate_wrapping_key("w".into()).unwrap();
        let mut wrapped = keys.wrap("w".into(), b"secret".to_vec()).unwrap();
        assert_eq!(keys.unwrap("w".into(), wrapped.clone()).unwrap(), b"secret");
        let last = wrapped.len() - 1;
        wrapped[last] ^= 1;
        assert!(matches!(
            keys.unwrap("w".into(), wrapped),
            Err(KeyStoreFailure::Unwrap)
        ));
        assert!(keys.contains("k".into()).unwrap());
        keys.delete("k".into()).unwrap();
        assert!(!keys.contains("k".into()).unwrap());
        // Another passphrase does not open the same keystore.
        assert!(software_keystore(path, "another".into()).is_err());
    }
}
