//! Document signatures, the citizen's role facade: sign documents offline with a key that never
//! leaves the keystore (CMS / CAdES, PAdES, detached JWS), add a time-stamp when back online, and
//! verify what anyone signed into a [`Verdict`]: valid or a typed [`Rejection`], who signed
//! (name and `UID`, `CCCD:<id number>`), when (claimed, and proven by a time-stamp), and the
//! revocation status at the proven time from a CRL or an OCSP response the host supplies.
//!
//! Sans-I/O: trust anchors, CRLs, OCSP responses and time-stamp tokens are handed in; the time is
//! the caller's.

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{
    cms::{self, CmsError, CmsSignature, SignerChain},
    jose::{JwsSigner, PublicKey, b64},
    pades::{self, PdfError},
    tsp::{self, order_chain},
    x509::{
        ChainPolicy, KeyUsageBit, TrustAnchor, ValidatedChain, X509Error,
        revocation::{self, Freshness, RevocationStatus},
        validate_chain,
    },
};

/// id-kp-documentSigning (RFC 9336): the extended key usage a citizen signing certificate lists.
pub const EKU_DOCUMENT_SIGNING: &str = "1.3.6.1.5.5.7.3.36";
/// The subject attribute `UID` (0.9.2342.19200300.100.1.1) that carries `CCCD:<id number>`.
const OID_UID: &str = "0.9.2342.19200300.100.1.1";
/// Default maximum age of a CRL or OCSP response, seconds (one day, as for status lists).
pub const DEFAULT_MAX_REVOCATION_AGE: u64 = 86_400;

/// Why a signature is not valid: what an app or a relying party acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The signature (or PDF) does not parse, or is not what was asked for.
    Malformed,
    /// The document differs from what was signed.
    ContentMismatch,
    /// The signature does not verify with the signer's certificate.
    BadSignature,
    /// The signing-certificate attribute names another certificate than the one used.
    SigningCertificateMismatch,
    /// The signer's chain does not lead to the trust anchor.
    Untrusted,
    /// A certificate of the chain was not valid at the time checked.
    CertificateNotValidAtTime,
    /// The signer certificate is not for signing documents (key usage, extended key usage).
    KeyUsage,
    /// The signer certificate was revoked at the time checked.
    Revoked,
    /// The CRL or OCSP response is older than allowed.
    StaleRevocationData,
    /// The CRL or OCSP response is not the issuer's, or does not parse.
    InvalidRevocationData,
    /// The time-stamp does not hold (imprint, signature, or its authority).
    InvalidTimestamp,
    /// The last signature of a PDF does not cover the whole file: it was changed after signing.
    ModifiedAfterSigning,
}

impl Rejection {
    /// The snake_case code (the CLI's and bindings' `reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::ContentMismatch => "content_mismatch",
            Self::BadSignature => "bad_signature",
            Self::SigningCertificateMismatch => "signing_certificate_mismatch",
            Self::Untrusted => "untrusted",
            Self::CertificateNotValidAtTime => "certificate_not_valid_at_time",
            Self::KeyUsage => "key_usage",
            Self::Revoked => "revoked",
            Self::StaleRevocationData => "stale_revocation_data",
            Self::InvalidRevocationData => "invalid_revocation_data",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::ModifiedAfterSigning => "modified_after_signing",
        }
    }
}

/// The revocation status reported in a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Not revoked at the time checked.
    Good,
    /// Revoked at or before the time checked.
    Revoked,
    /// No revocation data given, or it cannot tell; not by itself a reason to refuse.
    Unknown,
}

impl Revocation {
    /// `good`, `revoked` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
        }
    }
}

/// Who signed, from the signer certificate's subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signer {
    /// The common name (the citizen's full name).
    pub name: String,
    /// The `UID` attribute's value (`CCCD:<id number>`); empty when absent.
    pub uid: String,
}

/// The outcome of verifying one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the signature is valid.
    pub valid: bool,
    /// Why not, when not.
    pub reason: Option<Rejection>,
    /// A human-readable detail of the reason (never personal data beyond the certificate's).
    pub detail: Option<String>,
    /// The signer, when the signer certificate could be read.
    pub signer: Option<Signer>,
    /// The claimed signing time (CMS signing-time, a PDF's `/M`, a JWS's `iat`), Unix seconds.
    pub signing_time: Option<u64>,
    /// The time proven by a valid time-stamp (its genTime), Unix seconds.
    pub timestamp: Option<u64>,
    /// The revocation status at the time checked (the time-stamp's, else the verification time).
    pub revocation: Revocation,
}

impl Verdict {
    fn reject(mut self, reason: Rejection, detail: impl ToString) -> Self {
        self.valid = false;
        self.reason = Some(reason);
        self.detail = Some(detail.to_string());
        self
    }

