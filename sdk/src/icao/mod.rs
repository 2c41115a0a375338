//! ICAO Doc 9303 chip data: passive authentication of what a citizen ID card's chip holds.
//!
//! The chip stores data groups (DG1: the MRZ; DG2: the portrait; DG13: the Vietnamese card's
//! personal data in full Unicode) and EF.SOD, a CMS SignedData (RFC 5652) wrapping an
//! `LDSSecurityObject` that lists a hash per data group, signed by the issuing state's Document
//! Signer (DS), whose certificate is signed by the state's Country Signing CA (CSCA). Passive
//! authentication (Doc 9303 part 11, section 5.1) checks all of that:
//!
//! 1. EF.SOD parses (strict DER) and its content is an `LDSSecurityObject`;
//! 2. each data group read from the chip hashes to the value the SOD lists for it;
//! 3. the signed attributes carry the right content type and the digest of the content;
//! 4. the signer's signature over the signed attributes verifies with the DS certificate
//!    (RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA on P-256/P-384);
//! 5. the DS certificate chains to a configured CSCA at the given time.
//!
//! [`mrz`] reads DG1 and [`dg13`] the Vietnamese DG13, for the comparison with the registry.

#[cfg(feature = "dev-pki")]
pub mod dev;
pub mod dg13;
pub mod mrz;

use ring::digest;

use crate::x509::{
    self, ChainPolicy, SignatureAlgorithm, TrustAnchor, X509Error,
    der::{self, Reader, Tlv},
};

/// `id-signedData` (1.2.840.113549.1.7.2).
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// `id-icao-mrtd-security-ldsSecurityObject` (2.23.136.1.1.1).
const OID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
/// `id-contentType` (1.2.840.113549.1.9.3).
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
/// `id-messageDigest` (1.2.840.113549.1.9.4).
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// `rsaEncryption` (1.2.840.113549.1.1.1), which some SODs give as the signature algorithm
/// (the hash then comes from the signer's digest algorithm).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// The tag of EF.SOD.
pub const SOD_TAG: u8 = 0x77;
/// Largest EF.SOD accepted (real ones are a few kilobytes).
pub const MAX_SOD_LEN: usize = 64 * 1024;

const SET: u8 = 0x31;
const OCTET_STRING: u8 = 0x04;

/// Why chip data failed passive authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IcaoError {
    /// EF.SOD (or a data group) is not the DER structure it should be.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An algorithm this implementation does not verify.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A data group was read from the chip but the SOD lists no hash for it.
    #[error("the SOD lists no hash for DG{0}")]
    DataGroupNotListed(u8),
    /// A data group's hash differs from the SOD's: the data was altered.
    #[error("DG{0} does not match its hash in the SOD")]
    DataGroupHash(u8),
    /// A data group starts with the tag of another data group.
    #[error("DG{0} does not carry its tag")]
    DataGroupTag(u8),
    /// The signed attributes lack the content type or message digest, or they do not match.
    #[error("signed attributes: {0}")]
    SignedAttributes(&'static str),
    /// No Document Signer certificate in the SOD matches the signer.
    #[error("no Document Signer certificate matches the signer")]
    SignerCertificate,
    /// The Document Signer's signature does not verify.
    #[error("the Document Signer's signature does not verify")]
    Signature,
    /// The Document Signer certificate does not chain to a trusted CSCA (or is expired).
    #[error("Document Signer certificate: {0}")]
    Chain(X509Error),
}

impl From<X509Error> for IcaoError {
    fn from(error: X509Error) -> Self {
        match error {
            X509Error::Malformed(what) => Self::Malformed(what),
            X509Error::UnsupportedSignatureAlgorithm(a) => Self::UnsupportedAlgorithm(a),
            X509Error::BadSignature => Self::Signature,
            other => Self::Chain(other),
        }
    }
}

