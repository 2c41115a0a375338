//! SD-JWT-based Verifiable Credentials, **draft-ietf-oauth-sd-jwt-vc-24**.
//!
//! On top of [`crate::sdjwt`]: the `dc+sd-jwt` media type, the registered claims (`iss`, `iat`,
//! `nbf`, `exp`, `vct`, `cnf`, `status`) and the rule that `iss`, `nbf`, `exp`, `cnf`, `vct`,
//! `vct#integrity` and `status` are never selectively disclosable; the issuer's key from the
//! `x5c` header (a chain to a trust anchor, with `iss` bound to the leaf certificate) or from JWT
//! VC Issuer Metadata; and the typed kinds of credential dinhdanh issues ([`CredentialKind`]).
//!
//! All text in issued claims is normalized to Unicode NFC, so that "Nguyễn" written with
//! combining marks and "Nguyễn" precomposed are the same name to every verifier.

mod issue;
mod kinds;
mod metadata;
mod verify;

pub use issue::{VcIssuance, issue_vc};
pub use kinds::{ClaimSchema, ClaimType, CredentialKind};
pub use metadata::JwtVcIssuerMetadata;
pub use verify::{IssuerTrust, VcVerifyOptions, VerifiedVc, verify_vc};

use crate::{jose::JoseError, sdjwt::SdJwtError, status_list::StatusListError, x509::X509Error};

/// The media type of SD-JWT VCs, used as the JWS `typ` (draft-24 section 3.2.1).
pub const VC_TYP: &str = "dc+sd-jwt";

/// Claims that must always be visible (draft-24 section 3.2.2).
pub const NEVER_DISCLOSABLE: [&str; 7] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

/// Why a credential could not be issued or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VcError {
    /// The SD-JWT layer refused it.
    #[error(transparent)]
    SdJwt(#[from] SdJwtError),
    /// A JOSE problem outside the SD-JWT (issuer metadata keys).
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The issuer's certificate chain is not trusted.
    #[error(transparent)]
    X509(#[from] X509Error),
    /// A status list problem.
    #[error(transparent)]
    StatusList(#[from] StatusListError),
    /// A registered claim is missing or has the wrong type.
    #[error("claim {0}: {1}")]
    Claim(String, &'static str),
    /// A claim that must stay visible was made selectively disclosable.
    #[error("claim {0} must never be selectively disclosable")]
    NeverDisclosable(String),
    /// The credential's `vct` is not one the verifier accepts.
    #[error("credential type {0:?} not accepted")]
    UnacceptedType(String),
    /// The claims do not match the schema of the credential kind.
    #[error("schema of {kind}: {reason}")]
    Schema {
        /// The credential kind.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No way to find the issuer's key, or `iss` does not match the key's certificate/metadata.
    #[error("issuer key: {0}")]
    IssuerKey(String),
}

impl From<VcError> for SdJwtError {
    fn from(error: VcError) -> Self {
        match error {
            VcError::SdJwt(inner) => inner,
            other => SdJwtError::IssuerKey(other.to_string()),
        }
    }
}

/// Normalizes every string value to Unicode NFC. Member names are left alone: issuance refuses
/// names that are not NFC (normalizing them could merge two members into one).
pub fn normalize_nfc(value: &mut serde_json::Value) {
    use unicode_normalization::{UnicodeNormalization, is_nfc};
    match value {
        serde_json::Value::String(text) if !is_nfc(text) => *text = text.nfc().collect(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalize_nfc),
        serde_json::Value::Object(map) => map.values_mut().for_each(normalize_nfc),
        _ => {}
    }
}
