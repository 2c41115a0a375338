//! The time-stamp authority (RFC 3161), `POST /tsa` (`application/timestamp-query` in,
//! `application/timestamp-reply` out).
//!
//! A token is a CMS SignedData (RFC 5652) over a `TSTInfo`: the message imprint of the query,
//! the configured policy, a fresh serial number, the time, the query's nonce. Its signer is the
//! TSA key (its own certificate, extendedKeyUsage timeStamping, critical), identified by issuer
//! and serial and bound by a `signingCertificateV2` attribute (RFC 5816); when the query sets
//! `certReq` the token carries the TSA's certificate and its intermediates (never the root).
//! A query this TSA cannot honour gets a `rejection` status with the RFC 3161 failure reason.

use cmpv2::status::{PkiFailureInfoValues, PkiStatus, PkiStatusInfo};
use cms::{
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::{CmsVersion, ContentInfo},
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{
    Any, Decode, Encode, Sequence, Tag,
    asn1::{Int, ObjectIdentifier, OctetString, SetOfVec},
};
use ring::digest;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::{CaError, SigningAuthority, generalized_time, sha, sign_der};

/// `id-ct-TSTInfo` (RFC 3161 2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Why a query was refused: the RFC 3161 `PKIFailureInfo` bit answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryRefusal {
    /// The query does not parse (`badDataFormat`).
    #[error("the time-stamp query does not parse")]
    BadDataFormat,
    /// The imprint's hash algorithm is not one we accept, or its length is wrong (`badAlg`).
    #[error("unsupported or inconsistent message imprint algorithm")]
    BadAlgorithm,
    /// The query asks for another policy (`unacceptedPolicy`).
    #[error("the requested TSA policy is not ours")]
    UnacceptedPolicy,
    /// The query carries extensions (`unacceptedExtension`).
    #[error("time-stamp query extensions are not supported")]
    UnacceptedExtension,
}

impl QueryRefusal {
    fn failure(self) -> PkiFailureInfoValues {
        match self {
            Self::BadDataFormat => PkiFailureInfoValues::BadDataFormat,
            Self::BadAlgorithm => PkiFailureInfoValues::BadAlg,
            Self::UnacceptedPolicy => PkiFailureInfoValues::UnacceptedPolicy,
            Self::UnacceptedExtension => PkiFailureInfoValues::UnacceptedExtension,
        }
    }
}

/// The hash algorithms an imprint may use, and their digest lengths.
fn imprint_length(algorithm: &ObjectIdentifier) -> Option<usize> {
    match *algorithm {
        const_oid::db::rfc5912::ID_SHA_256 => Some(32),
        const_oid::db::rfc5912::ID_SHA_384 => Some(48),
        const_oid::db::rfc5912::ID_SHA_512 => Some(64),
        _ => None,
    }
}

/// Reads and checks a query.
pub fn read_query(query: &[u8], policy: &ObjectIdentifier) -> Result<TimeStampReq, QueryRefusal> {
    let query = TimeStampReq::from_der(query).map_err(|_| QueryRefusal::BadDataFormat)?;
    let imprint = &query.message_imprint;
    if imprint_length(&imprint.hash_algorithm.oid) != Some(imprint.hashed_message.as_bytes().len())
    {
        return Err(QueryRefusal::BadAlgorithm);
    }
    if query
        .req_policy
        .is_some_and(|requested| requested != *policy)
    {
        return Err(QueryRefusal::UnacceptedPolicy);
    }
    if query.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(QueryRefusal::UnacceptedExtension);
    }
    Ok(query)
}

