//! Document signatures over the SDK's `signatures` facade: a certificate request from a key of
//! the platform keystore, a [`DocumentSigner`] that signs CMS, PDF and JWS offline with that key,
//! a [`TimeStampRequest`] to make a signature B-T when back online, and verification into a
//! [`SignatureVerdict`].

use std::sync::Arc;

use dinhdanh_sdk::{
    cms::{self, SignerChain},
    jose::PublicKey,
    pades, signatures as core, tsp,
    wallet::{KeyStore as _, KeyStoreSigner},
    x509,
};

use crate::{
    anchors,
    error::{DinhdanhError, invalid},
    platform::{HostKeys, KeyStore},
};

/// A PKCS#10 certification request (PEM) for the signing key `alias` of the platform keystore,
/// signed by it (the CA's proof of possession). POST it to `/v1/me/signing-certificates`.
#[uniffi::export]
pub fn signing_certificate_request(
    keystore: Arc<dyn KeyStore>,
    alias: String,
) -> Result<String, DinhdanhError> {
    let keys = HostKeys(keystore);
    let signer = KeyStoreSigner::new(&keys, &alias)?;
    x509::csr::csr_pem(&signer, signer.public_key()).map_err(invalid)
}

/// A citizen's signing key in the platform keystore with its certificate chain: signs
/// documents offline, the private key staying in the keystore.
#[derive(uniffi::Object)]
pub struct DocumentSigner {
    keys: HostKeys,
    alias: String,
    chain: Vec<Vec<u8>>,
    signer_chain: SignerChain,
}

#[uniffi::export]
impl DocumentSigner {
    /// The key `alias` of `keystore` and its chain (PEM, leaf first, as the CA returned it);
    /// refused when the leaf does not certify that key.
    #[uniffi::constructor]
    pub fn new(
        keystore: Arc<dyn KeyStore>,
        alias: String,
        chain_pem: String,
    ) -> Result<Arc<Self>, DinhdanhError> {
        let keys = HostKeys(keystore);
        let public = PublicKey::from_sec1(&keys.public_key(&alias)?).map_err(invalid)?;
        let chain = x509::pem_to_der_chain(&chain_pem).map_err(invalid)?;
        let signer_chain = SignerChain::new(&chain, &public)?;
        Ok(Arc::new(Self {
            keys,
            alias,
            chain,
            signer_chain,
        }))
    }

    /// A detached CMS signature (DER, CAdES B-B) of `document`, signed at `now` (Unix seconds).
    pub fn sign_cms(&self, document: Vec<u8>, now: u64) -> Result<Vec<u8>, DinhdanhError> {
        let signer = KeyStoreSigner::new(&self.keys, &self.alias)?;
        Ok(core::sign_cms(&document, &signer, &self.signer_chain, now)?)
    }

    /// `pdf` signed by an incremental update (PAdES B-B).
    pub fn sign_pdf(&self, pdf: Vec<u8>, now: u64) -> Result<Vec<u8>, DinhdanhError> {
        let signer = KeyStoreSigner::new(&self.keys, &self.alias)?;
        Ok(core::sign_pdf(&pdf, &signer, &self.signer_chain, now)?)
    }

    /// A compact JWS of `document` (JSON) with a detached payload and `x5c`.
    pub fn sign_jws(&self, document: Vec<u8>, now: u64) -> Result<String, DinhdanhError> {
        let signer = KeyStoreSigner::new(&self.keys, &self.alias)?;
        core::sign_jws(&document, &signer, &self.chain, now).map_err(|e| DinhdanhError::KeyStore {
            reason: e.to_string(),
        })
    }
}

/// An RFC 3161 query for the time-stamp of a signature: POST [`TimeStampRequest::body`] to the
/// authority (`Content-Type: application/timestamp-query`), pass its answer to
/// [`TimeStampRequest::token`], then add the token with [`add_cms_timestamp`] or
/// [`add_pdf_timestamp`].
#[derive(uniffi::Object)]
pub struct TimeStampRequest {
    query: tsp::TimeStampQuery,
}

