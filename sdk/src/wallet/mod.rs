//! The wallet core: keys in the platform's keystore, and credentials held offline, encrypted at
//! rest.
//!
//! - [`keystore`]: the [`KeyStore`] trait the host supplies (Android Keystore, Secure Enclave),
//!   [`SoftwareKeyStore`] for tests and desktops, and [`KeyStoreSigner`], a keystore key as a
//!   JWS signer.
//! - [`envelope`]: the versioned AEAD envelope every stored record is sealed in.
//! - [`store`]: [`WalletStore`], credentials with their batch copies and the presentation log in
//!   one SQLite file; every change is one transaction.

pub mod envelope;
pub mod keystore;
pub mod store;

pub use keystore::{KeyStore, KeyStoreError, KeyStoreSigner, SoftwareKeyStore};
pub use store::{
    CopyRecord, CredentialInfo, PresentationRecord, StoreError, TakenCopy, WalletStore,
};
