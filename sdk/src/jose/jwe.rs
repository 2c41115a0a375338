//! JWE (RFC 7516) in compact serialization with ECDH-ES key agreement on P-256 (RFC 7518
//! section 4.6, direct: the agreed key is the content key) and AES-GCM content encryption
//! (`A128GCM`, `A256GCM`): what OpenID4VP's `direct_post.jwt` responses are encrypted with.
//!
//! ```text
//! BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)
//! ```
//!
//! The recipient checks that the sender's ephemeral key (`epk`) lies on P-256 before agreeing on
//! anything with it (an invalid-curve point would leak the recipient's key), refuses compression
//! (`zip`) and critical extensions, and accepts only the content encryptions it lists.

use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{PublicKey, b64};

/// `alg` of ECDH-ES key agreement.
pub const ECDH_ES: &str = "ECDH-ES";

/// The content encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncryption {
    /// AES-128-GCM.
    A128Gcm,
    /// AES-256-GCM.
    A256Gcm,
}

impl ContentEncryption {
    /// The `enc` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    /// From an `enc` name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "A128GCM" => Some(Self::A128Gcm),
            "A256GCM" => Some(Self::A256Gcm),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }

    fn algorithm(self) -> &'static ring::aead::Algorithm {
        match self {
            Self::A128Gcm => &AES_128_GCM,
            Self::A256Gcm => &AES_256_GCM,
        }
    }
}

/// Why a JWE was not made or not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Not five base64url parts, or a part of the wrong length.
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    /// An `alg`, `enc`, `zip` or `crit` this recipient does not accept.
    #[error("unsupported JWE: {0}")]
    Unsupported(String),
    /// A key that is not a P-256 point (the header's `epk`, or the recipient's).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The tag does not verify: another recipient, or altered.
    #[error("the JWE does not decrypt")]
    Decryption,
    /// The system's random number generator failed.
    #[error("no randomness")]
    Random,
}

/// The protected header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JweHeader {
    /// `ECDH-ES`.
    pub alg: String,
    /// `A128GCM` or `A256GCM`.
    pub enc: String,
    /// The sender's ephemeral public key.
    pub epk: Value,
    /// The recipient key's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Agreement PartyUInfo, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apu: Option<String>,
    /// Agreement PartyVInfo, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apv: Option<String>,
    /// Compression: refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Critical extensions: refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

/// A recipient's ECDH key pair (the verifier's response encryption key).
pub struct DecryptionKey {
    secret: p256::SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl DecryptionKey {
    /// A new random key.
    pub fn generate() -> Result<Self, JweError> {
        let secret = random_secret()?;
        Self::from_secret(secret)
    }

    /// From the 32-byte private scalar.
    pub fn from_bytes(scalar: &[u8]) -> Result<Self, JweError> {
        let secret = p256::SecretKey::from_slice(scalar)
            .map_err(|_| JweError::InvalidKey("not a P-256 private key"))?;
        Self::from_secret(secret)
    }

    fn from_secret(secret: p256::SecretKey) -> Result<Self, JweError> {
        let point = secret.public_key().to_sec1_bytes();
        let public =
            PublicKey::from_sec1(&point).map_err(|_| JweError::InvalidKey("public key"))?;
        Ok(Self { secret, public })
    }

    /// The 32-byte private scalar, to keep the key beside a pending request (a host stores it
    /// encrypted, and reads it back with [`DecryptionKey::from_bytes`]).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.secret.to_bytes().to_vec())
    }

    /// The public key, to publish (`client_metadata.jwks`).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public JWK with `use: enc` and `alg: ECDH-ES`, and `kid`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let mut jwk = self.public.to_jwk();
        if let Some(map) = jwk.as_object_mut() {
            map.insert("use".into(), "enc".into());
            map.insert("alg".into(), ECDH_ES.into());
            map.insert("kid".into(), kid.into());
        }
        jwk
    }
}

/// Encrypts `plaintext` to `recipient` (ECDH-ES with a fresh ephemeral key, then `enc`).
pub fn encrypt(
    plaintext: &[u8],
    recipient: &PublicKey,
    kid: Option<&str>,
    enc: ContentEncryption,
    apu: Option<&[u8]>,
    apv: Option<&[u8]>,
) -> Result<String, JweError> {
    recipient
        .validate()
        .map_err(|_| JweError::InvalidKey("the recipient key is not a P-256 point"))?;
    let ephemeral = DecryptionKey::generate()?;
    let z = agree(&ephemeral.secret, recipient)?;
    let key = concat_kdf(
        &z[..],
        enc.name(),
        apu.unwrap_or_default(),
        apv.unwrap_or_default(),
        enc.key_len(),
    );
    let header = JweHeader {
        alg: ECDH_ES.into(),
        enc: enc.name().into(),
        epk: ephemeral.public.to_jwk(),
        kid: kid.map(str::to_owned),
        apu: apu.map(b64::encode),
        apv: apv.map(b64::encode),
        zip: None,
        crit: None,
    };
    let header_b64 =
        b64::encode(serde_json::to_vec(&header).map_err(|_| JweError::Malformed("header"))?);
    let mut iv = [0u8; 12];
    super::random_bytes(&mut iv).map_err(|_| JweError::Random)?;
    let cipher = LessSafeKey::new(
        UnboundKey::new(enc.algorithm(), &key).map_err(|_| JweError::InvalidKey("content key"))?,
    );
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| JweError::Decryption)?;
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        b64::encode(iv),
        b64::encode(&buffer),
        b64::encode(tag.as_ref())
    ))
}

