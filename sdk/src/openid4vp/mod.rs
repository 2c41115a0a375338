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

/// The error codes of OAuth 2.0 (RFC 6749 section 4.1.2.1) and OpenID4VP (section 8.5) that a
/// wallet may answer with.
pub const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_client",
    "vp_formats_not_supported",
    "invalid_request_uri_method",
    "invalid_transaction_data",
    "wallet_unavailable",
];

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
    /// An invocation URL or a posted body that is not well-formed `application/x-www-form-urlencoded`
    /// text (a parameter repeated, text that is not UTF-8).
    #[error(transparent)]
    Query(#[from] crate::urlencode::QueryError),
    /// The request carries `transaction_data`, which this wallet supports for no type: a request
    /// with it must be refused (sections 5.1 and 8.4), with this code (section 8.5).
    #[error("invalid transaction data: {0}")]
    InvalidTransactionData(String),
    /// `request_uri_method` is neither `get` nor `post` (section 8.5).
    #[error("invalid request_uri_method: {0}")]
    InvalidRequestUriMethod(String),
    /// The verifier supports none of the credential formats and algorithms this wallet presents
    /// with (`client_metadata.vp_formats_supported`, sections 11.1 and 8.5).
    #[error("vp formats not supported: {0}")]
    VpFormatsNotSupported(String),
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
    /// The wallet answered with an error response (section 8.5): `access_denied` when the
    /// citizen declined or the wallet will present nothing that answers the request.
    #[error("the wallet answered {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        /// The error code, e.g. `access_denied`.
        error: String,
        /// `error_description`, if the wallet gave one.
        description: Option<String>,
    },
    /// The relying party has no valid registration with the agency (none, expired, for another
    /// client id, or not signed under the relying-party anchor).
    #[error("not registered with the agency: {0}")]
    Unregistered(String),
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
    /// The error code a wallet answers with (section 8.5): `invalid_request` (a bad DCQL query
    /// or URL encoding included), `invalid_client`, `invalid_transaction_data`,
    /// `invalid_request_uri_method`, `vp_formats_not_supported`; for responses `invalid_request`
    /// too (the verifier's own diagnostics), and for a wallet's error response its own code when
    /// the specification defines it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidRequest(_) | Self::Dcql(_) | Self::Query(_) => "invalid_request",
            Self::InvalidTransactionData(_) => "invalid_transaction_data",
            Self::InvalidRequestUriMethod(_) => "invalid_request_uri_method",
            Self::VpFormatsNotSupported(_) => "vp_formats_not_supported",
            Self::Refused { error, .. } => ERROR_CODES
                .iter()
                .find(|code| **code == error.as_str())
                .copied()
                .unwrap_or("invalid_request"),
            Self::InvalidResponse(_)
            | Self::UnknownOrReplayed
            | Self::Unregistered(_)
            | Self::Presentation { .. } => "invalid_request",
        }
    }

    /// Why an answer was not accepted, as a relying party acts on it: a presentation's own
    /// reason (revoked, suspended, expired, forged, untrusted issuer, stale trust data), an
    /// answer to no pending request ([`Rejection::Replayed`]), a relying party without a valid
    /// registration ([`Rejection::Unregistered`]), anything else malformed. `None` when the
    /// wallet answered with an error response (the citizen declined, or the wallet refused).
    pub fn rejection(&self) -> Option<crate::vc::Rejection> {
        use crate::vc::Rejection;
        match self {
            Self::Presentation { error, .. } => Some(error.rejection()),
            Self::UnknownOrReplayed => Some(Rejection::Replayed),
            Self::Unregistered(_) => Some(Rejection::Unregistered),
            Self::Refused { .. } => None,
            _ => Some(Rejection::Malformed),
        }
    }
}
