//! Key proofs of type `jwt` (OpenID4VCI 1.0, appendix F.1): the wallet shows it holds the key a
//! credential will be bound to, for this issuer (`aud`), now (`iat`) and for this request
//! (`nonce`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Oid4vciError, check_iat};
use crate::jose::{JwsHeader, JwsSigner, PublicKey, UnverifiedJws, sign_compact};

/// The `typ` of a key proof.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// What a wallet puts in a key proof.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct ProofInput<'a> {
    /// The key's signer (a keystore key).
    pub signer: &'a dyn JwsSigner,
    /// The public key, embedded as the header's `jwk`.
    pub public_key: &'a PublicKey,
    /// The credential issuer identifier.
    pub aud: &'a str,
    /// The `c_nonce` from the nonce endpoint.
    pub nonce: Option<&'a str>,
    /// The client id, when the wallet authenticated as a client (absent for anonymous
    /// pre-authorized access).
    pub iss: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub iat: u64,
}

#[derive(Serialize, Deserialize)]
struct ProofClaims<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    iss: Option<std::borrow::Cow<'a, str>>,
    aud: Value,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    nonce: Option<std::borrow::Cow<'a, str>>,
}

/// Builds and signs a key proof.
pub fn build(input: &ProofInput<'_>) -> Result<String, Oid4vciError> {
    let header = JwsHeader {
        jwk: Some(input.public_key.to_jwk()),
        ..JwsHeader::es256(PROOF_TYP)
    };
    let claims = ProofClaims {
        iss: input.iss.map(Into::into),
        aud: Value::String(input.aud.to_owned()),
        iat: input.iat,
        nonce: input.nonce.map(Into::into),
    };
    let payload =
        serde_json::to_vec(&claims).map_err(|e| Oid4vciError::InvalidRequest(e.to_string()))?;
    sign_compact(&header, &payload, input.signer)
        .map_err(|e| Oid4vciError::InvalidProof(e.to_string()))
}

/// What the issuer expects of a key proof.
#[derive(Debug, Clone, Copy)]
pub struct ProofExpectation<'a> {
    /// The credential issuer identifier (`aud`).
    pub issuer: &'a str,
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// How old `iat` may be.
    pub max_age: u64,
    /// Clock skew tolerated.
    pub skew: u64,
}

/// A key proof whose signature, header and claims were checked. The nonce is returned for the
/// caller to redeem (it alone knows which nonces it issued and which were used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The key the credential is to be bound to.
    pub key: PublicKey,
    /// The proof's nonce.
    pub nonce: String,
    /// The client id, if the wallet named one.
    pub iss: Option<String>,
    /// Issued-at.
    pub iat: u64,
}

