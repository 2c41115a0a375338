//! DPoP proofs (RFC 9449): a JWT signed by the wallet's key for one HTTP request, which binds an
//! access token to that key (`cnf.jkt`) so a stolen token is useless without the key.

use serde::{Deserialize, Serialize};

use super::{Oid4vciError, check_iat};
use crate::jose::{self, JwsHeader, JwsSigner, PublicKey, UnverifiedJws, random, sign_compact};

/// The `typ` of a DPoP proof.
pub const DPOP_TYP: &str = "dpop+jwt";

/// The request a DPoP proof is made for.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct DpopInput<'a> {
    /// The signer (the wallet key).
    pub signer: &'a dyn JwsSigner,
    /// Its public key (the header's `jwk`).
    pub public_key: &'a PublicKey,
    /// HTTP method, e.g. `POST`.
    pub htm: &'a str,
    /// The request URI without query or fragment.
    pub htu: &'a str,
    /// The access token the request carries, if any (hashed into `ath`).
    pub access_token: Option<&'a str>,
    /// A nonce the server asked for with `DPoP-Nonce`.
    pub nonce: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub iat: u64,
}

#[derive(Serialize, Deserialize)]
struct DpopClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
}

/// Builds and signs a DPoP proof with a fresh `jti`.
pub fn build(input: &DpopInput<'_>) -> Result<String, Oid4vciError> {
    let mut jti = [0u8; 16];
    random::fill(&mut jti).map_err(|e| Oid4vciError::InvalidDpopProof(e.to_string()))?;
    let header = JwsHeader {
        jwk: Some(input.public_key.to_jwk()),
        ..JwsHeader::es256(DPOP_TYP)
    };
    let claims = DpopClaims {
        jti: jose::b64::encode(jti),
        htm: input.htm.to_owned(),
        htu: input.htu.to_owned(),
        iat: input.iat,
        ath: input.access_token.map(access_token_hash),
        nonce: input.nonce.map(str::to_owned),
    };
    let payload =
        serde_json::to_vec(&claims).map_err(|e| Oid4vciError::InvalidRequest(e.to_string()))?;
    sign_compact(&header, &payload, input.signer)
        .map_err(|e| Oid4vciError::InvalidDpopProof(e.to_string()))
}

/// `ath`: base64url(SHA-256(access token)).
pub fn access_token_hash(token: &str) -> String {
    jose::sha256_b64(token.as_bytes())
}

/// What the server expects of a DPoP proof.
#[derive(Debug, Clone, Copy)]
pub struct DpopExpectation<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request's URI, without query or fragment.
    pub htu: &'a str,
    /// The access token presented with the proof (its hash must be `ath`); `None` at the token
    /// endpoint.
    pub access_token: Option<&'a str>,
    /// The JWK thumbprint the access token is bound to (`cnf.jkt`); `None` at the token
    /// endpoint.
    pub bound_jkt: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// How old `iat` may be.
    pub max_age: u64,
    /// Clock skew tolerated.
    pub skew: u64,
}

/// A checked DPoP proof. The caller must refuse a `jti` it has seen within the `iat` window
/// (RFC 9449 section 11.1): only it keeps that state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDpop {
    /// RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    /// The proof's unique identifier.
    pub jti: String,
    /// Issued-at.
    pub iat: u64,
}

