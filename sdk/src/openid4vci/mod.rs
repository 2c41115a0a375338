//! OpenID for Verifiable Credential Issuance 1.0: the pieces both sides of issuance share.
//!
//! - [`offer`]: credential offers (`openid-credential-offer://`, by value or by reference).
//! - [`proof`]: key proofs of type `jwt` (`typ: openid4vci-proof+jwt`), built by the wallet and
//!   checked by the issuer.
//! - [`dpop`]: DPoP proofs (RFC 9449) that bind access tokens to a wallet key.
//! - [`pkce_challenge`]: the S256 code challenge of RFC 7636.
//!
//! The server issues with these and the wallet's issuance client (which adds the HTTP) builds
//! with them: one implementation of each message.

#[cfg(feature = "wallet")]
pub mod client;
pub mod dpop;
#[cfg(feature = "http-transport")]
pub mod http;
pub mod offer;
pub mod proof;

use crate::jose::{self, JoseError};

/// The grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The grant type of the authorization code flow.
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
/// The credential format dinhdanh issues.
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";

/// Why an OpenID4VCI message was refused. The variants map onto the specification's error codes
/// (see [`Oid4vciError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Oid4vciError {
    /// A key proof is malformed, badly signed, for another audience, too old or too new.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// A key proof carries no nonce, or one the issuer did not issue (or already used).
    #[error("invalid nonce: {0}")]
    InvalidNonce(String),
    /// A DPoP proof is malformed, badly signed, for another request, or replayed.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(String),
    /// A credential offer or other message does not parse.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl Oid4vciError {
    /// The error code the specification gives this failure (`invalid_proof`, `invalid_nonce`,
    /// `invalid_dpop_proof`, `invalid_request`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidProof(_) => "invalid_proof",
            Self::InvalidNonce(_) => "invalid_nonce",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::InvalidRequest(_) => "invalid_request",
        }
    }
}

/// The PKCE S256 challenge of a code verifier: base64url(SHA-256(verifier)) (RFC 7636
/// section 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    jose::sha256_b64(verifier.as_bytes())
}

/// A fresh PKCE code verifier: 32 random bytes, base64url (43 characters, within RFC 7636's
/// 43..=128 unreserved characters).
pub fn pkce_verifier() -> Result<String, JoseError> {
    let mut bytes = [0u8; 32];
    jose::random_bytes(&mut bytes)?;
    Ok(jose::b64::encode(bytes))
}

/// Checks a PKCE code verifier's syntax (RFC 7636 section 4.1): 43 to 128 characters from
/// `[A-Za-z0-9-._~]`.
pub fn pkce_verifier_is_valid(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Claims shared by the key proof and DPoP checks: `iat` within `[now - max_age - skew,
/// now + skew]`.
fn check_iat(iat: u64, now: u64, max_age: u64, skew: u64) -> Result<(), &'static str> {
    if iat > now.saturating_add(skew) {
        return Err("iat is in the future");
    }
    if now.saturating_sub(iat) > max_age.saturating_add(skew) {
        return Err("iat is too old");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        // RFC 7636, Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let verifier = pkce_verifier().unwrap();
        assert!(pkce_verifier_is_valid(&verifier));
        assert!(!pkce_verifier_is_valid("short"));
        assert!(!pkce_verifier_is_valid(&"a".repeat(42)));
        assert!(!pkce_verifier_is_valid(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn iat_window() {
        assert!(check_iat(100, 100, 60, 5).is_ok());
        assert!(check_iat(104, 100, 60, 5).is_ok());
        assert!(check_iat(106, 100, 60, 5).is_err());
        assert!(check_iat(35, 100, 60, 5).is_ok());
        assert!(check_iat(34, 100, 60, 5).is_err());
    }
}
