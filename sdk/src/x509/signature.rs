//! Signature algorithms and verification with a SubjectPublicKeyInfo.
//!
//! Shared by chain validation and by anything else that has a signer's SPKI
//! and an AlgorithmIdentifier (CMS SignerInfo, ICAO SOD).

use ring::signature::{self as ring_sig, UnparsedPublicKey, VerificationAlgorithm};

use super::{
    X509Error,
    der::{self, Reader},
};

// OBJECT IDENTIFIER content octets.
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// A signature algorithm this module can verify.
///
/// ECDSA signatures are expected in the ASN.1 DER `ECDSA-Sig-Value` form used
/// by X.509 and CMS (not the fixed-width `r || s` form used by JWS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2), with a P-256 or P-384 key.
    EcdsaSha256,
    /// ecdsa-with-SHA384 (1.2.840.10045.4.3.3), with a P-256 or P-384 key.
    EcdsaSha384,
    /// sha256WithRSAEncryption (PKCS#1 v1.5), 2048 to 8192-bit keys.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption (PKCS#1 v1.5), 2048 to 8192-bit keys.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption (PKCS#1 v1.5), 2048 to 8192-bit keys.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
    /// Ed25519 (1.3.101.112).
    Ed25519,
}

impl SignatureAlgorithm {
    /// Reads a DER `AlgorithmIdentifier` (`SEQUENCE { OID, parameters }`),
    /// as found in a certificate's `signatureAlgorithm` or a CMS SignerInfo.
    ///
    /// Parameters are checked strictly: absent for ECDSA and Ed25519, NULL (or
    /// absent) for PKCS#1 v1.5, and for RSASSA-PSS exactly one of the three
    /// SHA-2 profiles (same hash for MGF1, salt length equal to the hash
    /// length, trailer field 1). Anything else is
    /// [`X509Error::UnsupportedSignatureAlgorithm`].
    pub fn from_algorithm_identifier_der(der: &[u8]) -> Result<Self, X509Error> {
        let (oid, params) = read_algorithm_identifier(der, "signature algorithm identifier")?;
        Self::from_oid_and_params(oid, params)
    }

    fn from_oid_and_params(oid: &[u8], params: Option<der::Tlv<'_>>) -> Result<Self, X509Error> {
        let unsupported = |why: &str| {
            let name = der::oid_to_dotted(oid).unwrap_or_else(|| "<invalid OID>".to_owned());
            X509Error::UnsupportedSignatureAlgorithm(format!("{name}{why}"))
        };
        let params_absent = params.is_none();
        let params_null_or_absent = params.is_none_or(is_null);
        match oid {
            OID_ECDSA_SHA256 if params_absent => Ok(Self::EcdsaSha256),
            OID_ECDSA_SHA384 if params_absent => Ok(Self::EcdsaSha384),
            OID_ED25519 if params_absent => Ok(Self::Ed25519),
            OID_ECDSA_SHA256 | OID_ECDSA_SHA384 | OID_ED25519 => {
                Err(unsupported(" with parameters (they must be absent)"))
            }
            OID_RSA_SHA256 if params_null_or_absent => Ok(Self::RsaPkcs1Sha256),
            OID_RSA_SHA384 if params_null_or_absent => Ok(Self::RsaPkcs1Sha384),
            OID_RSA_SHA512 if params_null_or_absent => Ok(Self::RsaPkcs1Sha512),
            OID_RSA_SHA256 | OID_RSA_SHA384 | OID_RSA_SHA512 => {
                Err(unsupported(" with parameters other than NULL"))
            }
            OID_RSASSA_PSS => match params {
                Some(p) if p.tag == der::SEQUENCE => parse_pss_params(p.value),
                _ => Err(unsupported(" without RSASSA-PSS-params")),
            },
            _ => Err(unsupported("")),
        }
    }

