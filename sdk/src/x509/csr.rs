//! PKCS#10 certification requests (RFC 2986) for a P-256 signing key, signed through a
//! [`JwsSigner`] (a platform keystore key: the private key never leaves it). The subject is left
//! empty: the certificate authority takes the names from its registry, never from the request.

use der::{
    Decode, Encode,
    asn1::{BitString, ObjectIdentifier, SetOfVec},
};
use x509_cert::{
    name::RdnSequence,
    request::{CertReq, CertReqInfo, Version},
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
};

use super::X509Error;
use crate::jose::{JwsSigner, PublicKey};

const ID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// DER prefix of a P-256 SubjectPublicKeyInfo, followed by the 65-byte uncompressed point.
pub(crate) const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The DER SubjectPublicKeyInfo of a P-256 key.
pub fn p256_spki_der(public_key: &PublicKey) -> Vec<u8> {
    let mut spki = Vec::with_capacity(P256_SPKI_PREFIX.len() + 65);
    spki.extend_from_slice(&P256_SPKI_PREFIX);
    spki.extend_from_slice(public_key.sec1_uncompressed());
    spki
}

fn malformed(error: der::Error) -> X509Error {
    X509Error::Parse(format!("certification request: {error}"))
}

/// A DER PKCS#10 request for `public_key`, signed (ecdsa-with-SHA256) by `signer`, which must
/// hold the matching private key: the signature is the CA's proof of possession.
pub fn csr_der(signer: &dyn JwsSigner, public_key: &PublicKey) -> Result<Vec<u8>, X509Error> {
    let info = CertReqInfo {
        version: Version::V1,
        subject: RdnSequence::default(),
        public_key: SubjectPublicKeyInfoOwned::from_der(&p256_spki_der(public_key))
            .map_err(malformed)?,
        attributes: SetOfVec::new(),
    };
    let raw = signer
        .sign(&info.to_der().map_err(malformed)?)
        .map_err(|e| X509Error::Parse(format!("signing the request: {e}")))?;
    let signature = crate::cms::ecdsa_der(&raw)
        .map_err(|e| X509Error::Parse(format!("signing the request: {e}")))?;
    let request = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_ECDSA_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).map_err(malformed)?,
    };
    request.to_der().map_err(malformed)
}

/// [`csr_der`] as PEM (`CERTIFICATE REQUEST`).
pub fn csr_pem(signer: &dyn JwsSigner, public_key: &PublicKey) -> Result<String, X509Error> {
    Ok(pem("CERTIFICATE REQUEST", &csr_der(signer, public_key)?))
}

/// The DER of the first `CERTIFICATE REQUEST` block of `pem`.
pub fn csr_from_pem(pem: &str) -> Result<Vec<u8>, X509Error> {
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| X509Error::Pem(e.to_string()))?;
        if block.label == "CERTIFICATE REQUEST" {
            return Ok(block.contents);
        }
    }
    Err(X509Error::Pem("no CERTIFICATE REQUEST block".into()))
}

/// PEM-encodes `der` under `label` (64-character lines).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData;

    use crate::jose::Es256KeyPair;

    #[test]
    fn request_is_self_signed_by_the_key() {
        let key = Es256KeyPair::generate().unwrap();
        let der = csr_der(&key, key.public_key()).unwrap();
        // rcgen (what the CA uses) parses it and checks its signature.
        let parsed = rcgen::CertificateSigningRequestParams::from_der(&der.clone().into()).unwrap();
        assert_eq!(
            parsed.public_key.der_bytes(),
            key.public_key().sec1_uncompressed()
        );
        // A request signed by another key is refused.
        let other = Es256KeyPair::generate().unwrap();
        let forged = csr_der(&other, key.public_key()).unwrap();
        assert!(rcgen::CertificateSigningRequestParams::from_der(&forged.into()).is_err());
        assert!(
            csr_pem(&key, key.public_key())
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----\n")
        );
    }
}
