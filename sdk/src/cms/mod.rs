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
    content_info::ContentInfo,
    signed_data::{SignedData, SignerInfos},
};
use der::{
    Decode, Encode,
    asn1::{Any, ObjectIdentifier, SetOfVec, UtcTime},
};
use x509_cert::{attr::Attribute, time::Time};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{
    jose::{JoseError, JwsSigner, PublicKey, sha256},
    x509::{
        SignatureAlgorithm, X509Error,
        der::{self as der_reader, Reader, Tlv},
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
const ID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

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
    Certificate(X509Error),
    /// The signature already carries a time-stamp.
    #[error("the signature is already time-stamped")]
    AlreadyTimestamped,
}

/// The DER reader's errors name the structure that is malformed.
impl From<X509Error> for CmsError {
    fn from(error: X509Error) -> Self {
        match error {
            X509Error::Malformed(what) => Self::Malformed(what.to_owned()),
            other => Self::Certificate(other),
        }
    }
}

impl From<der::Error> for CmsError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// A signer's certificate chain (leaf first, intermediates after, without the root), checked to
/// certify the signing key, with the DER pieces every signature repeats encoded once.
#[derive(Debug, Clone)]
pub struct SignerChain {
    /// `[0] IMPLICIT SET OF Certificate`, sorted as DER wants.
    certificate_set: Vec<u8>,
    /// `IssuerAndSerialNumber` of the leaf.
    sid: Vec<u8>,
    /// The signing-certificate-v2 attribute naming the leaf.
    signing_certificate: Vec<u8>,
}

impl SignerChain {
    /// Reads the chain and checks that its leaf certifies `public_key`.
    pub fn new(chain_der: &[Vec<u8>], public_key: &PublicKey) -> Result<Self, CmsError> {
        let Some(leaf_der) = chain_der.first() else {
            return Err(CmsError::Certificate(X509Error::EmptyChain));
        };
        for der in chain_der {
            match X509Certificate::from_der(der) {
                Ok((&[], _)) => {}
                Ok(_) => return Err(CmsError::Certificate(X509Error::TrailingData)),
                Err(e) => return Err(CmsError::Certificate(X509Error::Parse(e.to_string()))),
            }
        }
        let (_, leaf) = X509Certificate::from_der(leaf_der)
            .map_err(|e| CmsError::Certificate(X509Error::Parse(e.to_string())))?;
        if leaf.public_key().subject_public_key.data.as_ref() != public_key.sec1_uncompressed() {
            return Err(CmsError::Certificate(X509Error::UnsupportedKey(
                "the leaf certificate is not the signing key's".into(),
            )));
        }
        let mut sorted = chain_der.to_vec();
        sorted.sort();
        let sid = tlv(
            der_reader::SEQUENCE,
            &[
                leaf.issuer().as_raw(),
                &tlv(der_reader::INTEGER, leaf.raw_serial()),
            ]
            .concat(),
        );
        Ok(Self {
            certificate_set: tlv(der_reader::context(0), &sorted.concat()),
            sid,
            signing_certificate: signing_certificate_v2(leaf_der),
        })
    }
}

/// A DER element: `tag`, the definite length, `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
    out.extend_from_slice(content);
    out
}

