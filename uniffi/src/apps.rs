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

/// The SDK's software keystore behind the host's keystore interface.
struct SoftwareKeys(core::SoftwareKeyStore);

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