/// A hash algorithm of the LDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-1 (older documents).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    fn from_algorithm_identifier(der_bytes: &[u8]) -> Result<Self, IcaoError> {
        let (oid, params) =
            x509::signature::read_algorithm_identifier(der_bytes, "hash algorithm")?;
        if params.is_some_and(|p| !(p.tag == der::NULL && p.value.is_empty())) {
            return Err(IcaoError::Malformed("hash algorithm parameters"));
        }
        match oid {
            OID_SHA1 => Ok(Self::Sha1),
            OID_SHA256 => Ok(Self::Sha256),
            OID_SHA384 => Ok(Self::Sha384),
            OID_SHA512 => Ok(Self::Sha512),
            other => Err(IcaoError::UnsupportedAlgorithm(format!(
                "hash {}",
                der::oid_to_dotted(other).unwrap_or_default()
            ))),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(algorithm, data).as_ref().to_vec()
    }

    /// The name, e.g. `SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// A parsed EF.SOD (nothing verified yet).
#[derive(Debug, Clone)]
pub struct SecurityObject<'a> {
    /// The LDS hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// `(data group number, hash)` as listed.
    pub data_group_hashes: DataGroupHashes<'a>,
    /// The certificates embedded in the SignedData (normally the Document Signer's).
    pub certificates: Vec<&'a [u8]>,
    e_content: &'a [u8],
    signer: SignerInfo<'a>,
}

#[derive(Debug, Clone)]
struct SignerInfo<'a> {
    sid: SignerId<'a>,
    digest_algorithm: HashAlgorithm,
    signed_attributes: Option<Tlv<'a>>,
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

#[derive(Debug, Clone)]
enum SignerId<'a> {
    IssuerAndSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyIdentifier(&'a [u8]),
}