/// `SEQUENCE { OBJECT IDENTIFIER oid }`: an AlgorithmIdentifier without parameters.
fn algorithm_der(oid: ObjectIdentifier) -> Vec<u8> {
    tlv(der_reader::SEQUENCE, &tlv(der_reader::OID, oid.as_bytes()))
}

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value }` with one value (DER).
fn attribute_der(oid: ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    tlv(
        der_reader::SEQUENCE,
        &[tlv(der_reader::OID, oid.as_bytes()), tlv(SET, value)].concat(),
    )
}

/// Universal tag: SET (constructed).
const SET: u8 = 0x31;
/// Universal tag: OCTET STRING.
const OCTET_STRING: u8 = 0x04;

/// Signing-time as RFC 5652 section 11.3 wants it: UTCTime through 2049, GeneralizedTime after.
fn signing_time_value(unix_seconds: u64) -> Result<Vec<u8>, CmsError> {
    let duration = Duration::from_secs(unix_seconds);
    let time: Time = match UtcTime::from_unix_duration(duration) {
        Ok(utc) => utc.into(),
        Err(_) => der::asn1::GeneralizedTime::from_unix_duration(duration)?.into(),
    };
    Ok(time.to_der()?)
}

/// The signing-certificate-v2 attribute: `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF
/// ESSCertIDv2 }` with one `ESSCertIDv2 ::= SEQUENCE { certHash OCTET STRING }` (hashAlgorithm:
/// its default, SHA-256; issuerSerial left out, as the CAdES baseline recommends).
fn signing_certificate_v2(certificate_der: &[u8]) -> Vec<u8> {
    let hash = tlv(OCTET_STRING, &sha256(certificate_der));
    let value = tlv(
        der_reader::SEQUENCE,
        &tlv(der_reader::SEQUENCE, &tlv(der_reader::SEQUENCE, &hash)),
    );
    attribute_der(ID_SIGNING_CERTIFICATE_V2, &value)
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
    let constants = &*SIGNING_CONSTANTS;
    // message-digest: the constant prefix, then the 32 bytes.
    let mut message_digest = [0u8; MESSAGE_DIGEST_PREFIX_LEN + 32];
    let (prefix, value) = message_digest.split_at_mut(MESSAGE_DIGEST_PREFIX_LEN);
    prefix.copy_from_slice(&constants.message_digest_prefix);
    value.copy_from_slice(digest);
    let time = signing_time
        .map(|time| Ok::<_, CmsError>(attribute_der(ID_SIGNING_TIME, &signing_time_value(time)?)))
        .transpose()?;
    let mut attributes: [&[u8]; 4] = [
        &constants.content_type,
        &message_digest,
        &chain.signing_certificate,
        time.as_deref().unwrap_or_default(),
    ];
    let attributes = &mut attributes[..if time.is_some() { 4 } else { 3 }];
    // DER orders a SET OF by the encodings of its elements.
    attributes.sort_unstable();
    let attributes_len: usize = attributes.iter().map(|a| a.len()).sum();
    // RFC 5652 section 5.4: the signature covers the DER of the attributes as a SET OF; the
    // SignerInfo carries the same bytes under the tag [0] IMPLICIT.
    let mut signed_attrs = Vec::with_capacity(header_len(attributes_len) + attributes_len);
    push_header(&mut signed_attrs, SET, attributes_len);
    for attribute in attributes.iter() {
        signed_attrs.extend_from_slice(attribute);
    }
    let raw = signer.sign(&signed_attrs).map_err(|e| match e {
        JoseError::Signing(why) => CmsError::Signing(why),
        other => CmsError::Signing(other.to_string()),
    })?;
    let signature = ecdsa_der(&raw)?;

    // Lengths inside out, then one buffer written outside in (no piece copied twice).
    let version = [der_reader::INTEGER, 1, 1];
    let signature_field = header_len(signature.len()) + signature.len();
    let signer_info_len = version.len()
        + chain.sid.len()
        + constants.sha256_algorithm.len()
        + signed_attrs.len()
        + constants.ecdsa_algorithm.len()
        + signature_field;
    let signer_infos_len = header_len(signer_info_len) + signer_info_len;
    let signed_data_len = version.len()
        + constants.digest_algorithms.len()
        + constants.encapsulated_data.len()
        + chain.certificate_set.len()
        + header_len(signer_infos_len)
        + signer_infos_len;
    let explicit_len = header_len(signed_data_len) + signed_data_len;
    let content_info_len =
        constants.signed_data_oid.len() + header_len(explicit_len) + explicit_len;
    let mut out = Vec::with_capacity(header_len(content_info_len) + content_info_len);
    push_header(&mut out, der_reader::SEQUENCE, content_info_len);
    out.extend_from_slice(&constants.signed_data_oid);
    push_header(&mut out, der_reader::context(0), explicit_len);
    push_header(&mut out, der_reader::SEQUENCE, signed_data_len);
    out.extend_from_slice(&version);
    out.extend_from_slice(&constants.digest_algorithms);
    out.extend_from_slice(&constants.encapsulated_data);
    out.extend_from_slice(&chain.certificate_set);
    push_header(&mut out, SET, signer_infos_len);
    push_header(&mut out, der_reader::SEQUENCE, signer_info_len);
    out.extend_from_slice(&version);
    out.extend_from_slice(&chain.sid);
    out.extend_from_slice(&constants.sha256_algorithm);
    let signed_attrs_at = out.len();
    out.extend_from_slice(&signed_attrs);
    if let Some(tag) = out.get_mut(signed_attrs_at) {
        *tag = der_reader::context(0);
    }
    out.extend_from_slice(&constants.ecdsa_algorithm);
    push_header(&mut out, OCTET_STRING, signature.len());
    out.extend_from_slice(&signature);
    Ok(out)
}