/// Checks a DPoP proof as RFC 9449 section 4.3 requires (but the `jti` replay check, which is
/// the caller's, and server nonces, which dinhdanh does not ask for).
pub fn verify(proof: &str, expect: &DpopExpectation<'_>) -> Result<VerifiedDpop, Oid4vciError> {
    let invalid = |message: &str| Oid4vciError::InvalidDpopProof(message.to_owned());
    let jws = UnverifiedJws::parse(proof).map_err(|e| invalid(&e.to_string()))?;
    jws.header()
        .require_typ(DPOP_TYP)
        .map_err(|e| invalid(&e.to_string()))?;
    let Some(jwk) = &jws.header().jwk else {
        return Err(invalid("the header has no jwk"));
    };
    let key = PublicKey::from_jwk(jwk).map_err(|e| invalid(&e.to_string()))?;
    let verified = jws.verify(&key).map_err(|e| invalid(&e.to_string()))?;
    let claims: DpopClaims =
        serde_json::from_slice(&verified.payload).map_err(|e| invalid(&format!("claims: {e}")))?;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid("jti must be a string of 1 to 256 characters"));
    }
    if claims.htm != expect.htm {
        return Err(invalid("htm is not this request's method"));
    }
    let htu = claims
        .htu
        .split(['?', '#'])
        .next()
        .unwrap_or(claims.htu.as_str());
    if htu != expect.htu {
        return Err(invalid("htu is not this request's URI"));
    }
    check_iat(claims.iat, expect.now, expect.max_age, expect.skew).map_err(invalid)?;
    let jkt = key.thumbprint();
    match (expect.access_token, claims.ath.as_deref()) {
        (Some(token), Some(ath)) if ath == access_token_hash(token) => {}
        (Some(_), _) => return Err(invalid("ath does not match the access token")),
        (None, _) => {}
    }
    // A thumbprint is public: a plain comparison.
    if let Some(bound) = expect.bound_jkt
        && bound != jkt
    {
        return Err(invalid(
            "the proof's key is not the one the token is bound to",
        ));
    }
    Ok(VerifiedDpop {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Es256KeyPair;

    const HTU: &str = "https://id.dinhdanh.example/credential";

    fn proof(key: &Es256KeyPair, htm: &str, htu: &str, token: Option<&str>, iat: u64) -> String {
        build(&DpopInput {
            signer: key,
            public_key: key.public_key(),
            htm,
            htu,
            access_token: token,
            nonce: None,
            iat,
        })
        .unwrap()
    }

    fn expect<'a>(token: Option<&'a str>, jkt: Option<&'a str>) -> DpopExpectation<'a> {
        DpopExpectation {
            htm: "POST",
            htu: HTU,
            access_token: token,
            bound_jkt: jkt,
            now: 1000,
            max_age: 60,
            skew: 5,
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let key = Es256KeyPair::generate().unwrap();
        let jkt = key.public_key().thumbprint();
        let at_token_endpoint = verify(&proof(&key, "POST", HTU, None, 1000), &expect(None, None));
        assert_eq!(at_token_endpoint.unwrap().jkt, jkt);
        let p = proof(&key, "POST", &format!("{HTU}?x=1"), Some("tok"), 999);
        let v = verify(&p, &expect(Some("tok"), Some(&jkt))).unwrap();
        assert_eq!(v.jkt, jkt);
        // Two proofs differ in jti.
        let q = proof(&key, "POST", HTU, Some("tok"), 999);
        assert_ne!(
            v.jti,
            verify(&q, &expect(Some("tok"), Some(&jkt))).unwrap().jti
        );
    }

    #[test]
    fn rejections() {
        let key = Es256KeyPair::generate().unwrap();
        let jkt = key.public_key().thumbprint();
        let other = Es256KeyPair::generate().unwrap().public_key().thumbprint();
        let cases = [
            (
                proof(&key, "GET", HTU, Some("tok"), 1000),
                expect(Some("tok"), Some(&jkt)),
            ),
            (
                proof(
                    &key,
                    "POST",
                    "https://x.example/credential",
                    Some("tok"),
                    1000,
                ),
                expect(Some("tok"), Some(&jkt)),
            ),
            (
                proof(&key, "POST", HTU, Some("other"), 1000),
                expect(Some("tok"), Some(&jkt)),
            ),
            (
                proof(&key, "POST", HTU, None, 1000),
                expect(Some("tok"), Some(&jkt)),
            ),
            (
                proof(&key, "POST", HTU, Some("tok"), 1000),
                expect(Some("tok"), Some(&other)),
            ),
            (
                proof(&key, "POST", HTU, Some("tok"), 900),
                expect(Some("tok"), Some(&jkt)),
            ),
            (
                proof(&key, "POST", HTU, Some("tok"), 1010),
                expect(Some("tok"), Some(&jkt)),
            ),
        ];
        for (p, e) in cases {
            assert_eq!(verify(&p, &e).unwrap_err().code(), "invalid_dpop_proof");
        }
        // A key proof is not a DPoP proof.
        let key_proof = super::super::proof::build(&super::super::proof::ProofInput {
            signer: &key,
            public_key: key.public_key(),
            aud: HTU,
            nonce: None,
            iss: None,
            iat: 1000,
        })
        .unwrap();
        assert!(verify(&key_proof, &expect(None, None)).is_err());
    }
}