#[uniffi::export]
impl TimeStampRequest {
    /// The query for a CMS signature (DER).
    #[uniffi::constructor]
    pub fn for_cms(signature: Vec<u8>) -> Result<Arc<Self>, DinhdanhError> {
        let value = cms::signature_value(&signature)?;
        Ok(Arc::new(Self {
            query: tsp::TimeStampQuery::for_signature(&value)?,
        }))
    }

    /// The query for the last signature of a signed PDF.
    #[uniffi::constructor]
    pub fn for_pdf(pdf: Vec<u8>) -> Result<Arc<Self>, DinhdanhError> {
        let value = pades::last_signature_value(&pdf)?;
        Ok(Arc::new(Self {
            query: tsp::TimeStampQuery::for_signature(&value)?,
        }))
    }

    /// The DER TimeStampReq to POST.
    pub fn body(&self) -> Vec<u8> {
        self.query.der().to_vec()
    }

    /// The token in the authority's DER answer, checked to answer this query.
    pub fn token(&self, response: Vec<u8>) -> Result<Vec<u8>, DinhdanhError> {
        Ok(self.query.token_from_response(&response)?)
    }
}

/// Adds a time-stamp token to a CMS signature (B-B to B-T).
#[uniffi::export]
pub fn add_cms_timestamp(signature: Vec<u8>, token: Vec<u8>) -> Result<Vec<u8>, DinhdanhError> {
    Ok(core::add_cms_timestamp(&signature, &token)?)
}

/// Adds a time-stamp token to the last signature of a PDF (B-B to B-T), in place.
#[uniffi::export]
pub fn add_pdf_timestamp(pdf: Vec<u8>, token: Vec<u8>) -> Result<Vec<u8>, DinhdanhError> {
    Ok(pades::add_timestamp(&pdf, &token)?)
}

/// Why a signature is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignatureRejection {
    /// The signature or document does not parse.
    Malformed,
    /// The document differs from what was signed.
    ContentMismatch,
    /// The signature does not verify.
    BadSignature,
    /// The signing-certificate attribute names another certificate.
    SigningCertificateMismatch,
    /// The chain does not lead to the agency root.
    Untrusted,
    /// A certificate was not valid at the time checked.
    CertificateNotValidAtTime,
    /// The certificate is not for signing documents.
    KeyUsage,
    /// Revoked at the time checked.
    Revoked,
    /// The CRL or OCSP response is too old.
    StaleRevocationData,
    /// The CRL or OCSP response is not the issuer's or does not parse.
    InvalidRevocationData,
    /// The time-stamp does not hold.
    InvalidTimestamp,
    /// A PDF was changed after its last signature.
    ModifiedAfterSigning,
}

/// The revocation status in a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RevocationStatus {
    /// Not revoked at the time checked.
    Good,
    /// Revoked at or before it.
    Revoked,
    /// No data, or the data cannot tell.
    Unknown,
}

/// The outcome of verifying a signature.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SignatureVerdict {
    /// Whether it is valid.
    pub valid: bool,
    /// Why not.
    pub reason: Option<SignatureRejection>,
    /// A detail of the reason, for logs.
    pub detail: Option<String>,
    /// The signer's name (the certificate's CN).
    pub signer_name: Option<String>,
    /// The signer's UID (`CCCD:<id number>`).
    pub signer_uid: Option<String>,
    /// The claimed signing time, Unix seconds.
    pub signing_time: Option<u64>,
    /// The time proven by a time-stamp, Unix seconds.
    pub timestamp: Option<u64>,
    /// Revocation at the time checked.
    pub revocation: RevocationStatus,
}