/// Checks a key proof: `typ`, ES256, exactly one key reference (which must be a public `jwk`:
/// dinhdanh binds credentials to JWKs), the signature, `aud`, `iat` and the presence of a
/// `nonce`.
pub fn verify(proof: &str, expect: &ProofExpectation<'_>) -> Result<VerifiedProof, Oid4vciError> {
    let invalid = |message: &str| Oid4vciError::InvalidProof(message.to_owned());
    let jws = UnverifiedJws::parse(proof).map_err(|e| invalid(&e.to_string()))?;
    let header = jws.header();
    header
        .require_typ(PROOF_TYP)
        .map_err(|e| invalid(&e.to_string()))?;
    let references = [
        header.jwk.is_some(),
        header.kid.is_some(),
        header.x5c.is_some(),
    ];
    if references.iter().filter(|present| **present).count() != 1 {
        return Err(invalid("exactly one of jwk, kid and x5c must be present"));
    }
    let Some(jwk) = &header.jwk else {
        return Err(invalid("only jwk key references are supported"));
    };
    let key = PublicKey::from_jwk(jwk).map_err(|e| invalid(&e.to_string()))?;
    let verified = jws.verify(&key).map_err(|e| invalid(&e.to_string()))?;
    let claims: ProofClaims =
        serde_json::from_slice(&verified.payload).map_err(|e| invalid(&format!("claims: {e}")))?;
    let audience_matches = match &claims.aud {
        Value::String(aud) => aud == expect.issuer,
        Value::Array(auds) => auds.iter().any(|aud| aud.as_str() == Some(expect.issuer)),
        _ => false,
    };
    if !audience_matches {
        return Err(invalid("aud is not this credential issuer"));
    }
    check_iat(claims.iat, expect.now, expect.max_age, expect.skew).map_err(invalid)?;
    let Some(nonce) = claims.nonce else {
        return Err(Oid4vciError::InvalidNonce("the proof has no nonce".into()));
    };
    Ok(VerifiedProof {
        key,
        nonce: nonce.into_owned(),
        iss: claims.iss.map(std::borrow::Cow::into_owned),
        iat: claims.iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Es256KeyPair, b64};

    const ISSUER: &str = "https://id.dinhdanh.example";

    fn expect(now: u64) -> ProofExpectation<'static> {
        ProofExpectation {
            issuer: ISSUER,
            now,
            max_age: 300,
            skew: 30,
        }
    }

    fn proof(key: &Es256KeyPair, aud: &str, nonce: Option<&str>, iat: u64) -> String {
        build(&ProofInput {
            signer: key,
            public_key: key.public_key(),
            aud,
            nonce,
            iss: None,
            iat,
        })
        .unwrap()
    }

    /// A proof with a hand-made header and claims, signed by `key`.
    fn forged(key: &Es256KeyPair, header: Value, claims: Value) -> String {
        let header: JwsHeader = serde_json::from_value(header).unwrap();
        sign_compact(&header, claims.to_string().as_bytes(), key).unwrap()
    }

    #[test]
    fn round_trip() {
        let key = Es256KeyPair::generate().unwrap();
        let verified = verify(&proof(&key, ISSUER, Some("n-1"), 1000), &expect(1010)).unwrap();
        assert_eq!(&verified.key, key.public_key());
        assert_eq!(verified.nonce, "n-1");
        assert_eq!(verified.iss, None);
    }

    #[test]
    fn rejections() {
        let key = Es256KeyPair::generate().unwrap();
        let code = |p: &str, now| verify(p, &expect(now)).unwrap_err().code();
        assert_eq!(
            code(&proof(&key, "https://other.example", Some("n"), 1000), 1000),
            "invalid_proof"
        );
        assert_eq!(
            code(&proof(&key, ISSUER, None, 1000), 1000),
            "invalid_nonce"
        );
        assert_eq!(
            code(&proof(&key, ISSUER, Some("n"), 2000), 1000),
            "invalid_proof"
        );
        assert_eq!(
            code(&proof(&key, ISSUER, Some("n"), 1000), 2000),
            "invalid_proof"
        );
        let jwk = key.public_key().to_jwk();
        let claims = serde_json::json!({"aud": ISSUER, "iat": 1000, "nonce": "n"});
        // Wrong typ, two key references, a kid alone, a private key in the header.
        for header in [
            serde_json::json!({"alg": "ES256", "typ": "JWT", "jwk": jwk}),
            serde_json::json!({"alg": "ES256", "typ": PROOF_TYP, "jwk": jwk, "kid": "k"}),
            serde_json::json!({"alg": "ES256", "typ": PROOF_TYP, "kid": "k"}),
            serde_json::json!({"alg": "ES256", "typ": PROOF_TYP}),
            serde_json::json!({"alg": "ES256", "typ": PROOF_TYP,
                "jwk": serde_json::from_str::<Value>(&key.to_private_jwk()).unwrap()}),
        ] {
            assert_eq!(
                code(&forged(&key, header, claims.clone()), 1000),
                "invalid_proof"
            );
        }
        // Signed by another key than the one in the header.
        let other = Es256KeyPair::generate().unwrap();
        let header = serde_json::json!({"alg": "ES256", "typ": PROOF_TYP, "jwk": jwk});
        assert_eq!(
            code(&forged(&other, header.clone(), claims), 1000),
            "invalid_proof"
        );
        // An audience array naming the issuer is accepted; claims that are not an object are not.
        let listed = serde_json::json!({"aud": ["x", ISSUER], "iat": 1000, "nonce": "n"});
        assert!(verify(&forged(&key, header.clone(), listed), &expect(1000)).is_ok());
        let not_object =
            sign_compact(&serde_json::from_value(header).unwrap(), b"[1]", &key).unwrap();
        assert_eq!(code(&not_object, 1000), "invalid_proof");
        assert_eq!(code(&b64::encode("garbage"), 1000), "invalid_proof");
    }
}