/// Decrypts a compact JWE with `key`, accepting the content encryptions in `accepted`.
pub fn decrypt(
    jwe: &str,
    key: &DecryptionKey,
    accepted: &[ContentEncryption],
) -> Result<(JweHeader, Zeroizing<Vec<u8>>), JweError> {
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(JweError::Malformed("a compact JWE has five parts"));
    };
    let header: JweHeader = serde_json::from_slice(
        &b64::decode(header_b64).map_err(|_| JweError::Malformed("header"))?,
    )
    .map_err(|_| JweError::Malformed("header"))?;
    if header.alg != ECDH_ES {
        return Err(JweError::Unsupported(format!("alg {}", header.alg)));
    }
    let enc = ContentEncryption::from_name(&header.enc)
        .filter(|enc| accepted.contains(enc))
        .ok_or_else(|| JweError::Unsupported(format!("enc {}", header.enc)))?;
    if let Some(zip) = &header.zip {
        return Err(JweError::Unsupported(format!("zip {zip}")));
    }
    if let Some(crit) = header.crit.as_ref().and_then(|c| c.first()) {
        return Err(JweError::Unsupported(format!("crit {crit}")));
    }
    if !encrypted_key.is_empty() {
        return Err(JweError::Malformed("ECDH-ES (direct) has no encrypted key"));
    }
    // The ephemeral key must be a point of P-256 (invalid-curve attacks).
    let epk = PublicKey::from_jwk(&header.epk)
        .map_err(|_| JweError::InvalidKey("epk is not a P-256 point"))?;
    let party = |info: &Option<String>| -> Result<Vec<u8>, JweError> {
        info.as_deref()
            .map(b64::decode)
            .transpose()
            .map(Option::unwrap_or_default)
            .map_err(|_| JweError::Malformed("apu or apv"))
    };
    let (apu, apv) = (party(&header.apu)?, party(&header.apv)?);
    let z = agree(&key.secret, &epk)?;
    let content_key = concat_kdf(&z[..], enc.name(), &apu, &apv, enc.key_len());
    let iv = b64::decode_array::<12>(iv).map_err(|_| JweError::Malformed("iv"))?;
    let tag = b64::decode_array::<16>(tag).map_err(|_| JweError::Malformed("tag"))?;
    let mut buffer =
        Zeroizing::new(b64::decode(ciphertext).map_err(|_| JweError::Malformed("ciphertext"))?);
    buffer.extend_from_slice(&tag);
    let cipher = LessSafeKey::new(
        UnboundKey::new(enc.algorithm(), &content_key)
            .map_err(|_| JweError::InvalidKey("content key"))?,
    );
    let len = cipher
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| JweError::Decryption)?
        .len();
    buffer.truncate(len);
    Ok((header, buffer))
}

fn random_secret() -> Result<p256::SecretKey, JweError> {
    // A uniformly random 32-byte string is a valid scalar but with probability ~2^-32.
    for _ in 0..8 {
        let mut bytes = Zeroizing::new([0u8; 32]);
        super::random_bytes(&mut bytes[..]).map_err(|_| JweError::Random)?;
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes[..]) {
            return Ok(secret);
        }
    }
    Err(JweError::Random)
}

/// The ECDH shared secret `Z` (the x-coordinate) of `secret` and `public`.
fn agree(secret: &p256::SecretKey, public: &PublicKey) -> Result<Zeroizing<[u8; 32]>, JweError> {
    let public = p256::PublicKey::from_sec1_bytes(public.sec1_uncompressed())
        .map_err(|_| JweError::InvalidKey("not a P-256 point"))?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
    let mut z = Zeroizing::new([0u8; 32]);
    z.copy_from_slice(shared.raw_secret_bytes());
    Ok(z)
}