/// What to verify against.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SignatureTrust {
    /// The agency root(s), PEM.
    pub anchors_pem: String,
    /// A DER CRL of the signer's CA.
    #[uniffi(default = None)]
    pub crl: Option<Vec<u8>>,
    /// A DER OCSPResponse for the signer's certificate.
    #[uniffi(default = None)]
    pub ocsp: Option<Vec<u8>>,
    /// The verification time, Unix seconds.
    pub now: u64,
    /// The oldest revocation data accepted, seconds (default a day).
    #[uniffi(default = 86400)]
    pub max_revocation_age: u64,
}

fn rejection(reason: core::Rejection) -> SignatureRejection {
    use core::Rejection as R;
    match reason {
        R::ContentMismatch => SignatureRejection::ContentMismatch,
        R::BadSignature => SignatureRejection::BadSignature,
        R::SigningCertificateMismatch => SignatureRejection::SigningCertificateMismatch,
        R::Untrusted => SignatureRejection::Untrusted,
        R::CertificateNotValidAtTime => SignatureRejection::CertificateNotValidAtTime,
        R::KeyUsage => SignatureRejection::KeyUsage,
        R::Revoked => SignatureRejection::Revoked,
        R::StaleRevocationData => SignatureRejection::StaleRevocationData,
        R::InvalidRevocationData => SignatureRejection::InvalidRevocationData,
        R::InvalidTimestamp => SignatureRejection::InvalidTimestamp,
        R::ModifiedAfterSigning => SignatureRejection::ModifiedAfterSigning,
        _ => SignatureRejection::Malformed,
    }
}

impl From<core::Verdict> for SignatureVerdict {
    fn from(verdict: core::Verdict) -> Self {
        Self {
            valid: verdict.valid,
            reason: verdict.reason.map(rejection),
            detail: verdict.detail,
            signer_name: verdict.signer.as_ref().map(|s| s.name.clone()),
            signer_uid: verdict.signer.as_ref().map(|s| s.uid.clone()),
            signing_time: verdict.signing_time,
            timestamp: verdict.timestamp,
            revocation: match verdict.revocation {
                core::Revocation::Good => RevocationStatus::Good,
                core::Revocation::Revoked => RevocationStatus::Revoked,
                core::Revocation::Unknown => RevocationStatus::Unknown,
            },
        }
    }
}

/// Runs `verify` with the context `trust` describes.
fn with_context<T>(
    trust: &SignatureTrust,
    verify: impl FnOnce(&core::VerificationContext<'_>) -> T,
) -> Result<T, DinhdanhError> {
    let anchors = anchors(&trust.anchors_pem)?;
    let context = core::VerificationContext {
        anchors: &anchors,
        crl: trust.crl.as_deref(),
        ocsp: trust.ocsp.as_deref(),
        now: trust.now,
        max_revocation_age: trust.max_revocation_age,
    };
    Ok(verify(&context))
}

/// Verifies a detached CMS signature (DER) of `document`.
#[uniffi::export]
pub fn verify_cms_signature(
    signature: Vec<u8>,
    document: Vec<u8>,
    trust: SignatureTrust,
) -> Result<SignatureVerdict, DinhdanhError> {
    with_context(&trust, |context| {
        core::verify_cms(&signature, &document, context).into()
    })
}

/// Verifies every signature of a PDF, oldest first.
#[uniffi::export]
pub fn verify_pdf_signatures(
    pdf: Vec<u8>,
    trust: SignatureTrust,
) -> Result<Vec<SignatureVerdict>, DinhdanhError> {
    with_context(&trust, |context| {
        core::verify_pdf(&pdf, context)
            .into_iter()
            .map(Into::into)
            .collect()
    })
}

/// Verifies a detached compact JWS of `document`.
#[uniffi::export]
pub fn verify_jws_signature(
    jws: String,
    document: Vec<u8>,
    trust: SignatureTrust,
) -> Result<SignatureVerdict, DinhdanhError> {
    with_context(&trust, |context| {
        core::verify_jws(&jws, &document, context).into()
    })
}
