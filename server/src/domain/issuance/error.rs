//! The failures of the OAuth and OpenID4VCI endpoints, each with the specification's error code.

use dinhdanh_sdk::openid4vci;

use crate::store::StoreError;

/// A failure at the token, nonce or credential endpoint, with the specification's error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OauthError {
    /// Malformed request (RFC 6749 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The client is not registered (RFC 6749 `invalid_client`).
    #[error("{0}")]
    InvalidClient(String),
    /// Unknown, expired, used or wrongly confirmed grant (`invalid_grant`).
    #[error("{0}")]
    InvalidGrant(String),
    /// Unknown or missing scope (`invalid_scope`).
    #[error("{0}")]
    InvalidScope(String),
    /// Grant type not supported (`unsupported_grant_type`).
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// Missing, malformed or expired access token (RFC 6750 `invalid_token`).
    #[error("{0}")]
    InvalidToken(String),
    /// Bad DPoP proof (RFC 9449 `invalid_dpop_proof`).
    #[error("{0}")]
    InvalidDpopProof(String),
    /// Bad key proof (`invalid_proof`).
    #[error("{0}")]
    InvalidProof(String),
    /// Missing, unknown, expired or used `c_nonce` (`invalid_nonce`).
    #[error("{0}")]
    InvalidNonce(String),
    /// Malformed credential request (`invalid_credential_request`).
    #[error("{0}")]
    InvalidCredentialRequest(String),
    /// Not a configuration of this issuer, or not in the token (`unknown_credential_configuration`).
    #[error("{0}")]
    UnknownCredentialConfiguration(String),
    /// `credential_identifier`s are not issued by this server (`unknown_credential_identifier`).
    #[error("{0}")]
    UnknownCredentialIdentifier(String),
    /// The account may not receive the credential now (`credential_request_denied`).
    #[error("{0}")]
    CredentialRequestDenied(String),
    /// A server failure.
    #[error("server error")]
    Server(#[from] StoreError),
}

impl OauthError {
    /// The error code of the specification.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::InvalidProof(_) => "invalid_proof",
            Self::InvalidNonce(_) => "invalid_nonce",
            Self::InvalidCredentialRequest(_) => "invalid_credential_request",
            Self::UnknownCredentialConfiguration(_) => "unknown_credential_configuration",
            Self::UnknownCredentialIdentifier(_) => "unknown_credential_identifier",
            Self::CredentialRequestDenied(_) => "credential_request_denied",
            Self::Server(_) => "server_error",
        }
    }
}

impl From<openid4vci::Oid4vciError> for OauthError {
    fn from(error: openid4vci::Oid4vciError) -> Self {
        use openid4vci::Oid4vciError as E;
        match error {
            E::InvalidProof(m) => Self::InvalidProof(m),
            E::InvalidNonce(m) => Self::InvalidNonce(m),
            E::InvalidDpopProof(m) => Self::InvalidDpopProof(m),
            E::InvalidRequest(m) => Self::InvalidRequest(m),
            other => Self::InvalidRequest(other.to_string()),
        }
    }
}