fn integer_value(tlv: Tlv<'_>) -> Result<u64, IcaoError> {
    if tlv.value.is_empty() || tlv.value.len() > 8 || tlv.value[0] & 0x80 != 0 {
        return Err(IcaoError::Malformed("integer"));
    }
    Ok(tlv.value.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

impl<'a> SecurityObject<'a> {
    /// Parses EF.SOD (tag 0x77 around a CMS ContentInfo).
    pub fn parse(sod: &'a [u8]) -> Result<Self, IcaoError> {
        if sod.len() > MAX_SOD_LEN {
            return Err(IcaoError::Malformed("EF.SOD (too large)"));
        }
        let mut file = Reader::new(sod, "EF.SOD");
        let wrapper = file.expect(SOD_TAG)?;
        file.finish()?;
        let mut wrapper = Reader::new(wrapper.value, "EF.SOD");
        let content_info = wrapper.expect(der::SEQUENCE)?;
        wrapper.finish()?;

        let mut ci = Reader::new(content_info.value, "ContentInfo");
        if ci.expect(der::OID)?.value != OID_SIGNED_DATA {
            return Err(IcaoError::Malformed("ContentInfo (not SignedData)"));
        }
        let explicit = ci.expect(der::context(0))?;
        ci.finish()?;
        let mut explicit = Reader::new(explicit.value, "SignedData");
        let signed_data = explicit.expect(der::SEQUENCE)?;
        explicit.finish()?;

        let mut sd = Reader::new(signed_data.value, "SignedData");
        sd.expect(der::INTEGER)?;
        sd.expect(SET)?; // digestAlgorithms
        let encap = sd.expect(der::SEQUENCE)?;
        let certificates = match sd.optional(der::context(0))? {
            Some(set) => {
                let mut certs = Reader::new(set.value, "SignedData certificates");
                let mut out = Vec::new();
                while !certs.is_empty() {
                    out.push(certs.next_tlv()?.raw);
                }
                out
            }
            None => Vec::new(),
        };
        sd.optional(der::context(1))?; // crls, unused
        let signer_infos = sd.expect(SET)?;
        sd.finish()?;

        let mut encap = Reader::new(encap.value, "EncapsulatedContentInfo");
        if encap.expect(der::OID)?.value != OID_LDS_SECURITY_OBJECT {
            return Err(IcaoError::Malformed("content (not an LDSSecurityObject)"));
        }
        let explicit = encap.expect(der::context(0))?;
        encap.finish()?;
        let mut explicit = Reader::new(explicit.value, "eContent");
        let e_content = explicit.expect(OCTET_STRING)?.value;
        explicit.finish()?;
        let (hash_algorithm, data_group_hashes) = parse_lds_security_object(e_content)?;

        let mut infos = Reader::new(signer_infos.value, "SignerInfos");
        let signer = parse_signer_info(infos.expect(der::SEQUENCE)?)?;
        if !infos.is_empty() {
            return Err(IcaoError::Malformed("SignerInfos (more than one signer)"));
        }
        Ok(Self {
            hash_algorithm,
            data_group_hashes,
            certificates,
            e_content,
            signer,
        })
    }

    /// The hash the SOD lists for data group `number`.
    pub fn hash_of(&self, number: u8) -> Option<&'a [u8]> {
        self.data_group_hashes
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, h)| *h)
    }

    /// The embedded certificate that matches the signer identifier.
    fn signer_certificate(&self) -> Result<&'a [u8], IcaoError> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        for der_bytes in &self.certificates {
            let Ok((_, cert)) = X509Certificate::from_der(der_bytes) else {
                continue;
            };
            let matches = match &self.signer.sid {
                SignerId::IssuerAndSerial { issuer, serial } => {
                    cert.issuer().as_raw() == *issuer && cert.raw_serial() == *serial
                }
                SignerId::SubjectKeyIdentifier(ski) => cert.extensions().iter().any(|e| {
                    matches!(e.parsed_extension(),
                        x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) if id.0 == *ski)
                }),
            };
            if matches {
                return Ok(der_bytes);
            }
        }
        Err(IcaoError::SignerCertificate)
    }

    /// Checks the signed attributes and the signature with the Document Signer certificate
    /// (not its chain); returns that certificate and the signature algorithm.
    fn verify_signature(&self) -> Result<(&'a [u8], SignatureAlgorithm), IcaoError> {
        let certificate = self.signer_certificate()?;
        let spki = spki_of(certificate)?;
        let algorithm = signature_algorithm(
            self.signer.signature_algorithm,
            self.signer.digest_algorithm,
        )?;
        let content_digest = self.signer.digest_algorithm.digest(self.e_content);
        let signed = match self.signer.signed_attributes {
            Some(attributes) => {
                check_signed_attributes(attributes, &content_digest)?;
                // The signature covers the attributes' DER with the SET tag (RFC 5652 §5.4).
                let mut input = attributes.raw.to_vec();
                input[0] = SET;
                input
            }
            None => self.e_content.to_vec(),
        };
        x509::verify_signature(spki, algorithm, &signed, self.signer.signature)
            .map_err(IcaoError::from)?;
        Ok((certificate, algorithm))
    }
}

/// `(data group number, hash)` as an `LDSSecurityObject` lists them.
type DataGroupHashes<'a> = Vec<(u8, &'a [u8])>;

