use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JoseError, PublicKey, b64};

/// Something that makes ES256 signatures: an in-memory key, a platform keystore key, an HSM.
pub trait JwsSigner {
    /// Signs the JWS signing input, returning the 64-byte `r || s` ES256 signature.
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError>;
}

/// The protected header of a JWS, with the parameters dinhdanh reads.
///
/// Unknown parameters are ignored when parsing, as RFC 7515 allows, unless they are listed in
/// `crit`, which is refused: no extension is understood.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsHeader {
    /// The algorithm; always `ES256` once parsed.
    pub alg: String,
    /// The media type of the whole JWS (`dc+sd-jwt`, `kb+jwt`, `statuslist+jwt`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// X.509 certificate chain, leaf first, standard base64 DER (not base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// An embedded public JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
    /// Critical extensions; any value is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

impl JwsHeader {
    /// An ES256 header with the given `typ`.
    pub fn es256(typ: &str) -> Self {
        Self {
            alg: "ES256".into(),
            typ: Some(typ.into()),
            ..Self::default()
        }
    }

    /// Refuses the JWS unless `typ` equals `expected` (compared case-insensitively, as media
    /// types are; RFC 7515 section 4.1.9).
    pub fn require_typ(&self, expected: &str) -> Result<(), JoseError> {
        match &self.typ {
            Some(typ) if typ.eq_ignore_ascii_case(expected) => Ok(()),
            other => Err(JoseError::UnexpectedType {
                expected: expected.into(),
                found: other.clone().unwrap_or_default(),
            }),
        }
    }
}

/// Signs `payload` under `header` and returns the compact serialization.
pub fn sign_compact(
    header: &JwsHeader,
    payload: &[u8],
    signer: &dyn JwsSigner,
) -> Result<String, JoseError> {
    let header_json = serde_json::to_vec(header)?;
    sign_compact_raw(&header_json, payload, signer)
}

/// Signs with an already serialized header (hot paths precompute it).
pub(crate) fn sign_compact_raw(
    header_json: &[u8],
    payload: &[u8],
    signer: &dyn JwsSigner,
) -> Result<String, JoseError> {
    let mut out = Vec::new();
    sign_compact_into(header_json, payload, signer, &mut out)?;
    Ok(b64::ascii_string(out))
}

/// Appends the compact JWS to `out` (which may already hold other ASCII text).
pub(crate) fn sign_compact_into(
    header_json: &[u8],
    payload: &[u8],
    signer: &dyn JwsSigner,
    out: &mut Vec<u8>,
) -> Result<(), JoseError> {
    out.reserve((header_json.len() + payload.len()) * 4 / 3 + 100);
    let start = out.len();
    b64::encode_to_vec(header_json, out);
    out.push(b'.');
    b64::encode_to_vec(payload, out);
    let signature = signer.sign(&out[start..])?;
    out.push(b'.');
    b64::encode_to_vec(&signature, out);
    Ok(())
}

/// A compact JWS whose syntax and header have been checked but whose signature has not.
///
/// Its payload is reachable only through [`UnverifiedJws::verify`], or through
/// [`UnverifiedJws::unverified_payload`] for the one legitimate use: finding which key to verify
/// with (e.g. the `iss` claim that names the issuer's metadata).
#[derive(Debug)]
pub struct UnverifiedJws<'a> {
    header: JwsHeader,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: [u8; 64],
}

