//! Revocation of a certificate at a point in time, from data the host supplies: a CRL
//! (RFC 5280 section 5) or an OCSP response (RFC 6960). Sans-I/O, like the rest of `x509`: the
//! host fetches, this module checks the issuer's signature, the freshness (a maximum age, as for
//! status lists) and reads the entry.
//!
//! The answer is about a time `at` (a time-stamp's genTime, or the verification time): a
//! certificate revoked after `at` was good then. For a past `at`, data issued before it cannot
//! speak for it and answers [`RevocationStatus::Unknown`]; for `at` = now, fresh data (within
//! the maximum age) is taken as current.

use der::{Decode, Encode};
use x509_cert::{Certificate, crl::CertificateList, time::Time};
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId};

use super::{
    ChainPolicy, SignatureAlgorithm, TrustAnchor, X509Error, validate_chain, verify_signature,
};

/// id-kp-OCSPSigning: what a delegated OCSP responder's certificate lists.
pub const EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const ID_PKIX_OCSP_BASIC: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const ID_SHA1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// A certificate's status at the time asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked at that time.
    Good,
    /// Revoked at or before that time (the revocation time, Unix seconds).
    Revoked {
        /// When the issuer recorded the revocation.
        at: u64,
    },
    /// The data cannot tell (the responder does not know the certificate, or the data predates
    /// the time asked about).
    Unknown,
}

/// Why revocation data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// Not a DER (or PEM) CRL or OCSP response.
    #[error("malformed revocation data: {0}")]
    Malformed(String),
    /// The CRL or response is not signed by the certificate's issuer (or its delegated
    /// responder), or the signature does not verify.
    #[error("revocation data not signed by the certificate's issuer: {0}")]
    BadSignature(String),
    /// The data was issued for another CA.
    #[error("revocation data from another issuer")]
    WrongIssuer,
    /// The OCSP response does not answer for this certificate.
    #[error("the OCSP response does not name this certificate")]
    NotAnswered,
    /// The responder did not answer successfully (its status).
    #[error("OCSP responder status {0}")]
    Unsuccessful(u8),
    /// The data is older than the maximum age, past its nextUpdate, or from the future.
    #[error("revocation data is stale (issued at {issued_at})")]
    Stale {
        /// thisUpdate (or producedAt), Unix seconds.
        issued_at: u64,
    },
}

impl From<der::Error> for RevocationError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// Limits on revocation data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// The verification time, Unix seconds.
    pub now: u64,
    /// The oldest thisUpdate accepted, as an age in seconds at `now`.
    pub max_age: u64,
    /// Clock skew tolerated for data dated in the future, seconds.
    pub skew: u64,
}

fn seconds(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

fn check_fresh(
    this_update: u64,
    next_update: Option<u64>,
    freshness: &Freshness,
) -> Result<(), RevocationError> {
    let stale = RevocationError::Stale {
        issued_at: this_update,
    };
    if this_update > freshness.now.saturating_add(freshness.skew)
        || freshness.now.saturating_sub(this_update) > freshness.max_age
        || next_update.is_some_and(|next| next.saturating_add(freshness.skew) < freshness.now)
    {
        return Err(stale);
    }
    Ok(())
}

fn signature_algorithm(
    identifier: &x509_cert::spki::AlgorithmIdentifierOwned,
) -> Result<SignatureAlgorithm, RevocationError> {
    SignatureAlgorithm::from_algorithm_identifier_der(&identifier.to_der()?)
        .map_err(|e| RevocationError::BadSignature(e.to_string()))
}

fn verify_by(
    signer: &Certificate,
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), RevocationError> {
    let spki = signer.tbs_certificate.subject_public_key_info.to_der()?;
    verify_signature(&spki, algorithm, message, signature)
        .map_err(|e| RevocationError::BadSignature(e.to_string()))
}

/// Reads a CRL given as DER or PEM (`X509 CRL` block).
pub fn crl_from_der_or_pem(bytes: &[u8]) -> Result<Vec<u8>, RevocationError> {
    if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(u8::is_ascii) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| RevocationError::Malformed("neither DER nor PEM".into()))?;
        for block in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
            let block = block.map_err(|e| RevocationError::Malformed(e.to_string()))?;
            if block.label == "X509 CRL" {
                return Ok(block.contents);
            }
        }
        return Err(RevocationError::Malformed("no X509 CRL block".into()));
    }
    Ok(bytes.to_vec())
}