fn parse_lds_security_object(
    content: &[u8],
) -> Result<(HashAlgorithm, DataGroupHashes<'_>), IcaoError> {
    const WHAT: &str = "LDSSecurityObject";
    let mut outer = Reader::new(content, WHAT);
    let object = outer.expect(der::SEQUENCE)?;
    outer.finish()?;
    let mut r = Reader::new(object.value, WHAT);
    let version = integer_value(r.expect(der::INTEGER)?)?;
    if version > 1 {
        return Err(IcaoError::Malformed("LDSSecurityObject version"));
    }
    let hash_algorithm = HashAlgorithm::from_algorithm_identifier(r.expect(der::SEQUENCE)?.raw)?;
    let list = r.expect(der::SEQUENCE)?;
    r.optional(der::SEQUENCE)?; // ldsVersionInfo (version 1)
    r.finish()?;
    let mut entries = Reader::new(list.value, WHAT);
    let mut hashes: Vec<(u8, &[u8])> = Vec::new();
    while !entries.is_empty() {
        let entry = entries.expect(der::SEQUENCE)?;
        let mut e = Reader::new(entry.value, WHAT);
        let number = integer_value(e.expect(der::INTEGER)?)?;
        let hash = e.expect(OCTET_STRING)?.value;
        e.finish()?;
        let number = u8::try_from(number)
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or(IcaoError::Malformed("data group number"))?;
        if hashes.iter().any(|(n, _)| *n == number) {
            return Err(IcaoError::Malformed(
                "LDSSecurityObject (a data group listed twice)",
            ));
        }
        if hash.len() != hash_algorithm.digest(b"").len() {
            return Err(IcaoError::Malformed("data group hash length"));
        }
        hashes.push((number, hash));
    }
    if hashes.is_empty() {
        return Err(IcaoError::Malformed("LDSSecurityObject (no data group)"));
    }
    Ok((hash_algorithm, hashes))
}

fn parse_signer_info(info: Tlv<'_>) -> Result<SignerInfo<'_>, IcaoError> {
    const WHAT: &str = "SignerInfo";
    let mut r = Reader::new(info.value, WHAT);
    let version = integer_value(r.expect(der::INTEGER)?)?;
    let sid = match version {
        1 => {
            let ias = r.expect(der::SEQUENCE)?;
            let mut ias = Reader::new(ias.value, WHAT);
            let issuer = ias.expect(der::SEQUENCE)?.raw;
            let serial = ias.expect(der::INTEGER)?.value;
            ias.finish()?;
            SignerId::IssuerAndSerial { issuer, serial }
        }
        3 => SignerId::SubjectKeyIdentifier(r.expect(0x80)?.value),
        _ => return Err(IcaoError::Malformed("SignerInfo version")),
    };
    let digest_algorithm = HashAlgorithm::from_algorithm_identifier(r.expect(der::SEQUENCE)?.raw)?;
    let signed_attributes = r.optional(der::context(0))?;
    let signature_algorithm = r.expect(der::SEQUENCE)?.raw;
    let signature = r.expect(OCTET_STRING)?.value;
    r.optional(der::context(1))?; // unsigned attributes
    r.finish()?;
    Ok(SignerInfo {
        sid,
        digest_algorithm,
        signed_attributes,
        signature_algorithm,
        signature,
    })
}

/// The signature algorithm of a SignerInfo; `rsaEncryption` means PKCS#1 v1.5 with the
/// signer's digest algorithm.
fn signature_algorithm(
    identifier: &[u8],
    digest_algorithm: HashAlgorithm,
) -> Result<SignatureAlgorithm, IcaoError> {
    let (oid, _) = x509::signature::read_algorithm_identifier(identifier, "signature algorithm")?;
    if oid == OID_RSA_ENCRYPTION {
        return match digest_algorithm {
            HashAlgorithm::Sha256 => Ok(SignatureAlgorithm::RsaPkcs1Sha256),
            HashAlgorithm::Sha384 => Ok(SignatureAlgorithm::RsaPkcs1Sha384),
            HashAlgorithm::Sha512 => Ok(SignatureAlgorithm::RsaPkcs1Sha512),
            HashAlgorithm::Sha1 => Err(IcaoError::UnsupportedAlgorithm("RSA with SHA-1".into())),
        };
    }
    Ok(SignatureAlgorithm::from_algorithm_identifier_der(
        identifier,
    )?)
}

fn check_signed_attributes(attributes: Tlv<'_>, content_digest: &[u8]) -> Result<(), IcaoError> {
    const WHAT: &str = "signed attributes";
    let mut r = Reader::new(attributes.value, WHAT);
    let (mut content_type, mut message_digest) = (None, None);
    while !r.is_empty() {
        let attribute = r.expect(der::SEQUENCE)?;
        let mut a = Reader::new(attribute.value, WHAT);
        let oid = a.expect(der::OID)?.value;
        let values = a.expect(SET)?;
        a.finish()?;
        let mut v = Reader::new(values.value, WHAT);
        let value = v.next_tlv()?;
        v.finish()?;
        let slot = match oid {
            OID_CONTENT_TYPE => &mut content_type,
            OID_MESSAGE_DIGEST => &mut message_digest,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(IcaoError::SignedAttributes("an attribute appears twice"));
        }
    }
    match content_type {
        Some(t) if t.tag == der::OID && t.value == OID_LDS_SECURITY_OBJECT => {}
        Some(_) => {
            return Err(IcaoError::SignedAttributes(
                "content type is not the LDS security object",
            ));
        }
        None => return Err(IcaoError::SignedAttributes("no content type")),
    }
    match message_digest {
        Some(d) if d.tag == OCTET_STRING && d.value == content_digest => Ok(()),
        Some(_) => Err(IcaoError::SignedAttributes(
            "the message digest does not match the content",
        )),
        None => Err(IcaoError::SignedAttributes("no message digest")),
    }
}

/// The SubjectPublicKeyInfo of a certificate.
fn spki_of(certificate: &[u8]) -> Result<&[u8], IcaoError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(certificate)
        .map_err(|e| IcaoError::Chain(X509Error::Parse(e.to_string())))?;
    Ok(cert.tbs_certificate.subject_pki.raw)
}