    /// Whether a valid time-stamp proves the time of the signature.
    pub fn timestamped(&self) -> bool {
        self.timestamp.is_some()
    }

    /// The verdict as the CLI prints it: `{"valid", "reason"?, "signer": {"name","uid"},
    /// "signing_time", "timestamped", "revocation"}` (plus `timestamp` and `detail`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "valid": self.valid,
            "signer": self.signer.as_ref().map(|s| serde_json::json!({"name": s.name, "uid": s.uid})),
            "signing_time": self.signing_time,
            "timestamped": self.timestamped(),
            "timestamp": self.timestamp,
            "revocation": self.revocation.as_str(),
        });
        if let Some(reason) = self.reason {
            out["reason"] = reason.as_str().into();
        }
        if let Some(detail) = &self.detail {
            out["detail"] = detail.clone().into();
        }
        out
    }
}

/// What a verification checks against: trust anchors, revocation data and the time.
#[derive(Debug, Clone)]
pub struct VerificationContext<'a> {
    /// The trust anchors (the agency root) for signers and time-stamp authorities.
    pub anchors: &'a [TrustAnchor],
    /// A DER CRL from the signer's CA.
    pub crl: Option<&'a [u8]>,
    /// A DER OCSPResponse for the signer's certificate.
    pub ocsp: Option<&'a [u8]>,
    /// The verification time, Unix seconds.
    pub now: u64,
    /// The oldest revocation data accepted (age at `now`, seconds).
    pub max_revocation_age: u64,
}

impl<'a> VerificationContext<'a> {
    /// Verification at `now` against `anchors`, without revocation data.
    pub fn new(anchors: &'a [TrustAnchor], now: u64) -> Self {
        Self {
            anchors,
            crl: None,
            ocsp: None,
            now,
            max_revocation_age: DEFAULT_MAX_REVOCATION_AGE,
        }
    }
}

fn empty_verdict() -> Verdict {
    Verdict {
        valid: true,
        reason: None,
        detail: None,
        signer: None,
        signing_time: None,
        timestamp: None,
        revocation: Revocation::Unknown,
    }
}

/// Reads name and UID from a certificate's subject.
fn signer_of(certificate: &[u8]) -> Option<Signer> {
    let (_, parsed) = X509Certificate::from_der(certificate).ok()?;
    let mut signer = Signer::default();
    for attribute in parsed.subject().iter_attributes() {
        let value = attribute.as_str().unwrap_or_default().to_owned();
        match attribute.attr_type().to_id_string().as_str() {
            "2.5.4.3" => signer.name = value,
            OID_UID => signer.uid = value,
            _ => {}
        }
    }
    Some(signer)
}

fn chain_rejection(error: &X509Error) -> Rejection {
    match error {
        X509Error::Expired { .. } | X509Error::NotYetValid { .. } => {
            Rejection::CertificateNotValidAtTime
        }
        X509Error::KeyUsage(_) | X509Error::ExtendedKeyUsage(_) => Rejection::KeyUsage,
        _ => Rejection::Untrusted,
    }
}

fn cms_rejection(error: &CmsError) -> Rejection {
    match error {
        CmsError::ContentMismatch => Rejection::ContentMismatch,
        CmsError::BadSignature => Rejection::BadSignature,
        CmsError::SigningCertificateMismatch => Rejection::SigningCertificateMismatch,
        _ => Rejection::Malformed,
    }
}

/// The signer's chain validated at `at`, for document signing (digitalSignature, documentSigning).
fn validate_signer(
    leaf: &[u8],
    others: &[Vec<u8>],
    anchors: &[TrustAnchor],
    at: u64,
) -> Result<ValidatedChain, X509Error> {
    let policy = ChainPolicy::at(at)
        .require_key_usage(KeyUsageBit::DigitalSignature)
        .require_eku(EKU_DOCUMENT_SIGNING);
    validate_chain(&order_chain(leaf, others), anchors, &policy)
}

/// The certificate that issued the chain's leaf: the next one, or the anchor.
fn issuer_of(chain: &ValidatedChain, anchors: &[TrustAnchor]) -> Option<Vec<u8>> {
    if let Some(issuer) = chain.certificates().get(1) {
        return Some(issuer.clone());
    }
    let (_, leaf) = X509Certificate::from_der(chain.leaf_der()).ok()?;
    let issuer = leaf.issuer().as_raw();
    anchors
        .iter()
        .find(|anchor| {
            X509Certificate::from_der(anchor.der())
                .is_ok_and(|(_, a)| a.subject().as_raw() == issuer)
        })
        .map(|anchor| anchor.der().to_vec())
}

