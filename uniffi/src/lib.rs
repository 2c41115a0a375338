//! `dinhdanh-ffi`: the wallet and the verifier of `dinhdanh-sdk` for Kotlin, Swift and Python,
//! through UniFFI. A thin veneer, one file per concept:
//!
//! - [`wallet`]: the citizen's [`Wallet`] and a [`PendingPresentation`] waiting for consent;
//! - [`verifier`]: a relying party's [`Verifier`];
//! - [`apps`]: what desktops and scripts use where a phone has its platform's own (the SDK's
//!   software keystore and HTTP client);
//! - [`offline`]: a presentation in one QR code, for a counter without a network;
//! - [`trust`]: the agency's trust bundle, read ([`read_trust_bundle`]);
//! - [`signatures`]: document signatures (a CSR from a keystore key, a [`DocumentSigner`] for
//!   CMS, PDF and JWS, time-stamps, a [`SignatureVerdict`]);
//! - [`platform`]: the host's keystore and HTTP stack as foreign traits ([`KeyStore`],
//!   [`Transport`]);
//! - [`error`]: one flat error enum, [`DinhdanhError`], by what an app does about a failure.
//!
//! Every piece of logic lives in the SDK; each exported object wraps an SDK object and each
//! method converts types and errors. A Rust panic never reaches the host: UniFFI turns it into
//! an exception.
#![warn(missing_docs)]

pub mod apps;
pub mod error;
pub mod offline;
pub mod platform;
pub mod signatures;
pub mod trust;
pub mod verifier;
pub mod wallet;

use dinhdanh_sdk::x509::TrustAnchor;

#[cfg(feature = "http-transport")]
pub use crate::apps::http_transport;
pub use crate::{
    apps::software_keystore,
    error::DinhdanhError,
    platform::{
        HttpHeader, HttpRequest, HttpResponse, KeyStore, KeyStoreFailure, Transport,
        TransportFailure,
    },
    signatures::{
        DocumentSigner, RevocationStatus, SignatureRejection, SignatureTrust, SignatureVerdict,
        TimeStampRequest, add_cms_timestamp, add_pdf_timestamp, signing_certificate_request,
        verify_cms_signature, verify_jws_signature, verify_pdf_signatures,
    },
    trust::{TrustBundleSummary, read_trust_bundle},
    verifier::{
        CreatedRequest, RegisteredVerifierConfig, VerifiedCredential, Verifier, VerifierConfig,
    },
    wallet::{
        Consent, ConsentItem, CredentialSummary, PendingPresentation, PresentationAnswer,
        PresentationLogEntry, Wallet,
    },
};

uniffi::setup_scaffolding!();

/// Trust anchors from PEM the host passed.
fn anchors(pem: &str) -> Result<Vec<TrustAnchor>, DinhdanhError> {
    TrustAnchor::from_pem(pem).map_err(error::invalid)
}

/// The SDK's version.
#[uniffi::export]
pub fn sdk_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests;