/// The status of `certificate` at `at` from a DER CRL issued by `issuer` (the certificate's
/// issuing CA, whose key signs the CRL).
pub fn crl_status(
    crl_der: &[u8],
    certificate: &[u8],
    issuer: &[u8],
    at: u64,
    freshness: &Freshness,
) -> Result<RevocationStatus, RevocationError> {
    let crl = CertificateList::from_der(crl_der)?;
    let certificate = Certificate::from_der(certificate)?;
    let issuer = Certificate::from_der(issuer)?;
    if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject
        || certificate.tbs_certificate.issuer != issuer.tbs_certificate.subject
    {
        return Err(RevocationError::WrongIssuer);
    }
    if crl.signature_algorithm != crl.tbs_cert_list.signature {
        return Err(RevocationError::BadSignature(
            "inner and outer algorithms differ".into(),
        ));
    }
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| RevocationError::Malformed("signature bit string".into()))?;
    verify_by(
        &issuer,
        signature_algorithm(&crl.signature_algorithm)?,
        &crl.tbs_cert_list.to_der()?,
        signature,
    )?;
    let this_update = seconds(&crl.tbs_cert_list.this_update);
    check_fresh(
        this_update,
        crl.tbs_cert_list.next_update.as_ref().map(seconds),
        freshness,
    )?;
    let serial = &certificate.tbs_certificate.serial_number;
    let entry = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .find(|entry| &entry.serial_number == serial);
    Ok(match entry {
        Some(entry) if seconds(&entry.revocation_date) <= at => RevocationStatus::Revoked {
            at: seconds(&entry.revocation_date),
        },
        // Revoked after `at`: good at `at`.
        Some(_) => RevocationStatus::Good,
        // A CRL issued before `at` says nothing of what happened between it and `at`.
        None if this_update < at && at < freshness.now => RevocationStatus::Unknown,
        None => RevocationStatus::Good,
    })
}

/// The status of `certificate` at `at` from a DER OCSPResponse. The response is signed by the
/// issuer itself or by a responder certificate it carries, issued by the issuer for
/// OCSPSigning (RFC 6960 section 4.2.2.2), valid at `freshness.now`.
pub fn ocsp_status(
    response_der: &[u8],
    certificate: &[u8],
    issuer: &[u8],
    at: u64,
    freshness: &Freshness,
) -> Result<RevocationStatus, RevocationError> {
    let response = OcspResponse::from_der(response_der)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(RevocationError::Unsuccessful(
            response.response_status as u8,
        ));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| RevocationError::Malformed("no response bytes".into()))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(RevocationError::Malformed(
            "not a basic OCSP response".into(),
        ));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())?;
    let certificate = Certificate::from_der(certificate)?;
    let issuer_der = issuer;
    let issuer = Certificate::from_der(issuer)?;
    if certificate.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(RevocationError::WrongIssuer);
    }

    // Who signed: the issuer, or a delegated responder it certified.
    let responder_matches = |candidate: &Certificate| match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => *name == candidate.tbs_certificate.subject,
        ResponderId::ByKey(hash) => {
            let key = candidate
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes();
            sha1(key).as_slice() == hash.as_bytes()
        }
    };
    let signer = if responder_matches(&issuer) {
        issuer.clone()
    } else {
        let delegated = basic
            .certs
            .iter()
            .flatten()
            .find(|c| responder_matches(c))
            .ok_or_else(|| RevocationError::BadSignature("unknown responder".into()))?;
        let delegated_der = delegated.to_der()?;
        let anchor = TrustAnchor::from_der(issuer_der)
            .map_err(|e| RevocationError::BadSignature(e.to_string()))?;
        validate_chain(
            &[delegated_der],
            &[anchor],
            &ChainPolicy::at(freshness.now)
                .require_digital_signature()
                .require_eku(EKU_OCSP_SIGNING),
        )
        .map_err(|e: X509Error| RevocationError::BadSignature(e.to_string()))?;
        delegated.clone()
    };
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| RevocationError::Malformed("signature bit string".into()))?;
    verify_by(
        &signer,
        signature_algorithm(&basic.signature_algorithm)?,
        &basic.tbs_response_data.to_der()?,
        signature,
    )?;

    let issuer_name = issuer.tbs_certificate.subject.to_der()?;
    let issuer_key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|single| {
            let id = &single.cert_id;
            let hash: fn(&[u8]) -> Vec<u8> = match id.hash_algorithm.oid {
                ID_SHA1 => |data| sha1(data).to_vec(),
                ID_SHA256 => |data| crate::jose::sha256(data).to_vec(),
                _ => return false,
            };
            id.serial_number == certificate.tbs_certificate.serial_number
                && id.issuer_name_hash.as_bytes() == hash(&issuer_name)
                && id.issuer_key_hash.as_bytes() == hash(issuer_key)
        })
        .ok_or(RevocationError::NotAnswered)?;
    let this_update = single.this_update.0.to_unix_duration().as_secs();
    check_fresh(
        this_update,
        single
            .next_update
            .map(|next| next.0.to_unix_duration().as_secs()),
        freshness,
    )?;
    Ok(match single.cert_status {
        CertStatus::Revoked(info) => {
            let revoked_at = info.revocation_time.0.to_unix_duration().as_secs();
            if revoked_at <= at {
                RevocationStatus::Revoked { at: revoked_at }
            } else {
                RevocationStatus::Good
            }
        }
        CertStatus::Good(_) if this_update < at && at < freshness.now => RevocationStatus::Unknown,
        CertStatus::Good(_) => RevocationStatus::Good,
        CertStatus::Unknown(_) => RevocationStatus::Unknown,
    })
}

/// SHA-1, for OCSP CertIDs and responder key hashes only (RFC 6960's default; not a signature).
fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}
