//! RFC 3161 time-stamps of signatures (the CAdES signature-time-stamp, ETSI EN 319 122-1
//! section 5.3): the query an app sends to a time-stamp authority, the check of its response, and
//! the verification of a token against the trust anchors.
//!
//! Sans-I/O: [`TimeStampQuery::der`] is the body to POST (`application/timestamp-query`), the
//! host sends it, and [`TimeStampQuery::token_from_response`] reads the answer
//! (`application/timestamp-reply`).

use der::{
    Decode, Encode,
    asn1::{Any, GeneralizedTime, Int, OctetString},
};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::{
    cms::{CmsError, CmsSignature, ID_CT_TST_INFO, ID_SHA256},
    jose::{random_bytes, sha256},
    x509::{ChainPolicy, TrustAnchor, ValidatedChain, X509Error, validate_chain},
};

/// id-kp-timeStamping (RFC 3161 section 2.3): the extended key usage a TSA certificate carries.
pub const EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// Why a time-stamp query, response or token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TspError {
    /// The response or token does not parse.
    #[error("malformed time-stamp: {0}")]
    Malformed(String),
    /// The authority refused the query (its PKIStatus).
    #[error("the time-stamp authority refused the query (status {0})")]
    Refused(u8),
    /// The token's message imprint is not the hash of this signature.
    #[error("the time-stamp covers other data than this signature")]
    ImprintMismatch,
    /// The token's nonce is not the query's.
    #[error("the time-stamp answers another query (nonce)")]
    NonceMismatch,
    /// The token's CMS signature does not hold (names why).
    #[error("time-stamp signature: {0}")]
    Signature(#[from] CmsError),
    /// The TSA certificate does not chain to a trust anchor, or lacks the timeStamping usage.
    #[error("time-stamp authority: {0}")]
    Untrusted(X509Error),
    /// The query could not be made (no randomness for the nonce).
    #[error("time-stamp query: {0}")]
    Query(String),
}

impl From<der::Error> for TspError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

fn sha256_imprint(data: &[u8]) -> Result<MessageImprint, TspError> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier::<Any> {
            oid: ID_SHA256,
            parameters: None,
        },
        hashed_message: OctetString::new(sha256(data).to_vec())?,
    })
}

/// An RFC 3161 query for the time-stamp of a signature value (SHA-256 imprint, a 64-bit random
/// nonce, `certReq` true so the token carries the TSA's certificates).
#[derive(Debug, Clone)]
pub struct TimeStampQuery {
    der: Vec<u8>,
    imprint: Vec<u8>,
    nonce: Int,
}

impl TimeStampQuery {
    /// The query for `signature_value` (what `cms::signature_value` returns).
    pub fn for_signature(signature_value: &[u8]) -> Result<Self, TspError> {
        let mut nonce = [0u8; 9];
        random_bytes(&mut nonce[1..]).map_err(|e| TspError::Query(e.to_string()))?;
        // A positive INTEGER: the leading zero octet is dropped when the next one allows it.
        let first = nonce
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(nonce.len() - 1);
        let start = if nonce.get(first).is_some_and(|b| b & 0x80 != 0) {
            first - 1
        } else {
            first
        };
        let nonce = Int::new(nonce.get(start..).unwrap_or(&[0]))?;
        let message_imprint = sha256_imprint(signature_value)?;
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: message_imprint.clone(),
            req_policy: None,
            nonce: Some(nonce.clone()),
            cert_req: true,
            extensions: None,
        };
        Ok(Self {
            der: request.to_der()?,
            imprint: message_imprint.hashed_message.as_bytes().to_vec(),
            nonce,
        })
    }

    /// The DER TimeStampReq to POST with `Content-Type: application/timestamp-query`.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Reads the authority's DER TimeStampResp: the status must be granted, and the token must
    /// answer this query (imprint and nonce). Returns the DER TimeStampToken; its signature and
    /// certificate are checked at verification ([`verify_token`]).
    pub fn token_from_response(&self, response: &[u8]) -> Result<Vec<u8>, TspError> {
        let response = TimeStampResp::from_der(response)?;
        let status = response.status.status as u8;
        if status > 1 {
            return Err(TspError::Refused(status));
        }
        let token = response
            .time_stamp_token
            .ok_or_else(|| TspError::Malformed("granted without a token".into()))?;
        let token = token.to_der()?;
        let info = tst_info(&CmsSignature::parse(&token)?)?;
        if info.message_imprint.hash_algorithm.oid != ID_SHA256
            || info.message_imprint.hashed_message.as_bytes() != self.imprint
        {
            return Err(TspError::ImprintMismatch);
        }
        if info.nonce.as_ref() != Some(&self.nonce) {
            return Err(TspError::NonceMismatch);
        }
        Ok(token)
    }
}

