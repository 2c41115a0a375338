use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    ClaimPath, Disclosure, KB_JWT_TYP, SdJwtError, TimeError,
    parts::split,
    process::{Payload, process},
};
use crate::jose::{JwsHeader, PublicKey, UnverifiedJws};

/// What the verifier expects of the Key Binding JWT.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingExpectation<'a> {
    /// The verifier's own identifier, which must equal the KB-JWT's `aud`.
    pub aud: &'a str,
    /// The nonce the verifier issued for this presentation.
    pub nonce: &'a str,
    /// How old the KB-JWT's `iat` may be, in seconds.
    pub max_age: u64,
}

/// How to verify.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The current time, seconds since the Unix epoch.
    pub now: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub skew: u64,
    /// `Some`: a KB-JWT is required and must match. `None`: a KB-JWT is not required; one that is
    /// present is still checked for its signature and `sd_hash`.
    pub key_binding: Option<KeyBindingExpectation<'a>>,
}

/// The claims of a verified Key Binding JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBindingClaims {
    /// Issued-at.
    pub iat: u64,
    /// Audience.
    pub aud: String,
    /// Nonce.
    pub nonce: String,
}

/// A verified SD-JWT presentation.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwt {
    /// The issuer-signed JWT's protected header.
    pub header: JwsHeader,
    /// The claims: always-visible claims plus the disclosed ones, `_sd` and `_sd_alg` removed.
    pub claims: Map<String, Value>,
    /// The path of every disclosed claim, in the order they were found.
    pub disclosed: Vec<ClaimPath>,
    /// The Key Binding JWT's claims, when there was one.
    pub key_binding: Option<KeyBindingClaims>,
}

#[derive(Deserialize)]
struct KbPayload<'a> {
    iat: u64,
    #[serde(borrow)]
    aud: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    nonce: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sd_hash: std::borrow::Cow<'a, str>,
}

/// Finds the issuer's key from the protected header and the not yet verified payload.
pub type IssuerKeyResolver<'r> =
    dyn FnMut(&JwsHeader, &Map<String, Value>) -> Result<PublicKey, SdJwtError> + 'r;

/// Verifies an SD-JWT (compact serialization, with or without Key Binding JWT) as RFC 9901
/// section 7 requires.
///
/// `issuer_key` is given the protected header and the (not yet verified) payload and returns
/// the key to verify the issuer's signature with, or an error when no trusted key fits.
pub fn verify(
    presentation: &str,
    options: &VerifyOptions<'_>,
    issuer_key: &mut IssuerKeyResolver<'_>,
) -> Result<VerifiedSdJwt, SdJwtError> {
    let (jwt, encoded, kb) = split(presentation)?;
    let jws = UnverifiedJws::parse(jwt)?;
    let payload: Payload = crate::jose::json_from_utf8(jws.unverified_payload())?;
    let key = issuer_key(jws.header(), &payload.claims)?;
    let header = jws.verify(&key)?.header;

    // Sized once: collecting a `Result` iterator would start small and grow.
    let mut disclosures = Vec::with_capacity(encoded.len());
    for d in &encoded {
        disclosures.push(Disclosure::parse_contents(d)?);
    }
    let processed = process(payload, &mut disclosures)?;
    check_time(&processed.claims, options)?;

    let key_binding = match (kb.is_empty(), options.key_binding) {
        (true, Some(_)) => return Err(SdJwtError::KeyBindingMissing),
        (true, None) => None,
        (false, expectation) => {
            let signed_part = &presentation[..presentation.len() - kb.len()];
            Some(check_key_binding(
                kb,
                signed_part,
                &processed.claims,
                options,
                expectation,
            )?)
        }
    };
    Ok(VerifiedSdJwt {
        header,
        claims: processed.claims,
        disclosed: processed.sites.into_iter().map(|site| site.path).collect(),
        key_binding,
    })
}

fn check_time(claims: &Map<String, Value>, options: &VerifyOptions<'_>) -> Result<(), SdJwtError> {
    let time = |name: &'static str| -> Result<Option<u64>, SdJwtError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or(SdJwtError::Time(TimeError::NotAnInteger)),
        }
    };
    if let Some(exp) = time("exp")?
        && options.now >= exp.saturating_add(options.skew)
    {
        return Err(SdJwtError::Time(TimeError::Expired));
    }
    if let Some(nbf) = time("nbf")?
        && options.now.saturating_add(options.skew) < nbf
    {
        return Err(SdJwtError::Time(TimeError::NotYetValid));
    }
    if let Some(iat) = time("iat")?
        && options.now.saturating_add(options.skew) < iat
    {
        return Err(SdJwtError::Time(TimeError::IssuedInTheFuture));
    }
    Ok(())
}

fn check_key_binding(
    kb: &str,
    signed_part: &str,
    claims: &Map<String, Value>,
    options: &VerifyOptions<'_>,
    expectation: Option<KeyBindingExpectation<'_>>,
) -> Result<KeyBindingClaims, SdJwtError> {
    let jwk = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or(SdJwtError::NoHolderKey)?;
    let holder = PublicKey::from_jwk_unvalidated(jwk)?;
    let jws = UnverifiedJws::parse(kb)?;
    jws.header().require_typ(KB_JWT_TYP)?;
    let verified = jws.verify(&holder)?;
    if !crate::jose::is_json_object(&verified.payload) {
        return Err(SdJwtError::KeyBinding(
            "claims are not a JSON object".into(),
        ));
    }
    let payload: KbPayload = crate::jose::json_from_utf8(&verified.payload)
        .map_err(|e| SdJwtError::KeyBinding(format!("claims: {e}")))?;
    // sd_hash is public data: no secret to protect with a constant-time comparison.
    if payload.sd_hash.as_bytes() != crate::jose::sha256_b64_array(signed_part.as_bytes()) {
        return Err(SdJwtError::KeyBinding("sd_hash does not match".into()));
    }
    if let Some(expected) = expectation {
        if payload.aud != expected.aud {
            return Err(SdJwtError::KeyBinding("aud does not match".into()));
        }
        if payload.nonce != expected.nonce {
            return Err(SdJwtError::KeyBinding("nonce does not match".into()));
        }
        if payload.iat > options.now.saturating_add(options.skew) {
            return Err(SdJwtError::KeyBinding("iat is in the future".into()));
        }
        if options.now.saturating_sub(payload.iat) > expected.max_age {
            return Err(SdJwtError::KeyBinding("iat is too old".into()));
        }
    }
    Ok(KeyBindingClaims {
        iat: payload.iat,
        aud: payload.aud.into_owned(),
        nonce: payload.nonce.into_owned(),
    })
}