/// `ESSCertIDv2` (RFC 5035) with the default hash algorithm (SHA-256) and no issuer serial.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, ... }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A fresh serial number: the time in microseconds then 8 random bytes (unique without any
/// shared state: two tokens in one microsecond differ in 64 random bits), as the minimal
/// content of a positive DER INTEGER.
pub fn new_serial(now_micros: u64) -> Vec<u8> {
    let mut bytes = now_micros.to_be_bytes().to_vec();
    bytes.extend_from_slice(&crate::platform::secrets::random_bytes::<8>());
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut serial = Vec::with_capacity(bytes.len() + 1);
    if bytes.get(start).is_some_and(|b| *b >= 0x80) {
        serial.push(0);
    }
    serial.extend_from_slice(&bytes[start..]);
    serial
}

/// Answers a query (DER) at `now` (Unix seconds) with `serial`: the DER `TimeStampResp`.
pub fn respond(
    authority: &SigningAuthority,
    query: &[u8],
    now: i64,
    serial: &[u8],
) -> Result<Vec<u8>, CaError> {
    let response = match read_query(query, &authority.tsa_policy) {
        Ok(query) => TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token(authority, &query, now, serial)?),
        },
        Err(refusal) => TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection,
                status_string: None,
                fail_info: Some(refusal.failure().into()),
            },
            time_stamp_token: None,
        },
    };
    Ok(response.to_der()?)
}

/// Answers a query (DER) now: the DER `TimeStampResp`.
pub fn stamp(authority: &SigningAuthority, query: &[u8]) -> Result<Vec<u8>, CaError> {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let now = i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX);
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    respond(authority, query, now, &new_serial(micros))
}

/// The signed token for a checked query.
fn token(
    authority: &SigningAuthority,
    query: &TimeStampReq,
    now: i64,
    serial: &[u8],
) -> Result<ContentInfo, CaError> {
    let info = TstInfo {
        version: TspVersion::V1,
        policy: authority.tsa_policy,
        message_imprint: MessageImprint {
            hash_algorithm: query.message_imprint.hash_algorithm.clone(),
            hashed_message: query.message_imprint.hashed_message.clone(),
        },
        serial_number: Int::new(serial)?,
        gen_time: generalized_time(now)?,
        accuracy: Some(x509_tsp::Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: query.nonce.clone(),
        tsa: None,
        extensions: None,
    }
    .to_der()?;
    let tsa = authority.tsa();
    let sha256 = AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_256,
        parameters: None,
    };
    let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, CaError> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha(&digest::SHA256, tsa.certificate()))?,
        }],
    };
    let signed_attributes: SetOfVec<Attribute> = SetOfVec::try_from(vec![
        attribute(
            const_oid::db::rfc5911::ID_CONTENT_TYPE,
            Any::encode_from(&ID_CT_TST_INFO)?,
        )?,
        attribute(
            const_oid::db::rfc5911::ID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, sha(&digest::SHA256, &info))?,
        )?,
        attribute(
            const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
            Any::encode_from(&signing_certificate)?,
        )?,
    ])?;
    // RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF.
    let signature = sign_der(&tsa.signer, &signed_attributes.to_der()?)?;
    let certificate = &authority.tsa_certificate;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: certificate.tbs_certificate.issuer.clone(),
            serial_number: certificate.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attributes),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: super::ECDSA_WITH_SHA256,
            parameters: None,
        },
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let certificates = if query.cert_req {
        let choices = tsa
            .chain
            .iter()
            .map(|der| {
                Ok(CertificateChoices::Certificate(
                    x509_cert::Certificate::from_der(der)?,
                ))
            })
            .collect::<Result<Vec<_>, CaError>>()?;
        Some(CertificateSet(SetOfVec::try_from(choices)?))
    } else {
        None
    };
    let signed_data = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![sha256])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, info)?),
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer])?),
    };
    Ok(ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = new_serial(1);
        let b = new_serial(1);
        assert_eq!(a[0], 1, "leading zero bytes dropped");
        assert_eq!(a.len(), 9);
        assert_ne!(a, b);
        let high = new_serial(u64::MAX);
        assert_eq!(high[0], 0, "a high first bit gets a zero byte");
        assert_eq!(high.len(), 17);
        assert!(Int::new(&a).is_ok() && Int::new(&high).is_ok());
    }
}