/// The length of a DER header (tag and definite length) for content of `len` bytes.
fn header_len(len: usize) -> usize {
    if len < 0x80 {
        2
    } else {
        2 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// Appends the DER header of `tag` with content of `len` bytes (as [`tlv`] writes it).
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

/// `SEQUENCE { OID message-digest, SET {` and the OCTET STRING header of a SHA-256 digest.
const MESSAGE_DIGEST_PREFIX_LEN: usize = 17;

/// The DER pieces every signature repeats, encoded once.
struct SigningConstants {
    content_type: Vec<u8>,
    message_digest_prefix: [u8; MESSAGE_DIGEST_PREFIX_LEN],
    sha256_algorithm: Vec<u8>,
    ecdsa_algorithm: Vec<u8>,
    digest_algorithms: Vec<u8>,
    encapsulated_data: Vec<u8>,
    signed_data_oid: Vec<u8>,
}

static SIGNING_CONSTANTS: std::sync::LazyLock<SigningConstants> = std::sync::LazyLock::new(|| {
    let sha256_algorithm = algorithm_der(ID_SHA256);
    let message_digest = attribute_der(ID_MESSAGE_DIGEST, &tlv(OCTET_STRING, &[0; 32]));
    let mut message_digest_prefix = [0u8; MESSAGE_DIGEST_PREFIX_LEN];
    message_digest_prefix.copy_from_slice(
        message_digest
            .get(..MESSAGE_DIGEST_PREFIX_LEN)
            .unwrap_or(&[0; MESSAGE_DIGEST_PREFIX_LEN]),
    );
    SigningConstants {
        content_type: attribute_der(ID_CONTENT_TYPE, &tlv(der_reader::OID, ID_DATA.as_bytes())),
        message_digest_prefix,
        digest_algorithms: tlv(SET, &sha256_algorithm),
        sha256_algorithm,
        ecdsa_algorithm: algorithm_der(ID_ECDSA_SHA256),
        encapsulated_data: tlv(
            der_reader::SEQUENCE,
            &tlv(der_reader::OID, ID_DATA.as_bytes()),
        ),
        signed_data_oid: tlv(der_reader::OID, ID_SIGNED_DATA.as_bytes()),
    }
});

fn signed_data_of(cms_der: &[u8]) -> Result<SignedData, CmsError> {
    let content_info = ContentInfo::from_der(cms_der)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed("not SignedData".into()));
    }
    Ok(content_info.content.decode_as::<SignedData>()?)
}

/// The signature value of a CMS signature's one signer: what an RFC 3161 time-stamp of the
/// signature covers (`tsp::TimeStampQuery::for_signature`).
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    Ok(CmsSignature::parse(cms_der)?.signature)
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
    let mut values = SetOfVec::new();
    values.insert(token)?;
    unsigned.insert(Attribute {
        oid: ID_SIGNATURE_TIME_STAMP,
        values,
    })?;
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
    signer_spki: Vec<u8>,
}

/// A digest algorithm of a SignerInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha256 => sha256(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// The attributes of a SignerInfo, each `(type OID content, values)`, as read.
struct Attributes<'a>(Vec<(&'a [u8], Vec<Tlv<'a>>)>);

