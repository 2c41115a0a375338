//! OpenID for Verifiable Presentations 1.0 with the Digital Credentials Query Language.
//!
//! - [`dcql`]: queries, and their evaluation against the credentials a wallet holds.
//! - [`request`]: signed request objects, the `x509_san_dns` and `x509_hash` client identifier
//!   prefixes, invocation URLs (QR codes, deep links), relying-party registrations.
//! - [`response`]: the wallet's `vp_token` and `direct_post` body; the verifier's check of a
//!   response against its request (single use), offline.
//! - [`qr`]: a presentation packed into one QR code, for proximity without a network.

pub mod dcql;
pub mod qr;
pub mod request;
pub mod response;

/// Why a request or a response was refused. [`Oid4vpError::code`] gives the OAuth / OpenID4VP
/// error code to report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Oid4vpError {
    /// A malformed or unacceptable request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The verifier is not who it claims, or not trusted.
    #[error("invalid client: {0}")]
    InvalidClient(String),
    /// The DCQL query is malformed or breaks a rule.
    #[error(transparent)]
    Dcql(#[from] dcql::DcqlError),
    /// A response that does not answer its request.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// A response for a request this verifier does not have pending (unknown, expired, or
    /// already answered: a replay).
    #[error("no pending request for this response (unknown, expired or already answered)")]
    UnknownOrReplayed,
    /// A presentation did not verify.
    #[error("presentation for {query:?}: {error}")]
    Presentation {
        /// The credential query it answered.
        query: String,
        /// Why it failed.
        error: crate::verifier::VerificationError,
    },
}

impl Oid4vpError {
    /// The error code: `invalid_request`, `invalid_client`, `invalid_request` for a bad DCQL
    /// query, and for responses `invalid_request` too (the verifier's own diagnostics).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidRequest(_) | Self::Dcql(_) => "invalid_request",
            Self::InvalidResponse(_) | Self::UnknownOrReplayed | Self::Presentation { .. } => {
                "invalid_request"
            }
        }
    }
}
