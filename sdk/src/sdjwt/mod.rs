//! Selective Disclosure for JWTs, **RFC 9901**.
//!
//! - [`SdJwtIssuer`] turns a claims object into an issuer-signed JWT with selectively disclosable
//!   object properties (at any depth) and array elements, decoy digests and `_sd_alg: sha-256`.
//! - [`SdJwt`] is the holder's parsed view: which disclosure sits at which claim path, and
//!   [`SdJwt::present`] picks disclosures by path (a nested claim brings its parents along) and
//!   appends a Key Binding JWT.
//! - [`verify`] checks a presentation against every MUST of RFC 9901 section 7 and returns the
//!   processed claims with the paths that were disclosed.
//!
//! Claim paths are written like JSON pointers (RFC 6901): `/address/street_address`,
//! `/nationalities/0`.

mod disclosure;
mod issuer;
mod json_serialization;
mod parts;
mod path;
mod process;
mod verify;

pub use disclosure::{Disclosure, DisclosureStyle};
pub use issuer::{DecoyPolicy, SdJwtIssuer};
pub use json_serialization::{from_json_serialization, to_json_serialization};
pub use parts::{KeyBindingInput, SdJwt};
pub use path::ClaimPath;
pub use verify::{
    IssuerKeyResolver, KeyBindingClaims, KeyBindingExpectation, VerifiedSdJwt, VerifyOptions,
    verify,
};

use crate::jose::JoseError;

/// The only `_sd_alg` dinhdanh issues and accepts (RFC 9901 section 4.1.1).
pub const SD_ALG: &str = "sha-256";
/// `typ` of the Key Binding JWT (RFC 9901 section 4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";
/// Claims deeper than this (objects, arrays and nested disclosures together) are refused, so a
/// hostile SD-JWT cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Why the issuer-signed JWT is not valid at the time of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Its `exp` has passed.
    #[error("expired")]
    Expired,
    /// Its `nbf` has not come yet.
    #[error("not yet valid")]
    NotYetValid,
    /// Its `iat` is in the future.
    #[error("issued in the future")]
    IssuedInTheFuture,
    /// `exp`, `nbf` or `iat` is not an integer.
    #[error("exp, nbf and iat must be integers")]
    NotAnInteger,
}

/// Why an SD-JWT could not be issued, parsed, presented or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtError {
    /// A JWS or key problem (signature, algorithm, encoding).
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The serialization is not `<JWT>~<Disclosure>~...~[<KB-JWT>]`.
    #[error("malformed SD-JWT: {0}")]
    Malformed(&'static str),
    /// A disclosure is not a base64url JSON array of 2 or 3 elements with a string salt.
    #[error("malformed disclosure: {0}")]
    MalformedDisclosure(&'static str),
    /// `_sd_alg` names a hash algorithm other than `sha-256`.
    #[error("unsupported _sd_alg {0:?}")]
    UnsupportedHashAlgorithm(String),
    /// A digest appears more than once in the payload and disclosures.
    #[error("digest {0} appears more than once")]
    DuplicateDigest(String),
    /// The same disclosure was sent twice.
    #[error("duplicate disclosure")]
    DuplicateDisclosure,
    /// A disclosure is not referenced by any digest in the payload or in other disclosures.
    #[error("disclosure not referenced by any digest")]
    UnreferencedDisclosure,
    /// `_sd` or `...` used against the rules (not an array of digests, a `...` key outside an
    /// array element, a disclosure of the wrong shape for its place, ...).
    #[error("invalid use of _sd or ...: {0}")]
    InvalidDigestUse(&'static str),
    /// A disclosure names a claim `_sd` or `...`.
    #[error("disclosure with reserved claim name {0:?}")]
    ReservedClaimName(String),
    /// A disclosed claim has the same name as a claim already at that level.
    #[error("claim {0:?} disclosed where it already exists")]
    ClaimNameCollision(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("claims nested too deeply")]
    TooDeep,
    /// A claim path is not valid JSON-pointer syntax.
    #[error("invalid claim path {0:?}")]
    InvalidPath(String),
    /// A claim path names no claim.
    #[error("no claim at path {0}")]
    UnknownPath(String),
    /// Issuance input is not acceptable (e.g. the claims use `_sd`, or a path marks the root).
    #[error("invalid issuance input: {0}")]
    InvalidInput(String),
    /// A Key Binding JWT was required but the presentation has none.
    #[error("key binding JWT required")]
    KeyBindingMissing,
    /// The payload has no usable `cnf.jwk` to check key binding with.
    #[error("no holder key (cnf.jwk) in the SD-JWT")]
    NoHolderKey,
    /// The Key Binding JWT's claims do not match (`aud`, `nonce`, `sd_hash`, `iat`).
    #[error("key binding JWT rejected: {0}")]
    KeyBinding(String),
    /// The issuer-signed JWT is expired, not yet valid, or issued in the future.
    #[error("SD-JWT not valid at this time: {0}")]
    Time(TimeError),
    /// The issuer's key could not be found or is not trusted.
    #[error("issuer key: {0}")]
    IssuerKey(String),
}

impl From<serde_json::Error> for SdJwtError {
    fn from(error: serde_json::Error) -> Self {
        Self::Jose(JoseError::from(error))
    }
}

#[cfg(test)]
mod tests;