impl<'a> Attributes<'a> {
    /// Reads the content of a `SET OF Attribute`.
    fn read(content: &'a [u8]) -> Result<Self, CmsError> {
        let mut attributes = Vec::new();
        let mut set = Reader::new(content, "attributes");
        while !set.is_empty() {
            let attribute = set.expect(der_reader::SEQUENCE)?;
            let mut fields = Reader::new(attribute.value, "attribute");
            let oid = fields.expect(der_reader::OID)?;
            let values = fields.expect(SET)?;
            fields.finish()?;
            let mut items = Reader::new(values.value, "attribute values");
            let mut list = Vec::new();
            while !items.is_empty() {
                list.push(items.next_tlv()?);
            }
            attributes.push((oid.value, list));
        }
        Ok(Self(attributes))
    }

    /// The one value of the attribute `oid`; `None` when absent, an error when repeated or
    /// multi-valued (RFC 5652 section 11).
    fn single(
        &self,
        oid: ObjectIdentifier,
        name: &'static str,
    ) -> Result<Option<Tlv<'a>>, CmsError> {
        let mut found = self.0.iter().filter(|(id, _)| *id == oid.as_bytes());
        let Some((_, values)) = found.next() else {
            return Ok(None);
        };
        match (found.next(), values.as_slice()) {
            (None, [value]) => Ok(Some(*value)),
            _ => Err(CmsError::Attribute(name)),
        }
    }

    /// Every value of every attribute `oid`.
    fn all(&self, oid: ObjectIdentifier) -> impl Iterator<Item = &Tlv<'a>> {
        self.0
            .iter()
            .filter(move |(id, _)| *id == oid.as_bytes())
            .flat_map(|(_, values)| values.iter())
    }
}

/// The OID content of an AlgorithmIdentifier, and whether its parameters are absent or NULL.
fn algorithm_oid(identifier: &[u8]) -> Result<(&[u8], bool), CmsError> {
    let mut outer = Reader::new(identifier, "algorithm identifier");
    let sequence = outer.expect(der_reader::SEQUENCE)?;
    outer.finish()?;
    let mut fields = Reader::new(sequence.value, "algorithm identifier");
    let oid = fields.expect(der_reader::OID)?;
    let parameters = fields.optional(der_reader::NULL)?;
    fields.finish()?;
    Ok((
        oid.value,
        parameters.is_none_or(|null| null.value.is_empty()),
    ))
}

fn digest_algorithm(identifier: &[u8]) -> Result<DigestAlgorithm, CmsError> {
    let (oid, _) = algorithm_oid(identifier)?;
    [
        (ID_SHA256, DigestAlgorithm::Sha256),
        (ID_SHA384, DigestAlgorithm::Sha384),
        (ID_SHA512, DigestAlgorithm::Sha512),
    ]
    .into_iter()
    .find(|(id, _)| id.as_bytes() == oid)
    .map(|(_, algorithm)| algorithm)
    .ok_or_else(|| {
        CmsError::Unsupported(format!(
            "digest algorithm {}",
            der_reader::oid_to_dotted(oid).unwrap_or_default()
        ))
    })
}

fn signature_algorithm(
    identifier: &[u8],
    digest: DigestAlgorithm,
) -> Result<SignatureAlgorithm, CmsError> {
    let (oid, params_absent_or_null) = algorithm_oid(identifier)?;
    // RFC 3370 section 3.2: CMS may name RSA PKCS#1 v1.5 by the key's OID and the digest.
    if oid == ID_RSA_ENCRYPTION.as_bytes() && params_absent_or_null {
        return Ok(match digest {
            DigestAlgorithm::Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
            DigestAlgorithm::Sha384 => SignatureAlgorithm::RsaPkcs1Sha384,
            DigestAlgorithm::Sha512 => SignatureAlgorithm::RsaPkcs1Sha512,
        });
    }
    SignatureAlgorithm::from_algorithm_identifier_der(identifier)
        .map_err(|e| CmsError::Unsupported(e.to_string()))
}