fn tst_info(token: &CmsSignature) -> Result<TstInfo, TspError> {
    if token.content_type != ID_CT_TST_INFO {
        return Err(TspError::Malformed("not a TSTInfo".into()));
    }
    let content = token
        .econtent
        .as_deref()
        .ok_or_else(|| TspError::Malformed("no TSTInfo".into()))?;
    Ok(TstInfo::from_der(content)?)
}

fn gen_time_seconds(time: &GeneralizedTime) -> u64 {
    time.to_unix_duration().as_secs()
}

/// A checked time-stamp: the signature existed at `gen_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampProof {
    /// The token's genTime, Unix seconds.
    pub gen_time: u64,
    /// The authority's certificate subject.
    pub authority: String,
    /// The authority's validated chain.
    pub chain: ValidatedChain,
}

/// Verifies a DER TimeStampToken over `signature_value`: the imprint (SHA-256 of the signature
/// value), the token's CMS signature, and the TSA certificate carried in the token, which must
/// chain to `anchors` at genTime and list the timeStamping extended key usage.
pub fn verify_token(
    token: &[u8],
    signature_value: &[u8],
    anchors: &[TrustAnchor],
) -> Result<TimeStampProof, TspError> {
    let signature = CmsSignature::parse(token)?;
    let info = tst_info(&signature)?;
    let expected = sha256(signature_value);
    if info.message_imprint.hash_algorithm.oid != ID_SHA256
        || info.message_imprint.hashed_message.as_bytes() != expected
    {
        return Err(TspError::ImprintMismatch);
    }
    let content = signature.econtent.as_deref().unwrap_or_default();
    signature.check_content(content)?;
    signature.verify_signature()?;
    let gen_time = gen_time_seconds(&info.gen_time);
    let chain = order_chain(&signature.signer_certificate, &signature.other_certificates);
    let policy = ChainPolicy::at(gen_time)
        .require_digital_signature()
        .require_eku(EKU_TIME_STAMPING);
    let chain = validate_chain(&chain, anchors, &policy).map_err(TspError::Untrusted)?;
    Ok(TimeStampProof {
        gen_time,
        authority: chain.leaf_subject(),
        chain,
    })
}

/// Orders `leaf` and an unordered set of other certificates into a path, leaf first, following
/// issuer names (at most five links; a certificate is used once).
pub(crate) fn order_chain(leaf: &[u8], others: &[Vec<u8>]) -> Vec<Vec<u8>> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    /// Raw issuer and subject names.
    type Names = (Vec<u8>, Vec<u8>);
    let names = |der: &[u8]| -> Option<Names> {
        X509Certificate::from_der(der)
            .ok()
            .map(|(_, c)| (c.issuer().as_raw().to_vec(), c.subject().as_raw().to_vec()))
    };
    let parsed: Vec<(&Vec<u8>, Names)> = others
        .iter()
        .filter_map(|der| Some((der, names(der)?)))
        .collect();
    let mut chain = vec![leaf.to_vec()];
    let mut used = vec![false; parsed.len()];
    let Some(mut current) = names(leaf) else {
        return chain;
    };
    for _ in 0..5 {
        if current.0 == current.1 {
            break;
        }
        let next = parsed.iter().enumerate().find(|(i, (_, (_, subject)))| {
            !used.get(*i).copied().unwrap_or(true) && *subject == current.0
        });
        let Some((index, (der, names))) = next else {
            break;
        };
        if let Some(flag) = used.get_mut(index) {
            *flag = true;
        }
        chain.push((*der).clone());
        current = names.clone();
    }
    chain
}