    fn ring_algorithm(self, key: &PublicKey<'_>) -> Option<&'static dyn VerificationAlgorithm> {
        use PublicKey as K;
        Some(match (self, key) {
            (Self::EcdsaSha256, K::EcP256(_)) => &ring_sig::ECDSA_P256_SHA256_ASN1,
            (Self::EcdsaSha384, K::EcP256(_)) => &ring_sig::ECDSA_P256_SHA384_ASN1,
            (Self::EcdsaSha256, K::EcP384(_)) => &ring_sig::ECDSA_P384_SHA256_ASN1,
            (Self::EcdsaSha384, K::EcP384(_)) => &ring_sig::ECDSA_P384_SHA384_ASN1,
            (Self::RsaPkcs1Sha256, K::Rsa(_)) => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
            (Self::RsaPkcs1Sha384, K::Rsa(_)) => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
            (Self::RsaPkcs1Sha512, K::Rsa(_)) => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
            (Self::RsaPssSha256, K::Rsa(_)) => &ring_sig::RSA_PSS_2048_8192_SHA256,
            (Self::RsaPssSha384, K::Rsa(_)) => &ring_sig::RSA_PSS_2048_8192_SHA384,
            (Self::RsaPssSha512, K::Rsa(_)) => &ring_sig::RSA_PSS_2048_8192_SHA512,
            (Self::Ed25519, K::Ed25519(_)) => &ring_sig::ED25519,
            _ => return None,
        })
    }
}

fn is_null(tlv: der::Tlv<'_>) -> bool {
    tlv.tag == der::NULL && tlv.value.is_empty()
}

/// Splits an AlgorithmIdentifier into its OID content octets and optional parameters.
pub(crate) fn read_algorithm_identifier<'a>(
    der_bytes: &'a [u8],
    what: &'static str,
) -> Result<(&'a [u8], Option<der::Tlv<'a>>), X509Error> {
    let mut outer = Reader::new(der_bytes, what);
    let seq = outer.expect(der::SEQUENCE)?;
    outer.finish()?;
    let mut inner = Reader::new(seq.value, what);
    let oid = inner.expect(der::OID)?;
    let params = if inner.is_empty() {
        None
    } else {
        Some(inner.next_tlv()?)
    };
    inner.finish()?;
    Ok((oid.value, params))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sha2 {
    Sha256,
    Sha384,
    Sha512,
}

impl Sha2 {
    fn output_len(self) -> u8 {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// Reads a hash AlgorithmIdentifier (SHA-2 only; parameters NULL or absent, RFC 4055 §2.1).
fn read_hash(der_bytes: &[u8]) -> Result<Sha2, X509Error> {
    let (oid, params) = read_algorithm_identifier(der_bytes, "RSASSA-PSS hash algorithm")?;
    if !params.is_none_or(is_null) {
        return Err(pss_unsupported("hash parameters other than NULL"));
    }
    match oid {
        OID_SHA256 => Ok(Sha2::Sha256),
        OID_SHA384 => Ok(Sha2::Sha384),
        OID_SHA512 => Ok(Sha2::Sha512),
        _ => Err(pss_unsupported("hash other than SHA-256/384/512")),
    }
}

fn pss_unsupported(why: &str) -> X509Error {
    X509Error::UnsupportedSignatureAlgorithm(format!("RSASSA-PSS with {why}"))
}

/// Parses RSASSA-PSS-params (RFC 4055 §3.1) and accepts only the profiles
/// ring can verify: SHA-2 hash, MGF1 with the same hash, salt = hash length.
fn parse_pss_params(content: &[u8]) -> Result<SignatureAlgorithm, X509Error> {
    const WHAT: &str = "RSASSA-PSS parameters";
    let mut r = Reader::new(content, WHAT);

    // Every field has a SHA-1 based default, which is refused.
    let hash_field = r
        .optional(der::context(0))?
        .ok_or_else(|| pss_unsupported("the default SHA-1 hash"))?;
    let hash = read_hash(hash_field.value)?;

    let mgf_field = r
        .optional(der::context(1))?
        .ok_or_else(|| pss_unsupported("the default MGF1-SHA-1 mask generation"))?;
    let (mgf_oid, mgf_params) = read_algorithm_identifier(mgf_field.value, WHAT)?;
    if mgf_oid != OID_MGF1 {
        return Err(pss_unsupported(
            "a mask generation function other than MGF1",
        ));
    }
    let mgf_hash = match mgf_params {
        Some(p) if p.tag == der::SEQUENCE => read_hash(p.raw)?,
        _ => return Err(X509Error::Malformed(WHAT)),
    };
    if mgf_hash != hash {
        return Err(pss_unsupported(
            "an MGF1 hash different from the message hash",
        ));
    }

    let salt_field = r
        .optional(der::context(2))?
        .ok_or_else(|| pss_unsupported("the default 20-byte salt"))?;
    let mut salt_reader = Reader::new(salt_field.value, WHAT);
    let salt = salt_reader.expect(der::INTEGER)?;
    salt_reader.finish()?;
    if salt.value != [hash.output_len()] {
        return Err(pss_unsupported(
            "a salt length different from the hash length",
        ));
    }

    // trailerField DEFAULT 1; DER omits it, but tolerate an explicit 1.
    if let Some(trailer_field) = r.optional(der::context(3))? {
        let mut tr = Reader::new(trailer_field.value, WHAT);
        let trailer = tr.expect(der::INTEGER)?;
        tr.finish()?;
        if trailer.value != [1] {
            return Err(pss_unsupported("a trailer field other than 1"));
        }
    }
    r.finish()?;

    Ok(match hash {
        Sha2::Sha256 => SignatureAlgorithm::RsaPssSha256,
        Sha2::Sha384 => SignatureAlgorithm::RsaPssSha384,
        Sha2::Sha512 => SignatureAlgorithm::RsaPssSha512,
    })
}

/// A public key in the form ring takes it.
pub(super) enum PublicKey<'a> {
    /// Uncompressed SEC1 point on P-256.
    EcP256(&'a [u8]),
    /// Uncompressed SEC1 point on P-384.
    EcP384(&'a [u8]),
    /// DER RSAPublicKey (PKCS#1).
    Rsa(&'a [u8]),
    /// Raw 32-byte Ed25519 key.
    Ed25519(&'a [u8]),
}

impl<'a> PublicKey<'a> {
    /// Reads a DER SubjectPublicKeyInfo.
    pub(super) fn from_spki(spki_der: &'a [u8]) -> Result<Self, X509Error> {
        const WHAT: &str = "SubjectPublicKeyInfo";
        let mut outer = Reader::new(spki_der, WHAT);
        let spki = outer.expect(der::SEQUENCE)?;
        outer.finish()?;
        let mut inner = Reader::new(spki.value, WHAT);
        let alg = inner.expect(der::SEQUENCE)?;
        let bits = inner.expect(der::BIT_STRING)?;
        inner.finish()?;
        let (oid, params) = read_algorithm_identifier(alg.raw, WHAT)?;
        let key = match bits.value.split_first() {
            Some((0, key)) => key,
            _ => return Err(X509Error::Malformed(WHAT)),
        };
        let unsupported = |why: &str| X509Error::UnsupportedKey(why.to_owned());

        match oid {
            OID_EC_PUBLIC_KEY => {
                let curve = match params {
                    Some(p) if p.tag == der::OID => p.value,
                    _ => return Err(unsupported("EC key without a named curve")),
                };
                // ring only takes uncompressed points (0x04 || X || Y).
                let (want_len, make): (usize, fn(&'a [u8]) -> Self) = match curve {
                    OID_P256 => (65, Self::EcP256),
                    OID_P384 => (97, Self::EcP384),
                    other => {
                        let name = der::oid_to_dotted(other).unwrap_or_default();
                        return Err(X509Error::UnsupportedKey(format!("EC curve {name}")));
                    }
                };
                if key.len() != want_len || key.first() != Some(&0x04) {
                    return Err(unsupported("EC point that is not uncompressed"));
                }
                Ok(make(key))
            }
            OID_RSA_ENCRYPTION => {
                if !params.is_none_or(is_null) {
                    return Err(X509Error::Malformed(WHAT));
                }
                let bits = rsa_modulus_bits(key)?;
                if !(2048..=8192).contains(&bits) {
                    return Err(X509Error::UnsupportedKey(format!(
                        "RSA key of {bits} bits (2048 to 8192 required)"
                    )));
                }
                Ok(Self::Rsa(key))
            }
            OID_ED25519 => {
                if params.is_some() || key.len() != 32 {
                    return Err(X509Error::Malformed(WHAT));
                }
                Ok(Self::Ed25519(key))
            }
            other => {
                let name = der::oid_to_dotted(other).unwrap_or_default();
                Err(X509Error::UnsupportedKey(format!("key algorithm {name}")))
            }
        }
    }

    fn bytes(&self) -> &'a [u8] {
        match self {
            Self::EcP256(k) | Self::EcP384(k) | Self::Rsa(k) | Self::Ed25519(k) => k,
        }
    }
}

/// Size of the modulus of a DER RSAPublicKey, in bits.
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Result<usize, X509Error> {
    const WHAT: &str = "RSA public key";
    let mut outer = Reader::new(rsa_public_key, WHAT);
    let seq = outer.expect(der::SEQUENCE)?;
    outer.finish()?;
    let mut inner = Reader::new(seq.value, WHAT);
    let modulus = inner.expect(der::INTEGER)?;
    inner.expect(der::INTEGER)?;
    inner.finish()?;
    // A positive INTEGER whose top bit is set carries one leading zero octet.
    let magnitude = match modulus.value {
        [0, rest @ ..] => rest,
        all => all,
    };
    let Some(&top) = magnitude.first() else {
        return Err(X509Error::Malformed(WHAT));
    };
    Ok(magnitude.len() * 8 - top.leading_zeros() as usize)
}

/// Verifies `signature` over `message` with the key in `spki_der` (a DER
/// SubjectPublicKeyInfo) using `algorithm`.
///
/// ECDSA signatures are DER `ECDSA-Sig-Value` (as in X.509 and CMS); a JWS
/// `r || s` signature must be converted first.
///
/// Fails with [`X509Error::UnsupportedKey`] when the key type or size is not
/// supported or does not fit `algorithm`, and with
/// [`X509Error::BadSignature`] when the signature does not verify.
pub fn verify_signature(
    spki_der: &[u8],
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), X509Error> {
    let key = PublicKey::from_spki(spki_der)?;
    let ring_alg = algorithm.ring_algorithm(&key).ok_or_else(|| {
        X509Error::UnsupportedKey(format!("key does not match algorithm {algorithm:?}"))
    })?;
    UnparsedPublicKey::new(ring_alg, key.bytes())
        .verify(message, signature)
        .map_err(|_| X509Error::BadSignature)
}