/// Whether `certificate` is the one `sid` names (IssuerAndSerialNumber, or `[0]`
/// SubjectKeyIdentifier).
fn matches_sid(certificate: &X509Certificate<'_>, sid: &Tlv<'_>) -> Result<bool, CmsError> {
    if sid.tag == der_reader::SEQUENCE {
        let mut fields = Reader::new(sid.value, "signer identifier");
        let issuer = fields.expect(der_reader::SEQUENCE)?;
        let serial = fields.expect(der_reader::INTEGER)?;
        fields.finish()?;
        return Ok(
            issuer.raw == certificate.issuer().as_raw() && serial.value == certificate.raw_serial()
        );
    }
    if sid.tag == 0x80 {
        use x509_parser::extensions::ParsedExtension;
        return Ok(certificate.extensions().iter().any(|extension| {
            matches!(extension.parsed_extension(),
                ParsedExtension::SubjectKeyIdentifier(id) if id.0 == sid.value)
        }));
    }
    Err(CmsError::Malformed("signer identifier".into()))
}

/// Reads `SigningCertificateV2`: the first ESSCertIDv2's hash algorithm and hash.
fn read_ess_cert_id_v2(value: &Tlv<'_>) -> Result<(DigestAlgorithm, Vec<u8>), CmsError> {
    const WHAT: &str = "signing-certificate-v2";
    let bad = |_| CmsError::Attribute(WHAT);
    if value.tag != der_reader::SEQUENCE {
        return Err(CmsError::Attribute(WHAT));
    }
    let mut fields = Reader::new(value.value, WHAT);
    let certs = fields.expect(der_reader::SEQUENCE).map_err(bad)?;
    let mut certs = Reader::new(certs.value, WHAT);
    let first = certs.expect(der_reader::SEQUENCE).map_err(bad)?;
    let mut id = Reader::new(first.value, WHAT);
    let algorithm = match id.optional(der_reader::SEQUENCE).map_err(bad)? {
        None => DigestAlgorithm::Sha256,
        Some(identifier) => digest_algorithm(identifier.raw)?,
    };
    let hash = id.expect(OCTET_STRING).map_err(bad)?;
    Ok((algorithm, hash.value.to_vec()))
}

