//! CMS (RFC 5652) detached SignedData with the CAdES baseline attributes (ETSI EN 319 122-1):
//! **B-B** (content-type, message-digest, signing-time, signing-certificate-v2 of RFC 5035) and
//! **B-T** (an RFC 3161 time-stamp token over the signature value, added afterwards as the
//! unsigned signature-time-stamp attribute, so an app that signed offline adds it when back
//! online).
//!
//! Signing goes through a [`JwsSigner`] (an in-memory key, or a platform keystore key through
//! `wallet::KeyStoreSigner`): the private key never reaches this module. Verification is done by
//! hand on the `cms` crate's parsed structures (it has no verify API); [`CmsSignature`] exposes
//! each checked part so the `signatures` facade can make its verdict. One signer, SHA-256 and
//! ECDSA (RSA for time-stamp authorities) only.

use std::time::Duration;

use cms::{
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::{CmsVersion, ContentInfo},
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{
    Decode, Encode,
    asn1::{Any, ObjectIdentifier, OctetString, SetOfVec, UtcTime},
};
use x509_cert::{
    Certificate,
    attr::Attribute,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
    time::Time,
};

use crate::{
    jose::{JoseError, JwsSigner, PublicKey, sha256},
    x509::{
        SignatureAlgorithm, X509Error,
        der::{self as der_reader, Reader},
        verify_signature,
    },
};

#[cfg(test)]
mod tests;

/// id-signedData (RFC 5652 section 5.1).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-data (RFC 5652 section 4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-ct-TSTInfo (RFC 3161 section 2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035 section 3).
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
pub const ID_SIGNATURE_TIME_STAMP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-sha256.
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// Why a CMS signature could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmsError {
    /// The bytes are not a DER ContentInfo holding SignedData (truncated, or another structure).
    #[error("malformed CMS: {0}")]
    Malformed(String),
    /// An algorithm or a structure this implementation does not accept (names it).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Not exactly one SignerInfo.
    #[error("expected one signer, found {0}")]
    SignerCount(usize),
    /// The signer's certificate is not among the SignedData's certificates.
    #[error("the signer's certificate is not in the signature")]
    SignerCertificateMissing,
    /// A mandatory signed attribute is absent or appears more than once (names it).
    #[error("signed attribute {0} is missing, repeated or malformed")]
    Attribute(&'static str),
    /// The message-digest attribute does not match the content: the document was changed.
    #[error("the content does not match the signed digest")]
    ContentMismatch,
    /// The signing-certificate-v2 attribute names another certificate than the signer's.
    #[error("the signing-certificate-v2 attribute names another certificate")]
    SigningCertificateMismatch,
    /// The signature does not verify with the signer certificate's key.
    #[error("the signature does not verify")]
    BadSignature,
    /// The signer failed (key unavailable, user cancelled, hardware error).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The certificate chain given to sign with is unusable (its leaf is not the signing key's).
    #[error("signer certificate: {0}")]
    Certificate(#[from] X509Error),
    /// The signature already carries a time-stamp.
    #[error("the signature is already time-stamped")]
    AlreadyTimestamped,
}

impl From<der::Error> for CmsError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// A signer's certificate chain (leaf first, intermediates after, without the root), checked to
/// certify the signing key.
#[derive(Debug, Clone)]
pub struct SignerChain {
    certificates: Vec<Certificate>,
    leaf_der: Vec<u8>,
}

impl SignerChain {
    /// Reads the chain and checks that its leaf certifies `public_key`.
    pub fn new(chain_der: &[Vec<u8>], public_key: &PublicKey) -> Result<Self, CmsError> {
        let Some(leaf_der) = chain_der.first() else {
            return Err(CmsError::Certificate(X509Error::EmptyChain));
        };
        let certificates = chain_der
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CmsError::Certificate(X509Error::Parse(e.to_string())))?;
        let leaf_key = certificates
            .first()
            .map(|leaf| {
                leaf.tbs_certificate
                    .subject_public_key_info
                    .subject_public_key
                    .raw_bytes()
                    .to_vec()
            })
            .unwrap_or_default();
        if leaf_key != public_key.sec1_uncompressed() {
            return Err(CmsError::Certificate(X509Error::UnsupportedKey(
                "the leaf certificate is not the signing key's".into(),
            )));
        }
        Ok(Self {
            certificates,
            leaf_der: leaf_der.clone(),
        })
    }

    fn leaf(&self) -> Result<&Certificate, CmsError> {
        self.certificates
            .first()
            .ok_or(CmsError::Certificate(X509Error::EmptyChain))
    }
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// Signing-time as RFC 5652 section 11.3 wants it: UTCTime through 2049, GeneralizedTime after.
fn signing_time_value(unix_seconds: u64) -> Result<Any, CmsError> {
    let duration = Duration::from_secs(unix_seconds);
    let time: Time = match UtcTime::from_unix_duration(duration) {
        Ok(utc) => utc.into(),
        Err(_) => der::asn1::GeneralizedTime::from_unix_duration(duration)?.into(),
    };
    Ok(Any::encode_from(&time)?)
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }` with one
/// `ESSCertIDv2 ::= SEQUENCE { certHash OCTET STRING }` (hashAlgorithm: its default, SHA-256;
/// issuerSerial left out, as the CAdES baseline recommends).
fn signing_certificate_v2(certificate_der: &[u8]) -> Result<Any, CmsError> {
    let hash = OctetString::new(sha256(certificate_der).to_vec())?;
    let outer: Vec<Vec<Vec<OctetString>>> = vec![vec![vec![hash]]];
    Ok(Any::encode_from(&outer)?)
}

/// ECDSA `r || s` (JOSE's form) as the DER `ECDSA-Sig-Value` CMS and X.509 carry.
pub(crate) fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, CmsError> {
    let Ok(raw) = <&[u8; 64]>::try_from(raw) else {
        return Err(CmsError::Signing(
            "the signer returned a malformed signature".into(),
        ));
    };
    let integer = |half: &[u8]| {
        let trimmed: &[u8] = match half.iter().position(|&b| b != 0) {
            Some(first) => &half[first..],
            None => &[0],
        };
        let mut out = vec![0x02];
        let pad = trimmed.first().is_some_and(|b| b & 0x80 != 0);
        out.push(u8::try_from(trimmed.len() + usize::from(pad)).unwrap_or(0));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(trimmed);
        out
    };
    let (r, s) = raw.split_at(32);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    out.extend_from_slice(&body);
    Ok(out)
}

/// Signs `content` (detached: not embedded) and returns the DER ContentInfo: CAdES B-B.
///
/// `signing_time` is the claimed signing-time (Unix seconds); the certificates of `chain` are
/// embedded so a verifier needs only the root.
pub fn sign_detached(
    content: &[u8],
    signer: &dyn JwsSigner,
    chain: &SignerChain,
    signing_time: u64,
) -> Result<Vec<u8>, CmsError> {
    sign_digest(&sha256(content), signer, chain, Some(signing_time))
}

/// [`sign_detached`] for content already hashed with SHA-256 (a PDF's byte ranges). Without
/// `signing_time` the signing-time attribute is left out (PAdES puts the time in `/M`).
pub fn sign_digest(
    digest: &[u8; 32],
    signer: &dyn JwsSigner,
    chain: &SignerChain,
    signing_time: Option<u64>,
) -> Result<Vec<u8>, CmsError> {
    let leaf = chain.leaf()?;
    let mut signed_attrs = SetOfVec::new();
    signed_attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?)?;
    if let Some(time) = signing_time {
        signed_attrs.insert(attribute(ID_SIGNING_TIME, signing_time_value(time)?)?)?;
    }
    signed_attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(digest.to_vec())?)?,
    )?)?;
    signed_attrs.insert(attribute(
        ID_SIGNING_CERTIFICATE_V2,
        signing_certificate_v2(&chain.leaf_der)?,
    )?)?;
    // RFC 5652 section 5.4: the signature covers the DER of the attributes as a SET OF.
    let signed_attrs_der = signed_attrs.to_der()?;
    let raw = signer.sign(&signed_attrs_der).map_err(|e| match e {
        JoseError::Signing(why) => CmsError::Signing(why),
        other => CmsError::Signing(other.to_string()),
    })?;
    let signature = ecdsa_der(&raw)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: algorithm(ID_SHA256),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm(ID_ECDSA_SHA256),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(algorithm(ID_SHA256))?;
    let mut certificates = SetOfVec::new();
    for certificate in &chain.certificates {
        certificates.insert(CertificateChoices::Certificate(certificate.clone()))?;
    }
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

fn signed_data_of(cms_der: &[u8]) -> Result<SignedData, CmsError> {
    let content_info = ContentInfo::from_der(cms_der)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed("not SignedData".into()));
    }
    Ok(content_info.content.decode_as::<SignedData>()?)
}

fn only_signer(signed_data: &SignedData) -> Result<&SignerInfo, CmsError> {
    match signed_data.signer_infos.0.as_slice() {
        [one] => Ok(one),
        other => Err(CmsError::SignerCount(other.len())),
    }
}

/// The signature value of a CMS signature's one signer: what an RFC 3161 time-stamp of the
/// signature covers (`tsp::TimeStampQuery::for_signature`).
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let signed_data = signed_data_of(cms_der)?;
    Ok(only_signer(&signed_data)?.signature.as_bytes().to_vec())
}

/// Adds `token` (a DER RFC 3161 TimeStampToken) to the one signer as the unsigned
/// signature-time-stamp attribute: B-B becomes B-T. The signed part is left untouched. The token
/// is checked by the verifier, not here (the host may add it before it has the trust anchor).
pub fn add_signature_timestamp(cms_der: &[u8], token: &[u8]) -> Result<Vec<u8>, CmsError> {
    let mut signed_data = signed_data_of(cms_der)?;
    let token = Any::from_der(token)?;
    let mut infos = signed_data.signer_infos.0.into_vec();
    let [signer_info] = infos.as_mut_slice() else {
        return Err(CmsError::SignerCount(infos.len()));
    };
    let mut unsigned = signer_info.unsigned_attrs.take().unwrap_or_default();
    if unsigned.iter().any(|a| a.oid == ID_SIGNATURE_TIME_STAMP) {
        return Err(CmsError::AlreadyTimestamped);
    }
    unsigned.insert(attribute(ID_SIGNATURE_TIME_STAMP, token)?)?;
    signer_info.unsigned_attrs = Some(unsigned);
    signed_data.signer_infos = SignerInfos(SetOfVec::try_from(infos)?);
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

/// A parsed CMS signature with one signer, its signed attributes read. Nothing is trusted yet:
/// [`CmsSignature::verify_signature`] checks the signature, [`CmsSignature::check_content`] the
/// content, and the signer's chain is the caller's to validate.
#[derive(Debug, Clone)]
pub struct CmsSignature {
    /// The encapsulated content type (id-data for documents, id-ct-TSTInfo for time-stamps).
    pub content_type: ObjectIdentifier,
    /// The encapsulated content, when not detached (a time-stamp token's TSTInfo).
    pub econtent: Option<Vec<u8>>,
    /// The signer's certificate, DER.
    pub signer_certificate: Vec<u8>,
    /// The other certificates carried (intermediates, perhaps the root), DER.
    pub other_certificates: Vec<Vec<u8>>,
    /// The signing-time attribute, Unix seconds (absent in time-stamp tokens).
    pub signing_time: Option<u64>,
    /// The DER of each signature-time-stamp unsigned attribute value (time-stamp tokens).
    pub timestamp_tokens: Vec<Vec<u8>>,
    /// The signature value (DER ECDSA-Sig-Value for ECDSA).
    pub signature: Vec<u8>,
    message_digest: Vec<u8>,
    digest: DigestAlgorithm,
    signature_algorithm: SignatureAlgorithm,
    signed_attrs_der: Vec<u8>,
    ess_cert_hash: Option<(DigestAlgorithm, Vec<u8>)>,
}

/// A digest algorithm of a SignerInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    fn from_oid(oid: ObjectIdentifier) -> Result<Self, CmsError> {
        match oid {
            ID_SHA256 => Ok(Self::Sha256),
            ID_SHA384 => Ok(Self::Sha384),
            ID_SHA512 => Ok(Self::Sha512),
            other => Err(CmsError::Unsupported(format!("digest algorithm {other}"))),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha256 => sha256(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// The one value of the attribute `oid` among `attributes`; `None` when absent, an error when
/// repeated or multi-valued (RFC 5652 section 11).
fn single_value<'a>(
    attributes: &'a [Attribute],
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<Option<&'a Any>, CmsError> {
    let mut found = attributes.iter().filter(|a| a.oid == oid);
    let Some(attribute) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attribute.values.len() != 1 {
        return Err(CmsError::Attribute(name));
    }
    Ok(attribute.values.get(0))
}

fn signature_algorithm_of(
    signer_info: &SignerInfo,
    digest: DigestAlgorithm,
) -> Result<SignatureAlgorithm, CmsError> {
    let oid = signer_info.signature_algorithm.oid;
    let params_absent_or_null = signer_info
        .signature_algorithm
        .parameters
        .as_ref()
        .is_none_or(Any::is_null);
    match (oid, digest) {
        (ID_ECDSA_SHA256, _) if signer_info.signature_algorithm.parameters.is_none() => {
            Ok(SignatureAlgorithm::EcdsaSha256)
        }
        (ID_ECDSA_SHA384, _) if signer_info.signature_algorithm.parameters.is_none() => {
            Ok(SignatureAlgorithm::EcdsaSha384)
        }
        // RFC 3370 section 3.2: CMS names RSA PKCS#1 v1.5 by the key's OID and the digest.
        (ID_RSA_ENCRYPTION, DigestAlgorithm::Sha256) if params_absent_or_null => {
            Ok(SignatureAlgorithm::RsaPkcs1Sha256)
        }
        (ID_RSA_ENCRYPTION, DigestAlgorithm::Sha384) if params_absent_or_null => {
            Ok(SignatureAlgorithm::RsaPkcs1Sha384)
        }
        (ID_RSA_ENCRYPTION, DigestAlgorithm::Sha512) if params_absent_or_null => {
            Ok(SignatureAlgorithm::RsaPkcs1Sha512)
        }
        (other, _) => Err(CmsError::Unsupported(format!(
            "signature algorithm {other}"
        ))),
    }
}

fn matches_sid(certificate: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            certificate.tbs_certificate.issuer == id.issuer
                && certificate.tbs_certificate.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => certificate
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == ID_SUBJECT_KEY_IDENTIFIER)
            .any(|e| {
                OctetString::from_der(e.extn_value.as_bytes())
                    .is_ok_and(|id| id.as_bytes() == ski.0.as_bytes())
            }),
    }
}

/// Reads `SigningCertificateV2`: the first ESSCertIDv2's hash algorithm and hash.
fn read_ess_cert_id_v2(value: &Any) -> Result<(DigestAlgorithm, Vec<u8>), CmsError> {
    const WHAT: &str = "signing-certificate-v2";
    let bad = |_| CmsError::Attribute(WHAT);
    let der = value.to_der()?;
    let mut outer = Reader::new(&der, WHAT);
    let signing_certificate = outer.expect(der_reader::SEQUENCE).map_err(bad)?;
    outer.finish().map_err(bad)?;
    let mut fields = Reader::new(signing_certificate.value, WHAT);
    let certs = fields.expect(der_reader::SEQUENCE).map_err(bad)?;
    let mut certs = Reader::new(certs.value, WHAT);
    let first = certs.expect(der_reader::SEQUENCE).map_err(bad)?;
    let mut id = Reader::new(first.value, WHAT);
    let algorithm = match id.optional(der_reader::SEQUENCE).map_err(bad)? {
        None => DigestAlgorithm::Sha256,
        Some(identifier) => {
            let identifier = AlgorithmIdentifierOwned::from_der(identifier.raw)?;
            DigestAlgorithm::from_oid(identifier.oid)?
        }
    };
    let hash = id.expect(0x04).map_err(bad)?;
    Ok((algorithm, hash.value.to_vec()))
}

fn unix_seconds(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

impl CmsSignature {
    /// Parses a DER ContentInfo with SignedData and one signer, reading the signed attributes.
    /// content-type and message-digest are required (RFC 5652 section 5.3); other attributes
    /// are read when present.
    pub fn parse(cms_der: &[u8]) -> Result<Self, CmsError> {
        let signed_data = signed_data_of(cms_der)?;
        let signer_info = only_signer(&signed_data)?;
        let digest = DigestAlgorithm::from_oid(signer_info.digest_alg.oid)?;
        let signature_algorithm = signature_algorithm_of(signer_info, digest)?;
        let Some(signed_attrs) = &signer_info.signed_attrs else {
            return Err(CmsError::Attribute("signed attributes"));
        };
        let attributes = signed_attrs.as_slice();
        let content_type: ObjectIdentifier =
            single_value(attributes, ID_CONTENT_TYPE, "content-type")?
                .ok_or(CmsError::Attribute("content-type"))?
                .decode_as()
                .map_err(|_| CmsError::Attribute("content-type"))?;
        if content_type != signed_data.encap_content_info.econtent_type {
            return Err(CmsError::Attribute("content-type"));
        }
        let message_digest: OctetString =
            single_value(attributes, ID_MESSAGE_DIGEST, "message-digest")?
                .ok_or(CmsError::Attribute("message-digest"))?
                .decode_as()
                .map_err(|_| CmsError::Attribute("message-digest"))?;
        let signing_time = single_value(attributes, ID_SIGNING_TIME, "signing-time")?
            .map(|value| value.to_der().and_then(|der| Time::from_der(&der)))
            .transpose()
            .map_err(|_| CmsError::Attribute("signing-time"))?
            .map(|time| unix_seconds(&time));
        let ess_cert_hash = single_value(
            attributes,
            ID_SIGNING_CERTIFICATE_V2,
            "signing-certificate-v2",
        )?
        .map(read_ess_cert_id_v2)
        .transpose()?;
        let timestamp_tokens = signer_info
            .unsigned_attrs
            .iter()
            .flat_map(|attrs| attrs.iter())
            .filter(|a| a.oid == ID_SIGNATURE_TIME_STAMP)
            .flat_map(|a| a.values.iter())
            .map(Encode::to_der)
            .collect::<Result<Vec<_>, _>>()?;

        let mut signer_certificate = None;
        let mut other_certificates = Vec::new();
        for choice in signed_data.certificates.iter().flat_map(|set| set.0.iter()) {
            let CertificateChoices::Certificate(certificate) = choice else {
                continue;
            };
            let der = certificate.to_der()?;
            if signer_certificate.is_none() && matches_sid(certificate, &signer_info.sid) {
                signer_certificate = Some(der);
            } else {
                other_certificates.push(der);
            }
        }
        let signer_certificate = signer_certificate.ok_or(CmsError::SignerCertificateMissing)?;
        let econtent = signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .map(|any| any.decode_as::<OctetString>())
            .transpose()?
            .map(|octets| octets.as_bytes().to_vec());
        Ok(Self {
            content_type,
            econtent,
            signer_certificate,
            other_certificates,
            signing_time,
            timestamp_tokens,
            signature: signer_info.signature.as_bytes().to_vec(),
            message_digest: message_digest.as_bytes().to_vec(),
            digest,
            signature_algorithm,
            signed_attrs_der: signed_attrs.to_der()?,
            ess_cert_hash,
        })
    }

    /// Checks the signature over the signed attributes with the signer certificate's key, and
    /// the signing-certificate-v2 attribute (when present) against that certificate.
    pub fn verify_signature(&self) -> Result<(), CmsError> {
        let certificate = Certificate::from_der(&self.signer_certificate)?;
        let spki: &SubjectPublicKeyInfoOwned = &certificate.tbs_certificate.subject_public_key_info;
        let spki_der = spki.to_der()?;
        verify_signature(
            &spki_der,
            self.signature_algorithm,
            &self.signed_attrs_der,
            &self.signature,
        )
        .map_err(|e| match e {
            X509Error::BadSignature => CmsError::BadSignature,
            other => CmsError::Unsupported(other.to_string()),
        })?;
        if let Some((algorithm, hash)) = &self.ess_cert_hash
            && algorithm.digest(&self.signer_certificate) != *hash
        {
            return Err(CmsError::SigningCertificateMismatch);
        }
        Ok(())
    }

    /// Whether the signing-certificate-v2 attribute is present (CAdES baseline requires it).
    pub fn has_signing_certificate(&self) -> bool {
        self.ess_cert_hash.is_some()
    }

    /// Checks the message-digest attribute against `content`.
    pub fn check_content(&self, content: &[u8]) -> Result<(), CmsError> {
        self.check_digest_of(&self.digest.digest(content))
    }

    /// Checks the message-digest attribute against a digest computed by the caller with the
    /// signer's digest algorithm (SHA-256 for what this SDK signs).
    pub fn check_digest_of(&self, digest: &[u8]) -> Result<(), CmsError> {
        // Public values both: no constant-time comparison needed.
        if self.message_digest == digest {
            Ok(())
        } else {
            Err(CmsError::ContentMismatch)
        }
    }

    /// Whether the signer hashed with SHA-256 (so a caller's SHA-256 digest can be compared).
    pub fn digest_is_sha256(&self) -> bool {
        self.digest == DigestAlgorithm::Sha256
    }
}
