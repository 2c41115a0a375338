//! Why receiving a credential failed: typed, so a host can tell the network, the issuer's refusal,
//! a protocol violation and a credential that does not verify apart.

use super::{FORMAT_SD_JWT_VC, JoseError, KeyStoreError, Oid4vciError, TransportError, VcError};

/// Why receiving a credential failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be sent or no response came.
    #[error("network: {0}")]
    Transport(#[from] TransportError),
    /// The issuer answered with an error (its OAuth / OpenID4VCI error code when it gave one).
    #[error("the issuer answered {status}: {code} {description}")]
    Issuer {
        /// HTTP status.
        status: u16,
        /// `error`, e.g. `invalid_grant`, `invalid_proof`.
        code: String,
        /// `error_description`, if any.
        description: String,
    },
    /// An offer, metadata document, response or redirect does not follow the specification,
    /// or the flow cannot go on with what it was given.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The keystore failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// A key proof or DPoP proof could not be made.
    #[error("making a proof: {0}")]
    Proof(#[from] Oid4vciError),
    /// No randomness for a PKCE verifier or a `state`.
    #[error("no randomness: {0}")]
    Random(#[from] JoseError),
    /// An issued credential does not verify (issuer signature and chain, disclosures, time).
    #[error("an issued credential does not verify: {0}")]
    Credential(#[from] VcError),
    /// An issued credential is of another type than its configuration's.
    #[error("an issued credential has vct {found:?} where {expected:?} was asked for")]
    WrongType {
        /// Its `vct`.
        found: String,
        /// The configuration's `vct`.
        expected: String,
    },
    /// An issued credential names another issuer than the one that issued it.
    #[error("an issued credential names the issuer {found:?}, not {expected:?}")]
    WrongIssuer {
        /// Its `iss`, if it has one.
        found: Option<String>,
        /// The credential issuer the wallet asked.
        expected: String,
    },
    /// An issued credential is not bound to the key whose proof asked for it.
    #[error("an issued credential is not bound to the key that asked for it")]
    NotBound,
}

/// What was wrong with a message of the issuer's, or with what the wallet was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The credential offer does not parse.
    #[error("the credential offer: {0}")]
    Offer(Oid4vciError),
    /// A document fetched is not UTF-8 text.
    #[error("the {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A document or response is not the JSON object it must be.
    #[error("the {document} is not a JSON object: {reason}")]
    Json {
        /// Which document.
        document: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A document or response lacks a member the flow needs.
    #[error("the {document} has no {member}")]
    Missing {
        /// Which document.
        document: &'static str,
        /// The member.
        member: &'static str,
    },
    /// An endpoint in the metadata is not a string.
    #[error("the metadata's {0} is not a string")]
    NotAString(String),
    /// A URL is neither `https` nor a loopback development address.
    #[error("the URL {0:?} is not https (nor a loopback development address)")]
    InsecureUrl(String),
    /// The issuer's metadata names another `credential_issuer` than the one asked.
    #[error("the issuer's metadata names another credential_issuer")]
    OtherIssuer,
    /// The metadata has no `dc+sd-jwt` configuration of this id (offered or asked for).
    #[error("the issuer's metadata has no {FORMAT_SD_JWT_VC} configuration {0:?}")]
    UnknownConfiguration(String),
    /// The offer carries no pre-authorized code to redeem.
    #[error("the offer has no pre-authorized code")]
    NoPreAuthorizedCode,
    /// The offer asks for a transaction code and none was given.
    #[error("the offer needs a transaction code")]
    TxCodeRequired,
    /// The authorization server has no pushed authorization or authorization endpoint.
    #[error("the authorization server has no pushed authorization or authorization endpoint")]
    NoAuthorizationEndpoint,
    /// The token response binds the token otherwise than asked.
    #[error("the token response has token_type {found} where {expected} was asked for")]
    TokenType {
        /// The `token_type` answered.
        found: String,
        /// `Bearer` or `DPoP`.
        expected: &'static str,
    },
    /// The redirect is not to the wallet's redirect URI.
    #[error("the redirect is not to the wallet's redirect URI")]
    RedirectTarget,
    /// A parameter of the redirect is not UTF-8, or repeated.
    #[error("the redirect: {0}")]
    RedirectQuery(crate::urlencode::QueryError),
    /// The redirect's `state` is not the one the authorization started with.
    #[error("the redirect's state does not match")]
    StateMismatch,
    /// The redirect's `iss` names another issuer (RFC 9207).
    #[error("the redirect's iss names another issuer")]
    RedirectIssuer,
    /// More or fewer copies asked for than the issuer's batch size allows.
    #[error("asks for {asked} copies; the issuer takes 1 to {max}")]
    BatchSize {
        /// Copies asked for.
        asked: usize,
        /// The issuer's batch size.
        max: u32,
    },
    /// The access token is DPoP-bound and its key was not given.
    #[error("a DPoP token needs its key")]
    DpopKeyMissing,
    /// The credential response has another number of credentials than proofs sent.
    #[error("{found} credentials for {proofs} proofs")]
    CredentialCount {
        /// Credentials answered.
        found: usize,
        /// Proofs sent.
        proofs: usize,
    },
    /// A credential in the response is not a string.
    #[error("a credential in the response is not a string")]
    CredentialNotText,
}