/// The Concat KDF of NIST SP 800-56A as RFC 7518 section 4.6.2 uses it, for keys of up to 256
/// bits (one SHA-256 round): `SHA-256(00000001 || Z || AlgorithmID || PartyUInfo || PartyVInfo ||
/// SuppPubInfo)`, each info field prefixed with its 32-bit length, SuppPubInfo the key length in
/// bits.
fn concat_kdf(
    z: &[u8],
    algorithm: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    hash.update(&1u32.to_be_bytes());
    hash.update(z);
    for field in [algorithm.as_bytes(), apu, apv] {
        hash.update(&(field.len() as u32).to_be_bytes());
        hash.update(field);
    }
    hash.update(&((key_len * 8) as u32).to_be_bytes());
    Zeroizing::new(hash.finish().as_ref()[..key_len].to_vec())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// RFC 7518 appendix C: Alice's ephemeral key, Bob's key, apu "Alice", apv "Bob", A128GCM.
    #[test]
    fn rfc_7518_appendix_c() {
        let alice = b64::decode("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo").unwrap();
        let bob = b64::decode("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw").unwrap();
        let alice = DecryptionKey::from_bytes(&alice).unwrap();
        let bob = DecryptionKey::from_bytes(&bob).unwrap();
        assert_eq!(
            bob.public_key().to_jwk(),
            json!({ "kty": "EC", "crv": "P-256",
                "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
                "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck" })
        );
        let z = agree(&alice.secret, bob.public_key()).unwrap();
        assert_eq!(
            z[..],
            [
                158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
                110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196
            ]
        );
        assert_eq!(agree(&bob.secret, alice.public_key()).unwrap(), z);
        let key = concat_kdf(&z[..], "A128GCM", b"Alice", b"Bob", 16);
        assert_eq!(b64::encode(&key[..]), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn encrypts_to_the_recipient_only() {
        let verifier = DecryptionKey::generate().unwrap();
        for enc in [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm] {
            let jwe = encrypt(
                br#"{"vp_token":{}}"#,
                verifier.public_key(),
                Some("k1"),
                enc,
                Some(b"wallet"),
                Some(b"nonce"),
            )
            .unwrap();
            assert_eq!(jwe.split('.').nth(1), Some(""));
            let (header, plain) = decrypt(&jwe, &verifier, &[enc]).unwrap();
            assert_eq!(&plain[..], br#"{"vp_token":{}}"#);
            assert_eq!(header.kid.as_deref(), Some("k1"));
            // Another recipient; a content encryption not accepted; altered parts.
            let other = DecryptionKey::generate().unwrap();
            assert_eq!(
                decrypt(&jwe, &other, &[enc]).unwrap_err(),
                JweError::Decryption
            );
            let not_accepted = if enc == ContentEncryption::A128Gcm {
                ContentEncryption::A256Gcm
            } else {
                ContentEncryption::A128Gcm
            };
            assert!(matches!(
                decrypt(&jwe, &verifier, &[not_accepted]),
                Err(JweError::Unsupported(_))
            ));
            let parts: Vec<&str> = jwe.split('.').collect();
            for i in [2, 3, 4] {
                let mut altered: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
                let mut bytes = b64::decode(&altered[i]).unwrap();
                bytes[0] ^= 1;
                altered[i] = b64::encode(&bytes);
                assert!(decrypt(&altered.join("."), &verifier, &[enc]).is_err());
            }
        }
    }

    #[test]
    fn hostile_headers_are_refused() {
        let verifier = DecryptionKey::generate().unwrap();
        let jwe = encrypt(
            b"x",
            verifier.public_key(),
            None,
            ContentEncryption::A128Gcm,
            None,
            None,
        )
        .unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        let with_header = |edit: &dyn Fn(&mut Value)| {
            let mut header: Value =
                serde_json::from_slice(&b64::decode(parts[0]).unwrap()).unwrap();
            edit(&mut header);
            let mut altered: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            altered[0] = b64::encode(header.to_string());
            decrypt(&altered.join("."), &verifier, &[ContentEncryption::A128Gcm])
        };
        // An epk off the curve (an invalid-curve attack), another alg, zip, crit.
        assert_eq!(
            with_header(&|h| h["epk"]["y"] = json!(b64::encode([7u8; 32]))).unwrap_err(),
            JweError::InvalidKey("epk is not a P-256 point")
        );
        assert!(matches!(
            with_header(&|h| h["alg"] = json!("RSA-OAEP")),
            Err(JweError::Unsupported(_))
        ));
        assert!(matches!(
            with_header(&|h| h["zip"] = json!("DEF")),
            Err(JweError::Unsupported(_))
        ));
        assert!(matches!(
            with_header(&|h| h["crit"] = json!(["exp"])),
            Err(JweError::Unsupported(_))
        ));
        // An unchanged header that decodes but another part count or an encrypted key.
        assert!(decrypt("a.b.c", &verifier, &[ContentEncryption::A128Gcm]).is_err());
        let with_key = format!("{}.AAAA.{}.{}.{}", parts[0], parts[2], parts[3], parts[4]);
        assert!(decrypt(&with_key, &verifier, &[ContentEncryption::A128Gcm]).is_err());
    }
}
