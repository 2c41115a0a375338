//! The OCSP responder of the signing CA (RFC 6960): `GET /ocsp/{base64 request}` and
//! `POST /ocsp` (`application/ocsp-request`).
//!
//! Answers are made live from the certificates table, so a revocation shows in the answer as
//! soon as its cause commits. The CA signs them itself (RFC 6960 4.2.2.2: the issuing CA may
//! respond), naming itself by key hash and carrying its certificate. A certificate not ours
//! (another issuer's name or key, or a serial we never issued) is `unknown`; a request's nonce
//! is echoed.

use der::{Decode, Encode, asn1::OctetString};
use ring::digest;
use x509_cert::ext::Extension;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};

use super::{CaError, SigningAuthority, generalized_time, sha, sign_der};
use crate::{
    Services,
    store::{SigningStatus, StoreError},
};

/// Most certificates one request may ask about.
pub const MAX_REQUESTS: usize = 20;

/// Why no signed answer could be made: answered with an unsigned OCSP error status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcspError {
    /// The request does not parse, or asks about no certificate or too many.
    #[error("malformed OCSP request")]
    Malformed,
    /// Signing failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The DER `OCSPResponse` answering `request` (DER): signed statuses, or the unsigned
/// `malformedRequest` / `internalError` statuses RFC 6960 4.2.1 defines.
pub async fn respond(services: &Services, request: &[u8]) -> Vec<u8> {
    let response = match answer(services, request).await {
        Ok(response) => response,
        Err(OcspError::Malformed) => OcspResponse::malformed_request(),
        Err(error) => {
            tracing::error!(%error, "OCSP answer failed");
            OcspResponse::internal_error()
        }
    };
    // An OCSPResponse of a status alone always encodes; an empty body would be worse.
    response.to_der().unwrap_or_default()
}

/// The unsigned `malformedRequest` answer (a GET whose path is not base64, say).
pub fn malformed() -> Vec<u8> {
    OcspResponse::malformed_request()
        .to_der()
        .unwrap_or_default()
}

async fn answer(services: &Services, request: &[u8]) -> Result<OcspResponse, OcspError> {
    let request = OcspRequest::from_der(request).map_err(|_| OcspError::Malformed)?;
    let list = &request.tbs_request.request_list;
    if list.is_empty() || list.len() > MAX_REQUESTS {
        return Err(OcspError::Malformed);
    }
    let mut statuses = Vec::with_capacity(list.len());
    for single in list {
        let status = match serial_if_ours(&services.signing, &single.req_cert) {
            Some(serial) => services.store.signing_status(&serial).await?,
            None => None,
        };
        statuses.push((single.req_cert.clone(), status));
    }
    let nonce = request
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE)
        .cloned();
    let now = crate::platform::clock::now();
    let validity = services.config.signing.ocsp_validity_seconds;
    Ok(sign(&services.signing, statuses, nonce, now, validity)?)
}

/// The serial number a CertID asks about, as stored, when its issuer is our signing CA
/// (name and key digests under SHA-1 or SHA-256).
pub fn serial_if_ours(authority: &SigningAuthority, id: &CertId) -> Option<String> {
    let algorithm = match id.hash_algorithm.oid {
        const_oid::db::rfc5912::ID_SHA_1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        const_oid::db::rfc5912::ID_SHA_256 => &digest::SHA256,
        const_oid::db::rfc5912::ID_SHA_384 => &digest::SHA384,
        const_oid::db::rfc5912::ID_SHA_512 => &digest::SHA512,
        _ => return None,
    };
    let ours = id.issuer_name_hash.as_bytes() == sha(algorithm, &authority.ca_name)
        && id.issuer_key_hash.as_bytes() == sha(algorithm, &authority.ca_key_bits);
    ours.then(|| super::certificates::serial_hex(id.serial_number.as_bytes()))
}

/// Signs the answer: one `SingleResponse` per CertID (`good`, `revoked` with its time and
/// reason, `unknown` when not ours), valid `validity` seconds from `now`, the nonce echoed.
pub fn sign(
    authority: &SigningAuthority,
    statuses: Vec<(CertId, Option<SigningStatus>)>,
    nonce: Option<Extension>,
    now: i64,
    validity: i64,
) -> Result<OcspResponse, CaError> {
    let this_update = OcspGeneralizedTime(generalized_time(now)?);
    let next_update = OcspGeneralizedTime(generalized_time(now + validity)?);
    let responses = statuses
        .into_iter()
        .map(|(cert_id, status)| {
            let cert_status = match status {
                None => CertStatus::unknown(),
                Some(SigningStatus {
                    revoked_at: None, ..
                }) => CertStatus::good(),
                Some(SigningStatus {
                    revoked_at: Some(at),
                    revocation_reason,
                }) => CertStatus::revoked(RevokedInfo {
                    revocation_time: OcspGeneralizedTime(generalized_time(at)?),
                    revocation_reason: revocation_reason.and_then(crl_reason),
                }),
            };
            Ok(SingleResponse {
                cert_id,
                cert_status,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, CaError>>()?;
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(sha(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            &authority.ca_key_bits,
        ))?),
        produced_at: this_update,
        responses,
        response_extensions: nonce.map(|nonce| {
            vec![Extension {
                critical: false,
                ..nonce
            }]
        }),
    };
    let signature = sign_der(&authority.ca().signer, &data.to_der()?)?;
    let certificate = x509_cert::Certificate::from_der(authority.ca().certificate())?;
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: spki::AlgorithmIdentifierOwned {
            oid: super::ECDSA_WITH_SHA256,
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(&signature)?,
        certs: Some(vec![certificate]),
    };
    Ok(OcspResponse::successful(basic)?)
}

fn crl_reason(code: i64) -> Option<x509_cert::ext::pkix::CrlReason> {
    use x509_cert::ext::pkix::CrlReason as R;
    Some(match code {
        1 => R::KeyCompromise,
        3 => R::AffiliationChanged,
        4 => R::Superseded,
        5 => R::CessationOfOperation,
        9 => R::PrivilegeWithdrawn,
        _ => return None,
    })
}
