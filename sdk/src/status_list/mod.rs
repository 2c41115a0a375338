//! Token Status List (draft-ietf-oauth-status-list-21): the revocation and suspension mechanism
//! of SD-JWT VCs.
//!
//! An issuer keeps, per list, one small status value (1, 2, 4 or 8 bits) for every credential
//! copy it issued, packs the values into a byte array, ZLIB-compresses it and publishes it as a
//! signed JWT (`typ: statuslist+jwt`). Each credential names its list and its position in it
//! under `status.status_list` (`uri`, `idx`). A relying party fetches the list once, verifies it,
//! and reads a few bits per credential, offline afterwards.
//!
//! - [`StatusList`] is the packed list (draft section 4.1) with its `lst` encoding.
//! - [`Status`] is one entry read from it (the draft's Status Types: valid, invalid, suspended,
//!   application-specific).
//! - [`StatusListToken`] is the signed list in JWT form (section 5.1): issued with
//!   [`StatusListToken::sign`], checked with [`StatusListToken::verify`] or, when the key must
//!   be chosen from the header (`x5c`, `kid`), with [`UnverifiedStatusListToken`].
//! - [`StatusReference`] is what a credential carries (section 6.1) and
//!   [`StatusListToken::status_of`] answers it.
//!
//! The module is sans-I/O: fetching the token and caching it (see
//! [`StatusListToken::fresh_until`]) are the host's business. Not implemented: the CBOR/CWT
//! forms, `aggregation_uri`, and historical resolution (`time` query parameter).
//!
//! ```
//! use dinhdanh_sdk::jose::{Es256KeyPair, JwsHeader};
//! use dinhdanh_sdk::status_list::{Status, StatusList, StatusListToken, StatusReference};
//!
//! // Issuer: a 2-bit list in which entry 5 is revoked.
//! let key = Es256KeyPair::generate()?;
//! let mut list = StatusList::new(2, 1024)?;
//! list.set(5, Status::Invalid.into())?;
//! let uri = "https://status.example.vn/lists/7";
//! let jwt = StatusListToken::new(uri, 1_700_000_000, list).sign(&JwsHeader::default(), &key)?;
//!
//! // Relying party: the credential says `"status": {"status_list": {"idx": 5, "uri": ...}}`.
//! let status = serde_json::json!({"status_list": {"idx": 5, "uri": uri}});
//! let reference = StatusReference::from_status_claim(&status)?;
//! let token = StatusListToken::verify(&jwt, key.public_key(), &reference.uri, 1_700_000_100)?;
//! token.check_fresh(1_700_000_100, 3_600)?;
//! assert_eq!(token.status_of(&reference)?, Status::Invalid);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod list;
mod token;

pub use list::{Status, StatusList};
pub use token::{StatusListToken, StatusReference, UnverifiedStatusListToken};

use crate::jose::JoseError;

/// The JWS `typ` of a Status List Token in JWT form (draft section 5.1).
pub const STATUS_LIST_JWT_TYP: &str = "statuslist+jwt";

/// The largest status list, in bytes before compression, that this module builds or decodes
/// unless told otherwise: 16 MiB, room for 134 million 1-bit or 16 million 8-bit entries.
///
/// It bounds the memory an untrusted `lst` can make a verifier allocate (a ZLIB stream of a few
/// kilobytes can inflate to gigabytes).
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// Why a status list, a Status List Token or a status reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// `bits` is not one of 1, 2, 4 or 8.
    #[error("invalid bits per status {0}: must be 1, 2, 4 or 8")]
    InvalidBits(u64),
    /// The index is not inside the list.
    #[error("status index {idx} out of range for a list of {len} entries")]
    IndexOutOfRange {
        /// The index asked for.
        idx: u64,
        /// The number of entries in the list.
        len: u64,
    },
    /// The value does not fit in the list's number of bits.
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value.
        value: u8,
        /// The list's bits per status.
        bits: u8,
    },
    /// The list is larger than the size limit (on creation, or when decompressed).
    #[error("status list larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `lst` is not canonical base64url without padding.
    #[error("lst is not valid base64url")]
    Base64,
    /// `lst` is not a complete, valid ZLIB (RFC 1950) stream.
    #[error("lst is not a valid ZLIB stream: {0}")]
    Zlib(String),
    /// Bytes follow the end of the ZLIB stream in `lst`.
    #[error("data after the end of the ZLIB stream")]
    TrailingData,
    /// The JWS is malformed, of the wrong `typ`, or its signature does not verify.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The payload or the status claim is not JSON of the expected shape.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A required claim or member is absent.
    #[error("missing claim {0:?}")]
    MissingClaim(&'static str),
    /// A claim or member has the wrong type or an invalid value.
    #[error("invalid claim {0:?}")]
    InvalidClaim(&'static str),
    /// The token's `sub` is not the `uri` the credential refers to.
    #[error("status list token sub {found:?} does not match the referenced uri {expected:?}")]
    SubjectMismatch {
        /// The `uri` from the credential's status reference.
        expected: String,
        /// The token's `sub`.
        found: String,
    },
    /// The token's `exp` has passed.
    #[error("status list token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`, in seconds since the Unix epoch.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// The token was issued longer ago than the relying party accepts.
    #[error("status list token issued at {iat} is older than {max_age} s (now {now})")]
    Stale {
        /// The token's `iat`, in seconds since the Unix epoch.
        iat: u64,
        /// The time of the check.
        now: u64,
        /// The maximum age accepted, in seconds.
        max_age: u64,
    },
}

impl From<serde_json::Error> for StatusListError {
    fn from(error: serde_json::Error) -> Self {
        Self::Json(error.to_string())
    }
}
