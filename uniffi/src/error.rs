//! [`DinhdanhError`]: every failure the bindings report, by what an app does about it, mapped
//! from the SDK's typed errors here and nowhere else.

use dinhdanh_sdk::{
    cms::CmsError,
    holder::WalletError,
    openid4vci::client::ClientError,
    openid4vp::Oid4vpError,
    pades::PdfError,
    trust::TrustBundleError,
    tsp::TspError,
    vc::{Rejection, VcError},
    verifier::VerificationError,
    wallet::KeyStoreError,
};

/// Every failure, by kind, with a reason for logs and support (never personal data). (Fields are
/// not called `message`: Kotlin exceptions have one already.)
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum DinhdanhError {
    /// Malformed input, or a message that breaks its protocol.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong.
        reason: String,
    },
    /// The credential was revoked by its issuer.
    #[error("revoked: {reason}")]
    Revoked {
        /// The status found.
        reason: String,
    },
    /// The credential is suspended by its issuer (it may be reinstated).
    #[error("suspended: {reason}")]
    Suspended {
        /// The status found.
        reason: String,
    },
    /// The credential has expired.
    #[error("expired: {reason}")]
    Expired {
        /// What expired.
        reason: String,
    },
    /// Altered or not genuine: a signature, a disclosure or the key binding does not verify.
    #[error("forged: {reason}")]
    Forged {
        /// What did not verify.
        reason: String,
    },
    /// The issuer is not one the agency's roots vouch for.
    #[error("untrusted issuer: {reason}")]
    UntrustedIssuer {
        /// What was wrong with its chain or key.
        reason: String,
    },
    /// The app's own trust roots or status lists are too old, missing or dated in the future:
    /// fetch them again (or fix the clock) and retry.
    #[error("stale trust data: {reason}")]
    StaleTrustData {
        /// Which data, and how old.
        reason: String,
    },
    /// A request whose signature, certificate chain or client identifier is not trusted.
    #[error("untrusted verifier: {reason}")]
    UntrustedVerifier {
        /// What was wrong.
        reason: String,
    },
    /// A verifier with no registration with the agency: the wallet discloses nothing to it.
    /// `body` is the `access_denied` answer to POST to `response_uri`, so that the verifier
    /// learns the answer instead of waiting.
    #[error("{verifier} is not registered with the agency")]
    UnregisteredVerifier {
        /// Its client identifier.
        verifier: String,
        /// Where to POST `body`.
        response_uri: String,
        /// The `access_denied` answer (form-encoded, or a `response=` JWE).
        body: String,
    },
    /// The wallet refused an authenticated verifier's request (it carries `transaction_data`,
    /// expired, asks for formats the wallet does not present, …): `body` is the error response
    /// (OpenID4VP section 8.5) to POST to `response_uri`, so that the verifier learns why.
    #[error("request refused: {reason}")]
    RequestRefused {
        /// Why, with the OpenID4VP error code.
        reason: String,
        /// Where to POST `body`.
        response_uri: String,
        /// The error response, form-encoded.
        body: String,
    },
    /// The issuer, verifier or wallet refused (its error code in the reason; a wallet's
    /// `access_denied` to a verifier).
    #[error("refused: {reason}")]
    Refused {
        /// The error code and description.
        reason: String,
    },
    /// No network, or no answer.
    #[error("network: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The platform keystore failed.
    #[error("keystore: {reason}")]
    KeyStore {
        /// What failed.
        reason: String,
    },
    /// The wallet file failed (I/O, altered records).
    #[error("storage: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// No credential in the wallet answers the request.
    #[error("no credential answers the request")]
    NoMatch,
    /// An answer to a request that is not pending (unknown, expired, or answered already).
    #[error("no pending request for this answer")]
    Replayed,
    /// The agency revoked this relying party: the wallet discloses nothing to it and answers
    /// nothing.
    #[error("{verifier} was revoked by the agency")]
    RevokedVerifier {
        /// Its client identifier.
        verifier: String,
    },
    /// The relying party has no valid registration with the agency (none, expired, for another
    /// client id, or not signed under the relying-party anchor).
    #[error("not registered: {reason}")]
    Unregistered {
        /// What was wrong.
        reason: String,
    },
    /// The document is encrypted: it cannot be signed (decrypt it first).
    #[error("the document is encrypted")]
    EncryptedDocument,
    /// The certificate chain given to sign with does not certify the keystore key.
    #[error("certificate does not match the key: {reason}")]
    CertificateMismatch {
        /// What was wrong.
        reason: String,
    },
    /// The time-stamp authority refused, or answered something else than the query.
    #[error("time-stamp: {reason}")]
    Timestamp {
        /// What was wrong.
        reason: String,
    },
}

/// Malformed input, with what the parser said.
pub(crate) fn invalid(error: impl ToString) -> DinhdanhError {
    DinhdanhError::InvalidInput {
        reason: error.to_string(),
    }
}