/// Revocation and chain checks shared by every format, once the signature itself holds.
fn finish(
    mut verdict: Verdict,
    leaf: &[u8],
    others: &[Vec<u8>],
    context: &VerificationContext<'_>,
) -> Verdict {
    let at = verdict.timestamp.unwrap_or(context.now);
    let chain = match validate_signer(leaf, others, context.anchors, at) {
        Ok(chain) => chain,
        Err(error) => return verdict.reject(chain_rejection(&error), error),
    };
    if context.crl.is_none() && context.ocsp.is_none() {
        return verdict;
    }
    let Some(issuer) = issuer_of(&chain, context.anchors) else {
        return verdict.reject(Rejection::Untrusted, "issuer not found");
    };
    let freshness = Freshness {
        now: context.now,
        max_age: context.max_revocation_age,
        skew: 60,
    };
    let mut statuses = Vec::new();
    if let Some(crl) = context.crl {
        statuses.push(revocation::crl_status(
            crl,
            chain.leaf_der(),
            &issuer,
            at,
            &freshness,
        ));
    }
    if let Some(ocsp) = context.ocsp {
        statuses.push(revocation::ocsp_status(
            ocsp,
            chain.leaf_der(),
            &issuer,
            at,
            &freshness,
        ));
    }
    let mut good = false;
    for status in statuses {
        match status {
            Ok(RevocationStatus::Revoked { at: revoked_at }) => {
                verdict.revocation = Revocation::Revoked;
                return verdict.reject(
                    Rejection::Revoked,
                    format!("revoked at {revoked_at}, checked at {at}"),
                );
            }
            Ok(RevocationStatus::Good) => good = true,
            Ok(RevocationStatus::Unknown) => {}
            Err(error @ revocation::RevocationError::Stale { .. }) => {
                return verdict.reject(Rejection::StaleRevocationData, error);
            }
            Err(error) => return verdict.reject(Rejection::InvalidRevocationData, error),
        }
    }
    verdict.revocation = if good {
        Revocation::Good
    } else {
        Revocation::Unknown
    };
    verdict
}

/// Verifies a parsed CMS signature whose content check is `check`.
fn verify_parsed_cms(
    signature: &CmsSignature,
    check: impl FnOnce(&CmsSignature) -> Result<(), CmsError>,
    mut verdict: Verdict,
    context: &VerificationContext<'_>,
) -> Verdict {
    verdict.signer = signer_of(&signature.signer_certificate);
    if signature.content_type != cms::ID_DATA {
        return verdict.reject(Rejection::Malformed, "the signed content is not id-data");
    }
    if let Err(error) = check(signature).and_then(|()| signature.verify_signature()) {
        return verdict.reject(cms_rejection(&error), error);
    }
    if let Some(token) = signature.timestamp_tokens.first() {
        match tsp::verify_token(token, &signature.signature, context.anchors) {
            Ok(proof) => verdict.timestamp = Some(proof.gen_time),
            Err(error) => return verdict.reject(Rejection::InvalidTimestamp, error),
        }
    }
    finish(
        verdict,
        &signature.signer_certificate,
        &signature.other_certificates,
        context,
    )
}

/// Verifies a detached CMS signature (DER) of `content`.
pub fn verify_cms(cms_der: &[u8], content: &[u8], context: &VerificationContext<'_>) -> Verdict {
    let verdict = empty_verdict();
    let signature = match CmsSignature::parse(cms_der) {
        Ok(signature) => signature,
        Err(error) => return verdict.reject(Rejection::Malformed, error),
    };
    let mut verdict = verdict;
    verdict.signing_time = signature.signing_time;
    verify_parsed_cms(&signature, |s| s.check_content(content), verdict, context)
}

/// Verifies every signature of a PDF, oldest first. The last one must cover the whole file.
pub fn verify_pdf(pdf: &[u8], context: &VerificationContext<'_>) -> Vec<Verdict> {
    let signatures = match pades::signatures(pdf) {
        Ok(signatures) => signatures,
        Err(error) => return vec![empty_verdict().reject(Rejection::Malformed, error)],
    };
    let count = signatures.len();
    signatures
        .into_iter()
        .enumerate()
        .map(|(index, found)| {
            let mut verdict = empty_verdict();
            verdict.signing_time = found.signing_time;
            let signature = match CmsSignature::parse(&found.cms) {
                Ok(signature) => signature,
                Err(error) => return verdict.reject(Rejection::Malformed, error),
            };
            // PAdES names the time in /M; a CMS signing-time is read only when /M is absent.
            if verdict.signing_time.is_none() {
                verdict.signing_time = signature.signing_time;
            }
            let verdict = verify_parsed_cms(
                &signature,
                |s| {
                    if s.digest_is_sha256() {
                        s.check_digest_of(&found.digest)
                    } else {
                        Err(CmsError::Unsupported(
                            "PDF digest other than SHA-256".into(),
                        ))
                    }
                },
                verdict,
                context,
            );
            if verdict.valid && index + 1 == count && !found.covers_end {
                return verdict.reject(
                    Rejection::ModifiedAfterSigning,
                    "bytes were appended after the last signature",
                );
            }
            verdict
        })
        .collect()
}

