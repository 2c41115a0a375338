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

use crate::{
    jose::JoseError,
    sdjwt::{SdJwtError, TimeError},
    status_list::StatusListError,
    x509::X509Error,
};

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

/// What a refused credential or presentation means to whoever acts on it: the few outcomes a
/// relying party or a wallet handles differently (tell the citizen the card was revoked, refresh
/// the trust data, report a forgery). [`VcError::rejection`] and
/// [`crate::verifier::VerificationError::rejection`] classify their failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The issuer revoked the credential (status `invalid`), or gave it another status that is
    /// not valid and not `suspended`.
    Revoked,
    /// The issuer suspended the credential; it may be reinstated.
    Suspended,
    /// The credential's `exp` has passed.
    Expired,
    /// Altered or not genuine: a signature, a disclosure's digest or the key binding (holder
    /// signature, audience, nonce, `sd_hash`, age) does not verify.
    Forged,
    /// The issuer is not trusted: its certificate chain does not lead to a trust anchor, or
    /// its key or `iss` is not one the trust data names.
    UntrustedIssuer,
    /// The verifier's own trust data or status list is too old, missing, or dated in the
    /// future: it must refresh them (or its clock) and verify again.
    StaleTrustData,
    /// Malformed, of a type not accepted, or breaking a rule of its format.
    Malformed,
    /// A relying party without a valid registration with the agency (none, expired, for
    /// another client, or not signed under the relying-party anchor).
    Unregistered,
    /// An answer to a request that is not pending: unknown, expired, or answered already.
    Replayed,
}

impl VcError {
    /// What this failure means to whoever acts on it.
    pub fn rejection(&self) -> Rejection {
        match self {
            Self::SdJwt(error) => sd_jwt_rejection(error),
            Self::Jose(JoseError::BadSignature) => Rejection::Forged,
            Self::X509(_) | Self::IssuerKey(_) => Rejection::UntrustedIssuer,
            Self::Jose(_)
            | Self::StatusList(_)
            | Self::Claim(..)
            | Self::NeverDisclosable(_)
            | Self::UnacceptedType(_)
            | Self::Schema { .. } => Rejection::Malformed,
        }
    }
}

fn sd_jwt_rejection(error: &SdJwtError) -> Rejection {
    match error {
        SdJwtError::Jose(JoseError::BadSignature)
        | SdJwtError::UnreferencedDisclosure
        | SdJwtError::KeyBindingMissing
        | SdJwtError::KeyBinding(_) => Rejection::Forged,
        SdJwtError::Time(TimeError::Expired) => Rejection::Expired,
        SdJwtError::IssuerKey(_) => Rejection::UntrustedIssuer,
        _ => Rejection::Malformed,
    }
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
