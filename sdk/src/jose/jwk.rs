use std::fmt;

use p256::elliptic_curve::sec1::ToEncodedPoint;
use ring::{
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair},
};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{JoseError, b64, jws::JwsSigner};

/// Length of an uncompressed SEC1 P-256 point: `04 || x || y`.
const POINT_LEN: usize = 65;

/// A P-256 public key.
///
/// Constructed from a JWK or SEC1 bytes; the point is checked to lie on the curve when the key
/// is built with [`PublicKey::from_jwk`] or [`PublicKey::from_sec1`]. Keys read on the
/// verification hot path ([`PublicKey::from_jwk_unvalidated`]) are checked by `ring` at
/// verification time instead, which rejects points off the curve before any signature math.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    point: [u8; POINT_LEN],
}

#[derive(Deserialize)]
struct EcJwk<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
    y: &'a str,
    #[serde(default)]
    d: Option<&'a str>,
}

impl PublicKey {
    /// Reads a public JWK (`kty: EC`, `crv: P-256`) and checks the point is on the curve.
    /// A JWK that carries a private key (`d`) is refused.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JoseError> {
        let key = Self::from_jwk_unvalidated(jwk)?;
        key.validate()?;
        Ok(key)
    }

    /// Reads a public JWK without the on-curve check; [`PublicKey::verify_es256`] still refuses
    /// an invalid point. Meant for keys that are only ever used to verify.
    pub fn from_jwk_unvalidated(jwk: &Value) -> Result<Self, JoseError> {
        if !jwk.is_object() {
            return Err(JoseError::InvalidKey("a JWK is a JSON object"));
        }
        let jwk = EcJwk::deserialize(jwk).map_err(|_| JoseError::InvalidKey("not an EC JWK"))?;
        if jwk.d.is_some() {
            return Err(JoseError::PrivateKeyMaterial);
        }
        Self::from_coordinates(&jwk)
    }

    fn from_coordinates(jwk: &EcJwk<'_>) -> Result<Self, JoseError> {
        if jwk.kty != "EC" {
            return Err(JoseError::InvalidKey("kty must be EC"));
        }
        if jwk.crv != "P-256" {
            return Err(JoseError::InvalidKey("crv must be P-256"));
        }
        let x = b64::decode_array::<32>(jwk.x).map_err(|_| JoseError::InvalidKey("bad x"))?;
        let y = b64::decode_array::<32>(jwk.y).map_err(|_| JoseError::InvalidKey("bad y"))?;
        let mut point = [0u8; POINT_LEN];
        point[0] = 4;
        point[1..33].copy_from_slice(&x);
        point[33..].copy_from_slice(&y);
        Ok(Self { point })
    }

    /// Reads a SEC1-encoded point (compressed or uncompressed) and checks it is on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, JoseError> {
        let key = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| JoseError::InvalidKey("not a P-256 point"))?;
        let encoded = key.to_encoded_point(false);
        let point: [u8; POINT_LEN] = encoded
            .as_bytes()
            .try_into()
            .map_err(|_| JoseError::InvalidKey("not a P-256 point"))?;
        Ok(Self { point })
    }

    /// Checks that the point lies on P-256 and is not the identity.
    pub fn validate(&self) -> Result<(), JoseError> {
        p256::PublicKey::from_sec1_bytes(&self.point)
            .map(|_| ())
            .map_err(|_| JoseError::InvalidKey("point is not on P-256"))
    }

    /// The uncompressed SEC1 encoding, `04 || x || y`.
    pub fn sec1_uncompressed(&self) -> &[u8; POINT_LEN] {
        &self.point
    }

    /// The public JWK: `{"kty":"EC","crv":"P-256","x":..,"y":..}`.
    pub fn to_jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64::encode(&self.point[1..33]),
            "y": b64::encode(&self.point[33..]),
        })
    }

    /// The public JWK as compact JSON text, `{"kty":"EC","crv":"P-256","x":..,"y":..}`.
    pub fn to_jwk_json(&self) -> String {
        let mut out = String::with_capacity(128);
        out.push_str(r#"{"kty":"EC","crv":"P-256","x":""#);
        b64::encode_into(&self.point[1..33], &mut out);
        out.push_str(r#"","y":""#);
        b64::encode_into(&self.point[33..], &mut out);
        out.push_str(r#""}"#);
        out
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the hash of the required members in
    /// lexicographic order with no whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64::encode(&self.point[1..33]),
            b64::encode(&self.point[33..])
        );
        super::sha256_b64(canonical)
    }

    /// Verifies an ES256 signature (the 64-byte `r || s` form of RFC 7518 section 3.4).
    pub fn verify_es256(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.point)
            .verify(message, signature)
            .map_err(|_| JoseError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

/// An ES256 signing key held in memory: the software key of issuers in development, of tests and
/// of the desktop wallet. Production issuers and phones sign through [`JwsSigner`]
/// implementations backed by an HSM or the platform keystore instead.
///
/// The private scalar is zeroized on drop and never printed by `Debug`.
pub struct Es256KeyPair {
    key_pair: EcdsaKeyPair,
    private: Zeroizing<[u8; 32]>,
    public: PublicKey,
    rng: SystemRandom,
}

impl Es256KeyPair {
    /// Generates a fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, JoseError> {
        loop {
            let mut scalar = Zeroizing::new([0u8; 32]);
            super::random_bytes(scalar.as_mut())?;
            // Scalars of zero or at least the group order are refused; retry (p ≈ 2^-32).
            if let Ok(key) = Self::from_scalar(scalar) {
                return Ok(key);
            }
        }
    }

    fn from_scalar(private: Zeroizing<[u8; 32]>) -> Result<Self, JoseError> {
        let secret = p256::SecretKey::from_slice(private.as_ref())
            .map_err(|_| JoseError::InvalidKey("private scalar out of range"))?;
        let public = PublicKey::from_sec1(secret.public_key().to_encoded_point(false).as_bytes())?;
        Self::from_parts(private, public)
    }

    fn from_parts(private: Zeroizing<[u8; 32]>, public: PublicKey) -> Result<Self, JoseError> {
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            private.as_ref(),
            &public.point,
            &rng,
        )
        .map_err(|_| JoseError::InvalidKey("private and public key do not match"))?;
        Ok(Self {
            key_pair,
            private,
            public,
            rng,
        })
    }

    /// Reads a private JWK (`kty: EC`, `crv: P-256`, `d`, `x`, `y`); `x`/`y` must match `d`.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JoseError> {
        if !jwk.is_object() {
            return Err(JoseError::InvalidKey("a JWK is a JSON object"));
        }
        let parsed = EcJwk::deserialize(jwk).map_err(|_| JoseError::InvalidKey("not an EC JWK"))?;
        let d = parsed
            .d
            .ok_or(JoseError::InvalidKey("no private key (d)"))?;
        let public = PublicKey::from_coordinates(&parsed)?;
        let private =
            Zeroizing::new(b64::decode_array::<32>(d).map_err(|_| JoseError::InvalidKey("bad d"))?);
        public.validate()?;
        Self::from_parts(private, public)
    }

    /// Reads a PKCS#8 DER private key (as `openssl genpkey` or an HSM export writes them).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JoseError> {
        use p256::pkcs8::DecodePrivateKey;
        let secret = p256::SecretKey::from_pkcs8_der(der)
            .map_err(|_| JoseError::InvalidKey("not a P-256 PKCS#8 key"))?;
        let mut scalar = Zeroizing::new([0u8; 32]);
        let mut bytes = secret.to_bytes();
        scalar.copy_from_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes[..]);
        Self::from_scalar(scalar)
    }

    /// The key as PKCS#8 DER, for writing to a key file.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::from_slice(self.private.as_ref())
            .map_err(|_| JoseError::InvalidKey("private scalar out of range"))?;
        let document = secret
            .to_pkcs8_der()
            .map_err(|_| JoseError::InvalidKey("PKCS#8 encoding failed"))?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }

    /// The private JWK including `d`. Handle the result as a secret.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        // Written straight into the zeroized buffer: `d` never sits in a temporary string.
        let mut jwk = Zeroizing::new(String::with_capacity(200));
        let public = self.public.to_jwk_json();
        jwk.push_str(public.trim_end_matches('}'));
        jwk.push_str(r#","d":""#);
        b64::encode_into(self.private.as_ref(), &mut jwk);
        jwk.push_str(r#""}"#);
        jwk
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` with ES256, returning the 64-byte `r || s` signature.
    pub fn sign_es256(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let signature = self
            .key_pair
            .sign(&self.rng, message)
            .map_err(|_| JoseError::Signing("ECDSA signing failed".into()))?;
        Ok(signature.as_ref().to_vec())
    }
}

impl JwsSigner for Es256KeyPair {
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.sign_es256(signing_input)
    }
}

impl fmt::Debug for Es256KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Es256KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use ring::signature::KeyPair;

    use super::*;

    // RFC 7638 section 3.1 uses an RSA key; this P-256 vector is from RFC 9901's examples
    // (the holder key of ../shared/vectors/sd-jwt-rfc9901/settings.yml).
    const HOLDER: &str = r#"{"kty":"EC","crv":"P-256","d":"5K5SCos8zf9zRemGGUl6yfok-_NiiryNZsvANWMhF-I","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#;

    #[test]
    fn private_jwk_round_trip_and_sign() {
        let jwk: Value = serde_json::from_str(HOLDER).unwrap();
        let key = Es256KeyPair::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.key_pair.public_key().as_ref(),
            key.public_key().sec1_uncompressed()
        );
        let again: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
        assert_eq!(again, jwk);
        let sig = key.sign_es256(b"hello").unwrap();
        key.public_key().verify_es256(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify_es256(b"hellO", &sig),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn generated_keys_are_distinct_and_pkcs8_round_trips() {
        let a = Es256KeyPair::generate().unwrap();
        let b = Es256KeyPair::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
        let der = a.to_pkcs8_der().unwrap();
        let back = Es256KeyPair::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), a.public_key());
        assert!(!format!("{a:?}").contains(&b64::encode(a.private.as_ref())));
    }

    #[test]
    fn public_jwk_rules() {
        let jwk: Value = serde_json::from_str(HOLDER).unwrap();
        assert_eq!(
            PublicKey::from_jwk(&jwk),
            Err(JoseError::PrivateKeyMaterial)
        );
        let key = Es256KeyPair::from_jwk(&jwk).unwrap();
        let public = key.public_key().to_jwk();
        assert_eq!(PublicKey::from_jwk(&public).unwrap(), *key.public_key());

        let mut wrong_curve = public.clone();
        wrong_curve["crv"] = "P-384".into();
        assert!(PublicKey::from_jwk(&wrong_curve).is_err());
        let mut rsa = public.clone();
        rsa["kty"] = "RSA".into();
        assert!(PublicKey::from_jwk(&rsa).is_err());
        let mut off_curve = public.clone();
        off_curve["y"] = b64::encode([1u8; 32]).into();
        assert!(PublicKey::from_jwk(&off_curve).is_err());
        let unchecked = PublicKey::from_jwk_unvalidated(&off_curve).unwrap();
        assert!(unchecked.verify_es256(b"m", &[1u8; 64]).is_err());
        let mut short = public;
        short["x"] = b64::encode([1u8; 31]).into();
        assert!(PublicKey::from_jwk(&short).is_err());
    }

    #[test]
    fn private_jwk_with_mismatched_public_is_refused() {
        let mut jwk: Value = serde_json::from_str(HOLDER).unwrap();
        let other = Es256KeyPair::generate().unwrap().public_key().to_jwk();
        jwk["x"] = other["x"].clone();
        jwk["y"] = other["y"].clone();
        assert!(Es256KeyPair::from_jwk(&jwk).is_err());
    }

    #[test]
    fn jwk_json_matches_jwk_value() {
        let key = Es256KeyPair::generate().unwrap();
        let text: Value = serde_json::from_str(&key.public_key().to_jwk_json()).unwrap();
        assert_eq!(text, key.public_key().to_jwk());
    }

    #[test]
    fn thumbprint_matches_rfc9449_example() {
        // RFC 9449 section 6.1: the DPoP example key and its `jkt`.
        let jwk = serde_json::json!({"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"});
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn thumbprint_is_rfc7638_canonical_form() {
        let jwk: Value = serde_json::from_str(HOLDER).unwrap();
        let key = Es256KeyPair::from_jwk(&jwk).unwrap();
        let expected = super::super::sha256_b64(
            r#"{"crv":"P-256","kty":"EC","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#,
        );
        assert_eq!(key.public_key().thumbprint(), expected);
    }
}