/// Signs `content` as a detached CMS (CAdES B-B, DER).
pub fn sign_cms(
    content: &[u8],
    signer: &dyn JwsSigner,
    chain: &SignerChain,
    now: u64,
) -> Result<Vec<u8>, CmsError> {
    cms::sign_detached(content, signer, chain, now)
}

/// Signs a PDF (PAdES B-B): the original bytes and an incremental update.
pub fn sign_pdf(
    pdf: &[u8],
    signer: &dyn JwsSigner,
    chain: &SignerChain,
    now: u64,
) -> Result<Vec<u8>, PdfError> {
    pades::sign(pdf, signer, chain, now)
}

/// Why a JWS could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsSignatureError {
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Signs `payload` (a JSON document) as a compact JWS with a detached payload (RFC 7515
/// appendix F): `header..signature`. The protected header carries `alg` ES256, the `x5c` chain
/// and `iat` (the claimed signing time).
pub fn sign_jws(
    payload: &[u8],
    signer: &dyn JwsSigner,
    chain: &[Vec<u8>],
    now: u64,
) -> Result<String, JwsSignatureError> {
    let header = serde_json::json!({
        "alg": "ES256",
        "x5c": crate::x509::der_chain_to_x5c(chain),
        "iat": now,
    });
    let header =
        serde_json::to_vec(&header).map_err(|e| JwsSignatureError::Signing(e.to_string()))?;
    let token = crate::jose::sign_compact_raw(&header, payload, signer)
        .map_err(|e| JwsSignatureError::Signing(e.to_string()))?;
    // Drop the payload part: header..signature.
    let mut parts = token.splitn(3, '.');
    let (Some(head), Some(_), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(JwsSignatureError::Signing("malformed JWS".into()));
    };
    Ok(format!("{head}..{signature}"))
}

/// Verifies a detached compact JWS (`header..signature`) over `payload`.
pub fn verify_jws(jws: &str, payload: &[u8], context: &VerificationContext<'_>) -> Verdict {
    let mut verdict = empty_verdict();
    let jws = jws.trim();
    let Some((head, rest)) = jws.split_once('.') else {
        return verdict.reject(Rejection::Malformed, "not a compact JWS");
    };
    let Some(signature) = rest.strip_prefix('.') else {
        return verdict.reject(Rejection::Malformed, "the payload is not detached");
    };
    let attached = format!("{head}.{}.{signature}", b64::encode(payload));
    let parsed = match crate::jose::UnverifiedJws::parse(&attached) {
        Ok(parsed) => parsed,
        Err(error) => return verdict.reject(Rejection::Malformed, error),
    };
    let chain = match parsed
        .header()
        .x5c
        .as_deref()
        .map(crate::x509::x5c_to_der_chain)
    {
        Some(Ok(chain)) if !chain.is_empty() => chain,
        Some(Err(error)) => return verdict.reject(Rejection::Malformed, error),
        _ => return verdict.reject(Rejection::Malformed, "no x5c header"),
    };
    // `iat` from the protected header (covered by the signature checked below).
    verdict.signing_time = b64::decode(head)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|header| header.get("iat").and_then(serde_json::Value::as_u64));
    let (leaf, others) = match chain.split_first() {
        Some((leaf, others)) => (leaf.clone(), others.to_vec()),
        None => return verdict.reject(Rejection::Malformed, "empty x5c"),
    };
    verdict.signer = signer_of(&leaf);
    let key = X509Certificate::from_der(&leaf)
        .ok()
        .and_then(|(_, c)| PublicKey::from_sec1(c.public_key().subject_public_key.as_ref()).ok());
    let Some(key) = key else {
        return verdict.reject(Rejection::Malformed, "the signer key is not P-256");
    };
    if let Err(error) = parsed.verify(&key) {
        return verdict.reject(Rejection::BadSignature, error);
    }
    finish(verdict, &leaf, &others, context)
}

/// The time-stamp query for a CMS signature's value: POST its [`tsp::TimeStampQuery::der`] to
/// the authority, then [`add_cms_timestamp`] with the token it returns.
pub fn cms_timestamp_query(cms_der: &[u8]) -> Result<tsp::TimeStampQuery, CmsError> {
    let value = cms::signature_value(cms_der)?;
    tsp::TimeStampQuery::for_signature(&value).map_err(|e| CmsError::Signing(e.to_string()))
}

/// Adds a time-stamp token to a CMS signature (B-B to B-T).
pub fn add_cms_timestamp(cms_der: &[u8], token: &[u8]) -> Result<Vec<u8>, CmsError> {
    cms::add_signature_timestamp(cms_der, token)
}