impl CmsSignature {
    /// Parses a DER ContentInfo with SignedData and one signer, reading the signed attributes.
    /// content-type and message-digest are required (RFC 5652 section 5.3); other attributes
    /// are read when present. The structure is read in place (definite, minimal DER lengths;
    /// nothing after it), the signed attributes kept as the bytes that were signed.
    pub fn parse(cms_der: &[u8]) -> Result<Self, CmsError> {
        use der_reader::{INTEGER, OID, SEQUENCE, context};
        const WHAT: &str = "CMS";
        let mut outer = Reader::new(cms_der, WHAT);
        let content_info = outer.expect(SEQUENCE)?;
        outer.finish()?;
        let mut fields = Reader::new(content_info.value, WHAT);
        if fields.expect(OID)?.value != ID_SIGNED_DATA.as_bytes() {
            return Err(CmsError::Malformed("not SignedData".into()));
        }
        let explicit = fields.expect(context(0))?;
        fields.finish()?;
        let mut wrapper = Reader::new(explicit.value, WHAT);
        let signed_data = wrapper.expect(SEQUENCE)?;
        wrapper.finish()?;

        let mut fields = Reader::new(signed_data.value, WHAT);
        fields.expect(INTEGER)?;
        fields.expect(SET)?;
        let encapsulated = fields.expect(SEQUENCE)?;
        let certificates = fields.optional(context(0))?;
        fields.optional(context(1))?;
        let signer_infos = fields.expect(SET)?;
        fields.finish()?;

        let mut encap = Reader::new(encapsulated.value, WHAT);
        let econtent_type = encap.expect(OID)?;
        let econtent = match encap.optional(context(0))? {
            None => None,
            Some(explicit) => {
                let mut inner = Reader::new(explicit.value, WHAT);
                let octets = inner.expect(OCTET_STRING)?;
                inner.finish()?;
                Some(octets.value.to_vec())
            }
        };
        encap.finish()?;

        let mut infos = Reader::new(signer_infos.value, WHAT);
        let mut count = 0;
        let mut signer_info = None;
        while !infos.is_empty() {
            signer_info = Some(infos.expect(SEQUENCE)?);
            count += 1;
        }
        let (1, Some(signer_info)) = (count, signer_info) else {
            return Err(CmsError::SignerCount(count));
        };
        let mut info = Reader::new(signer_info.value, WHAT);
        info.expect(INTEGER)?;
        let sid = info.next_tlv()?;
        let digest_identifier = info.expect(SEQUENCE)?;
        let signed = info
            .optional(context(0))?
            .ok_or(CmsError::Attribute("signed attributes"))?;
        let signature_identifier = info.expect(SEQUENCE)?;
        let signature = info.expect(OCTET_STRING)?;
        let unsigned = info.optional(context(1))?;
        info.finish()?;

        let digest = digest_algorithm(digest_identifier.raw)?;
        let signature_algorithm = signature_algorithm(signature_identifier.raw, digest)?;
        let attributes = Attributes::read(signed.value)?;
        let content_type = attributes
            .single(ID_CONTENT_TYPE, "content-type")?
            .filter(|value| value.tag == OID)
            .ok_or(CmsError::Attribute("content-type"))?;
        if content_type.value != econtent_type.value {
            return Err(CmsError::Attribute("content-type"));
        }
        let content_type = ObjectIdentifier::from_bytes(content_type.value)
            .map_err(|_| CmsError::Attribute("content-type"))?;
        let message_digest = attributes
            .single(ID_MESSAGE_DIGEST, "message-digest")?
            .filter(|value| value.tag == OCTET_STRING)
            .ok_or(CmsError::Attribute("message-digest"))?;
        let signing_time = attributes
            .single(ID_SIGNING_TIME, "signing-time")?
            .map(|value| Time::from_der(value.raw))
            .transpose()
            .map_err(|_| CmsError::Attribute("signing-time"))?
            .map(|time| time.to_unix_duration().as_secs());
        let ess_cert_hash = attributes
            .single(ID_SIGNING_CERTIFICATE_V2, "signing-certificate-v2")?
            .as_ref()
            .map(read_ess_cert_id_v2)
            .transpose()?;
        let timestamp_tokens = match unsigned {
            None => Vec::new(),
            Some(unsigned) => Attributes::read(unsigned.value)?
                .all(ID_SIGNATURE_TIME_STAMP)
                .map(|token| token.raw.to_vec())
                .collect(),
        };

        let mut signer = None;
        let mut other_certificates = Vec::new();
        if let Some(certificates) = certificates {
            let mut set = Reader::new(certificates.value, WHAT);
            while !set.is_empty() {
                let choice = set.next_tlv()?;
                // Other certificate formats ([0], [1], [2], [3]) are not used here.
                if choice.tag != SEQUENCE {
                    continue;
                }
                let (rest, parsed) = X509Certificate::from_der(choice.raw)
                    .map_err(|e| CmsError::Malformed(format!("certificate: {e}")))?;
                if !rest.is_empty() {
                    return Err(CmsError::Malformed("certificate".into()));
                }
                if signer.is_none() && matches_sid(&parsed, &sid)? {
                    signer = Some((
                        choice.raw.to_vec(),
                        parsed.tbs_certificate.subject_pki.raw.to_vec(),
                    ));
                } else {
                    other_certificates.push(choice.raw.to_vec());
                }
            }
        }
        let (signer_certificate, signer_spki) = signer.ok_or(CmsError::SignerCertificateMissing)?;
        Ok(Self {
            content_type,
            econtent,
            signer_certificate,
            other_certificates,
            signing_time,
            timestamp_tokens,
            signature: signature.value.to_vec(),
            message_digest: message_digest.value.to_vec(),
            digest,
            signature_algorithm,
            signed_attrs_der: tlv(SET, signed.value),
            ess_cert_hash,
            signer_spki,
        })
    }

    /// Checks the signature over the signed attributes with the signer certificate's key, and
    /// the signing-certificate-v2 attribute (when present) against that certificate.
    pub fn verify_signature(&self) -> Result<(), CmsError> {
        verify_signature(
            &self.signer_spki,
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