/// The expected first byte of each data group file (Doc 9303 part 10, table 34).
pub fn data_group_tag(number: u8) -> Option<u8> {
    Some(match number {
        1 => 0x61,
        2 => 0x75,
        3 => 0x63,
        4 => 0x76,
        5 => 0x65,
        6 => 0x66,
        7 => 0x67,
        8 => 0x68,
        9 => 0x69,
        10 => 0x6A,
        11 => 0x6B,
        12 => 0x6C,
        13 => 0x6D,
        14 => 0x6E,
        15 => 0x6F,
        16 => 0x70,
        _ => return None,
    })
}

/// What passive authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveAuthentication {
    /// The data groups whose hashes were checked.
    pub data_groups: Vec<u8>,
    /// The LDS hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The Document Signer's signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// The Document Signer certificate's subject.
    pub document_signer: String,
    /// The CSCA it chains to.
    pub csca: String,
}

/// The first four steps of passive authentication: the data groups' hashes, the signed
/// attributes and the Document Signer's signature (the certificate's chain is not checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSecurityObject<'a> {
    /// The data groups whose hashes were checked.
    pub data_groups: Vec<u8>,
    /// The LDS hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The Document Signer's signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// The Document Signer certificate (DER) that verified the signature.
    pub document_signer: &'a [u8],
}

/// Checks `data_groups` (`(number, file bytes)`) against `sod` and the SOD's signature with its
/// Document Signer certificate; [`passive_authentication`] adds the chain to a CSCA.
pub fn verify_security_object<'a>(
    sod: &'a [u8],
    data_groups: &[(u8, &[u8])],
) -> Result<SignedSecurityObject<'a>, IcaoError> {
    let object = SecurityObject::parse(sod)?;
    for (number, bytes) in data_groups {
        if data_group_tag(*number) != bytes.first().copied() {
            return Err(IcaoError::DataGroupTag(*number));
        }
        let listed = object
            .hash_of(*number)
            .ok_or(IcaoError::DataGroupNotListed(*number))?;
        if object.hash_algorithm.digest(bytes) != listed {
            return Err(IcaoError::DataGroupHash(*number));
        }
    }
    let (document_signer, signature_algorithm) = object.verify_signature()?;
    Ok(SignedSecurityObject {
        data_groups: data_groups.iter().map(|(n, _)| *n).collect(),
        hash_algorithm: object.hash_algorithm,
        signature_algorithm,
        document_signer,
    })
}