/// A refused credential or presentation, by what its refusal means.
fn rejected(rejection: Rejection, error: &impl ToString) -> DinhdanhError {
    let reason = error.to_string();
    match rejection {
        Rejection::Revoked => DinhdanhError::Revoked { reason },
        Rejection::Suspended => DinhdanhError::Suspended { reason },
        Rejection::Expired => DinhdanhError::Expired { reason },
        Rejection::Forged => DinhdanhError::Forged { reason },
        Rejection::UntrustedIssuer => DinhdanhError::UntrustedIssuer { reason },
        Rejection::StaleTrustData => DinhdanhError::StaleTrustData { reason },
        Rejection::Unregistered => DinhdanhError::Unregistered { reason },
        Rejection::Replayed => DinhdanhError::Replayed,
        _ => DinhdanhError::InvalidInput { reason },
    }
}

impl From<VerificationError> for DinhdanhError {
    fn from(error: VerificationError) -> Self {
        rejected(error.rejection(), &error)
    }
}

impl From<VcError> for DinhdanhError {
    fn from(error: VcError) -> Self {
        rejected(error.rejection(), &error)
    }
}

impl From<Oid4vpError> for DinhdanhError {
    fn from(error: Oid4vpError) -> Self {
        match &error {
            Oid4vpError::InvalidClient(_) => Self::UntrustedVerifier {
                reason: error.to_string(),
            },
            Oid4vpError::UnknownOrReplayed => Self::Replayed,
            Oid4vpError::Unregistered(_) => Self::Unregistered {
                reason: error.to_string(),
            },
            Oid4vpError::Refused { .. } => Self::Refused {
                reason: error.to_string(),
            },
            Oid4vpError::Presentation { error: cause, .. } => rejected(cause.rejection(), &error),
            _ => invalid(error),
        }
    }
}

impl From<TrustBundleError> for DinhdanhError {
    fn from(error: TrustBundleError) -> Self {
        let reason = error.to_string();
        match error {
            // Expired, or older than the bundle held (a rollback): fetch the current one.
            TrustBundleError::Stale { .. } | TrustBundleError::Rollback { .. } => {
                Self::StaleTrustData { reason }
            }
            // Not signed through the pinned agency root, or altered.
            _ => Self::Forged { reason },
        }
    }
}

impl From<ClientError> for DinhdanhError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Transport(cause) => Self::Network {
                reason: cause.to_string(),
            },
            ClientError::Issuer { .. } => Self::Refused {
                reason: error.to_string(),
            },
            ClientError::KeyStore(cause) => Self::KeyStore {
                reason: cause.to_string(),
            },
            ClientError::Credential(ref cause) => rejected(cause.rejection(), &error),
            ClientError::WrongIssuer { .. } => Self::UntrustedIssuer {
                reason: error.to_string(),
            },
            _ => invalid(error),
        }
    }
}

impl From<WalletError> for DinhdanhError {
    fn from(error: WalletError) -> Self {
        match error {
            WalletError::Store(cause) => Self::Storage {
                reason: cause.to_string(),
            },
            WalletError::KeyStore(cause) => Self::KeyStore {
                reason: cause.to_string(),
            },
            WalletError::Issuance(cause) => cause.into(),
            WalletError::Presentation(cause) => cause.into(),
            WalletError::NoMatch => Self::NoMatch,
            WalletError::RequestRefused { error, response } => Self::RequestRefused {
                reason: format!("{}: {error}", error.code()),
                response_uri: response.response_uri,
                body: response.body,
            },
            WalletError::UnregisteredVerifier { verifier, response } => {
                Self::UnregisteredVerifier {
                    verifier,
                    response_uri: response.response_uri,
                    body: response.body,
                }
            }
            WalletError::RevokedVerifier { verifier } => Self::RevokedVerifier { verifier },
            WalletError::StaleTrustData(reason) => Self::StaleTrustData { reason },
            WalletError::TrustBundle(cause) => cause.into(),
            // A stored credential that no longer parses: the wallet file, not the input.
            WalletError::Credential(_) => Self::Storage {
                reason: error.to_string(),
            },
            _ => invalid(error),
        }
    }
}

impl From<KeyStoreError> for DinhdanhError {
    fn from(error: KeyStoreError) -> Self {
        Self::KeyStore {
            reason: error.to_string(),
        }
    }
}

impl From<CmsError> for DinhdanhError {
    fn from(error: CmsError) -> Self {
        match error {
            CmsError::Signing(reason) => Self::KeyStore { reason },
            CmsError::Certificate(cause) => Self::CertificateMismatch {
                reason: cause.to_string(),
            },
            other => invalid(other),
        }
    }
}

impl From<PdfError> for DinhdanhError {
    fn from(error: PdfError) -> Self {
        match error {
            PdfError::Encrypted => Self::EncryptedDocument,
            PdfError::Cms(cause) => cause.into(),
            other => invalid(other),
        }
    }
}

impl From<TspError> for DinhdanhError {
    fn from(error: TspError) -> Self {
        match error {
            TspError::Malformed(_) => invalid(error),
            other => Self::Timestamp {
                reason: other.to_string(),
            },
        }
    }
}