impl<'a> UnverifiedJws<'a> {
    /// Parses `header.payload.signature`. Refuses anything but three canonical base64url parts,
    /// a JSON object header with `alg: ES256`, a `crit` header, and a signature that is not 64
    /// bytes.
    pub fn parse(token: &'a str) -> Result<Self, JoseError> {
        // The two dots are found from either end, so the payload (most of the token) is not
        // scanned for them: a third dot inside it is refused below, where decoding fails on it.
        let bytes = token.as_bytes();
        let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
        else {
            return Err(JoseError::Malformed);
        };
        if first == last {
            return Err(JoseError::Malformed);
        }
        let (header_b64, payload_b64, signature_b64) =
            (&token[..first], &token[first + 1..last], &token[last + 1..]);
        let header: JwsHeader = b64::with_decoded(header_b64, |bytes| {
            if !super::is_json_object(bytes) {
                return Err(JoseError::Json("header is not a JSON object".into()));
            }
            Ok(super::json_from_utf8(bytes)?)
        })??;
        if header.alg != "ES256" {
            return Err(JoseError::UnsupportedAlgorithm(header.alg));
        }
        if let Some(crit) = header.crit.as_ref().and_then(|crit| crit.first()) {
            return Err(JoseError::UnsupportedCritical(crit.clone()));
        }
        let payload = b64::decode(payload_b64).map_err(|error| {
            if memchr::memchr(b'.', payload_b64.as_bytes()).is_some() {
                JoseError::Malformed
            } else {
                error
            }
        })?;
        let signature = b64::decode_array::<64>(signature_b64)?;
        Ok(Self {
            header,
            signing_input: &token[..header_b64.len() + 1 + payload_b64.len()],
            payload,
            signature,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The payload before its signature is checked. Use it only to choose the verification key.
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the signature and returns the payload.
    pub fn verify(self, key: &PublicKey) -> Result<Verified, JoseError> {
        key.verify_es256(self.signing_input.as_bytes(), &self.signature)?;
        Ok(Verified {
            header: self.header,
            payload: self.payload,
        })
    }
}

/// A JWS whose signature has been verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The protected header.
    pub header: JwsHeader,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Es256KeyPair;

    fn key() -> Es256KeyPair {
        Es256KeyPair::generate().unwrap()
    }

    #[test]
    fn sign_then_verify() {
        let key = key();
        let token = sign_compact(&JwsHeader::es256("test+jwt"), br#"{"a":1}"#, &key).unwrap();
        let jws = UnverifiedJws::parse(&token).unwrap();
        jws.header().require_typ("TEST+JWT").unwrap();
        assert!(jws.header().require_typ("kb+jwt").is_err());
        let verified = jws.verify(key.public_key()).unwrap();
        assert_eq!(verified.payload, br#"{"a":1}"#);
    }

    #[test]
    fn wrong_key_or_tampered_token_fails() {
        let key = key();
        let token = sign_compact(&JwsHeader::es256("t"), b"{}", &key).unwrap();
        let other = self::key();
        assert_eq!(
            UnverifiedJws::parse(&token)
                .unwrap()
                .verify(other.public_key())
                .unwrap_err(),
            JoseError::BadSignature
        );
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let tampered = format!("{head}.{}.{signature}", b64::encode(b"{ }"));
        assert_eq!(
            UnverifiedJws::parse(&tampered)
                .unwrap()
                .verify(key.public_key())
                .unwrap_err(),
            JoseError::BadSignature
        );
    }

    #[test]
    fn rejects_none_and_other_algorithms() {
        for alg in ["none", "HS256", "ES384", "RS256", "es256"] {
            let header = b64::encode(format!(r#"{{"alg":"{alg}"}}"#));
            let token = format!("{header}.{}.{}", b64::encode(b"{}"), b64::encode([0u8; 64]));
            assert_eq!(
                UnverifiedJws::parse(&token).unwrap_err(),
                JoseError::UnsupportedAlgorithm(alg.into())
            );
        }
        let header = b64::encode(r#"{"typ":"JWT"}"#);
        let token = format!("{header}.{}.{}", b64::encode(b"{}"), b64::encode([0u8; 64]));
        assert!(UnverifiedJws::parse(&token).is_err());
        // alg: none with an empty signature is refused before its signature is looked at.
        let header = b64::encode(r#"{"alg":"none"}"#);
        assert!(UnverifiedJws::parse(&format!("{header}.{}.", b64::encode(b"{}"))).is_err());
    }

    #[test]
    fn header_must_be_an_object() {
        let token = format!(
            "{}.{}.{}",
            b64::encode(r#"["ES256","kb+jwt"]"#),
            b64::encode(b"{}"),
            b64::encode([0u8; 64])
        );
        assert!(matches!(
            UnverifiedJws::parse(&token),
            Err(JoseError::Json(_))
        ));
    }

    #[test]
    fn rejects_malformed_compact_forms() {
        let key = key();
        let token = sign_compact(&JwsHeader::es256("t"), b"{}", &key).unwrap();
        for bad in [
            format!("{token}."),
            format!("{token}x"),
            format!("{token}=="),
            format!(" {token}"),
            token.replacen('.', "", 1),
            format!("{token}.{token}"),
            String::new(),
            "..".to_string(),
        ] {
            assert!(UnverifiedJws::parse(&bad).is_err(), "{bad}");
        }
        // Four parts, or two, are not a compact JWS, wherever the extra or missing dot is.
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        for bad in [
            format!("{head}.{payload}.{payload}.{signature}"),
            format!("{head}.{payload}.{signature}."),
            format!("{head}.{payload}{signature}"),
            format!("{head}{payload}"),
        ] {
            assert_eq!(
                UnverifiedJws::parse(&bad).unwrap_err(),
                JoseError::Malformed,
                "{bad}"
            );
        }
        let crit = format!(
            "{}.{}.{}",
            b64::encode(r#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
            b64::encode(b"{}"),
            b64::encode([0u8; 64])
        );
        assert_eq!(
            UnverifiedJws::parse(&crit).unwrap_err(),
            JoseError::UnsupportedCritical("b64".into())
        );
        let duplicate = format!(
            "{}.{}.{}",
            b64::encode(r#"{"alg":"ES256","alg":"none"}"#),
            b64::encode(b"{}"),
            b64::encode([0u8; 64])
        );
        assert!(UnverifiedJws::parse(&duplicate).is_err());
    }
}