/// Runs passive authentication of `data_groups` (`(number, file bytes)`) against `sod`, with
/// the Document Signer chained to one of `cscas` at `time` (Unix seconds).
pub fn passive_authentication(
    sod: &[u8],
    data_groups: &[(u8, &[u8])],
    cscas: &[TrustAnchor],
    time: u64,
) -> Result<PassiveAuthentication, IcaoError> {
    let signed = verify_security_object(sod, data_groups)?;
    let chain = x509::validate_chain(
        &[signed.document_signer.to_vec()],
        cscas,
        &ChainPolicy::at(time).require_digital_signature(),
    )
    .map_err(IcaoError::Chain)?;
    Ok(PassiveAuthentication {
        data_groups: signed.data_groups,
        hash_algorithm: signed.hash_algorithm,
        signature_algorithm: signed.signature_algorithm,
        document_signer: chain.leaf_subject(),
        csca: chain.anchor_subject(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/vectors/bsi-tr-03105-5/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    /// The BSI TR-03105-5 reference data set: a real-world encoding (RSASSA-PSS, SHA-256,
    /// IssuerAndSerialNumber), whose Document Signer certificate was valid in 2014.
    #[test]
    fn bsi_reference_data_set() {
        let sod = vector("EF_SOD.bin");
        let (dg1, dg2, dg14) = (
            vector("EF_DG1.bin"),
            vector("EF_DG2.bin"),
            vector("EF_DG14.bin"),
        );
        let signed = verify_security_object(&sod, &[(1, &dg1), (2, &dg2), (14, &dg14)]).unwrap();
        assert_eq!(signed.hash_algorithm, HashAlgorithm::Sha256);
        assert_eq!(signed.signature_algorithm, SignatureAlgorithm::RsaPssSha256);
        let object = SecurityObject::parse(&sod).unwrap();
        let listed: Vec<u8> = object.data_group_hashes.iter().map(|(n, _)| *n).collect();
        assert_eq!(listed, [1, 2, 3, 14, 4]);
        let mrz = mrz::mrz_text(&dg1).unwrap();
        assert!(mrz.starts_with("P<D<<MUSTERMANN<<ERIKA"), "{mrz}");

        // One altered byte of DG1 (in the MRZ) breaks its hash.
        let mut altered = dg1.clone();
        let last = altered.len() - 2;
        altered[last] ^= 1;
        assert_eq!(
            verify_security_object(&sod, &[(1, &altered)]),
            Err(IcaoError::DataGroupHash(1))
        );
        // The BSI's CSCA is not published: at a time the certificate was valid the chain stops
        // at an untrusted issuer; after 2014-12-11 the Document Signer has expired.
        let factory = dev::CardFactory::valid_at(1_400_000_000).unwrap();
        let cscas = TrustAnchor::from_pem(&factory.csca_pem()).unwrap();
        let during = 1_402_000_000; // 2014-06-05
        assert_eq!(
            passive_authentication(&sod, &[(1, &dg1)], &cscas, during),
            Err(IcaoError::Chain(X509Error::UntrustedChain))
        );
        assert!(matches!(
            passive_authentication(&sod, &[(1, &dg1)], &cscas, 1_800_000_000),
            Err(IcaoError::Chain(
                X509Error::Expired { .. } | X509Error::NotYetValid { .. }
            ))
        ));
    }

    #[test]
    fn no_input_panics() {
        let sod = vector("EF_SOD.bin");
        for len in 0..sod.len() {
            assert!(SecurityObject::parse(&sod[..len]).is_err());
        }
        for i in (0..sod.len()).step_by(7) {
            let mut bent = sod.clone();
            bent[i] ^= 0x55;
            let _ = verify_security_object(&bent, &[]);
        }
    }
}
