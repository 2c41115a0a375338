//! JOSE primitives: base64url, P-256 JWKs (RFC 7517/7518), RFC 7638 thumbprints and ES256 JWS
//! in compact serialization (RFC 7515).
//!
//! ES256 is the only algorithm: it is what HAIP 1.0 mandates and all that dinhdanh issues.
//! Signing and verification go through `ring`; the RustCrypto `p256` crate is used only for key
//! encodings (public key derivation, on-curve checks, PKCS#8).

pub mod b64;
pub mod jwe;
mod jwk;
mod jws;
pub mod random;

pub use jwk::{Es256KeyPair, PublicKey};
pub use jws::{JwsHeader, JwsSigner, UnverifiedJws, Verified, sign_compact};
pub(crate) use jws::{sign_compact_into, sign_compact_raw};

/// Why a JOSE object or key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Not canonical unpadded base64url.
    #[error("invalid base64url encoding")]
    Base64,
    /// Not valid JSON, or JSON of the wrong shape.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The compact serialization does not have exactly three base64url parts.
    #[error("malformed compact JWS")]
    Malformed,
    /// `alg` is absent, `none`, or not ES256.
    #[error("unsupported algorithm {0:?}: only ES256 is accepted")]
    UnsupportedAlgorithm(String),
    /// A `crit` header names an extension this implementation does not process.
    #[error("unsupported critical header parameter {0:?}")]
    UnsupportedCritical(String),
    /// The `typ` header is not the one the context requires.
    #[error("unexpected typ {found:?}, expected {expected:?}")]
    UnexpectedType {
        /// What the context requires.
        expected: String,
        /// What the header says (empty when absent).
        found: String,
    },
    /// The key is not a P-256 EC key, or its coordinates are invalid.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A private key was found where only a public key may appear.
    #[error("private key material where a public key was expected")]
    PrivateKeyMaterial,
    /// The signature does not verify under the key.
    #[error("signature verification failed")]
    BadSignature,
    /// The signer failed (key unavailable, hardware error).
    #[error("signing failed: {0}")]
    Signing(String),
}

impl From<serde_json::Error> for JoseError {
    fn from(error: serde_json::Error) -> Self {
        Self::Json(error.to_string())
    }
}

/// SHA-256 of `data`, base64url encoded: the digest form RFC 9901 and RFC 7638 use.
pub fn sha256_b64(data: impl AsRef<[u8]>) -> String {
    b64::encode(sha256(data.as_ref()))
}

/// SHA-256 of `data`. The digests of SD-JWTs (disclosures, `sd_hash`) are short inputs hashed
/// many times per credential: `sha2` hashes them faster than ring's one-shot digest.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Parses JSON text that must be UTF-8 (RFC 8259 section 8.1: JOSE headers and claims, SD-JWT
/// disclosures). The whole text is checked once (SIMD) and then parsed as a `str`: `from_slice`
/// would check every string on its own, which costs more than the one pass.
pub(crate) fn json_from_utf8<'a, T: serde::Deserialize<'a>>(
    json: &'a [u8],
) -> Result<T, serde_json::Error> {
    match simdutf8::basic::from_utf8(json) {
        Ok(text) => serde_json::from_str(text),
        // Never valid JSON: `from_slice` fails and says where, as it always did.
        Err(_) => serde_json::from_slice(json),
    }
}

/// Whether `json` starts (after whitespace) with `{`: serde reads a JSON array into a struct
/// too, and JOSE headers and JWT claims must be objects.
pub(crate) fn is_json_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Length of a base64url SHA-256 digest.
pub(crate) const DIGEST_B64_LEN: usize = 43;

/// [`sha256_b64`] into a fixed-size ASCII array, without allocating.
pub(crate) fn sha256_b64_array(data: &[u8]) -> [u8; DIGEST_B64_LEN] {
    let mut out = [0u8; DIGEST_B64_LEN];
    b64::encode_to_slice(&sha256(data), &mut out);
    out
}

/// Fills `out` with bytes from the operating system's CSPRNG.
pub fn random_bytes(out: &mut [u8]) -> Result<(), JoseError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(out)
        .map_err(|_| JoseError::Signing("system random number generator failed".into()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn json_from_utf8_reads_what_from_slice_reads() {
        let texts: [&[u8]; 6] = [
            br#"{"a":"Nguy\xe1\xbb\x85n","b":[1,2]}"#,
            br#"["salt","name",{"x":"\u0041"}]"#,
            br#"{"a":"\xff"}"#,
            b"{\"a\":1}\xc3",
            b"\xef\xbb\xbf{}",
            br#"{"a":"\ud800"}"#,
        ];
        for text in texts {
            let ours = super::json_from_utf8::<Value>(text).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Value>(text).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(text));
        }
    }
}
