//! The citizen signing certificate authority (DESIGN journey 8): X.509 certificates for keys
//! that never leave the citizen's phone, their revocation (CRL, OCSP) and RFC 3161 time-stamps.
//!
//! | part | standard | module |
//! | --- | --- | --- |
//! | certificate requests and the certificate profile | PKCS#10 (RFC 2986), RFC 5280, RFC 9336 | [`certificates`] |
//! | certificate revocation list | RFC 5280 section 5 | [`crl`] |
//! | online status | RFC 6960 | [`ocsp`] |
//! | time-stamps | RFC 3161, RFC 5816 (ESSCertIDv2) | [`tsa`] |
//!
//! Every signature goes through the agency's signer trait ([`pki::AgencySigner`]), so an HSM can
//! hold the CA and TSA keys. The ASN.1 comes from the RustCrypto crates (`x509-cert`, `cms`,
//! `x509-ocsp`, `x509-tsp`) and rcgen (certificates, CRLs); CSRs are parsed and their
//! signatures checked with x509-parser.

pub mod certificates;
pub mod crl;
pub mod ocsp;
pub mod tsa;

use der::{Encode, asn1::UintRef};
use ring::digest;

use crate::domain::pki::{self, AgencyKey, SigningKeys};

/// `ecdsa-with-SHA256` (RFC 5758).
pub(crate) const ECDSA_WITH_SHA256: const_oid::ObjectIdentifier =
    const_oid::db::rfc5912::ECDSA_WITH_SHA_256;

/// Why the signing authority could not be set up or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// A certificate of the agency does not parse.
    #[error("agency certificate: {0}")]
    Certificate(String),
    /// The signer failed (an HSM unreachable, say).
    #[error("signer: {0}")]
    Signer(String),
    /// Encoding a structure failed.
    #[error("encoding: {0}")]
    Encoding(String),
}

impl From<der::Error> for CaError {
    fn from(error: der::Error) -> Self {
        Self::Encoding(error.to_string())
    }
}

impl From<rcgen::Error> for CaError {
    fn from(error: rcgen::Error) -> Self {
        Self::Encoding(error.to_string())
    }
}

/// The signing CA and the TSA, ready to sign: their keys and what the protocols compare
/// requests with (the CA's name and key digests for OCSP's CertID).
pub struct SigningAuthority {
    keys: SigningKeys,
    /// rcgen's view of the CA (its subject and key identifier), signing through the agency
    /// signer.
    issuer: rcgen::Issuer<'static, RcgenSigner>,
    /// DER of the CA's subject name.
    ca_name: Vec<u8>,
    /// The CA's subjectPublicKey bits (what OCSP's issuerKeyHash digests).
    ca_key_bits: Vec<u8>,
    /// The TSA's certificate, parsed once (issuer and serial of its SignerInfo).
    tsa_certificate: x509_cert::Certificate,
    /// The TSA policy of every time-stamp.
    tsa_policy: const_oid::ObjectIdentifier,
    /// The public URL (no trailing slash): CRL distribution point and OCSP location.
    public_url: String,
    /// One CRL build at a time in this process: after a change every fetch would otherwise
    /// build the same list.
    pub(crate) crl_build: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SigningAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningAuthority")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl SigningAuthority {
    /// The authority over `keys`, answering at `public_url`, time-stamping under `tsa_policy`.
    pub fn new(keys: SigningKeys, public_url: &str, tsa_policy: &str) -> Result<Self, CaError> {
        use der::Decode;
        use x509_parser::prelude::{FromDer, X509Certificate};
        let ca_der = keys.ca.certificate().to_vec();
        let (_, parsed) =
            X509Certificate::from_der(&ca_der).map_err(|e| CaError::Certificate(e.to_string()))?;
        let ca_name = parsed.subject().as_raw().to_vec();
        let ca_key_bits = parsed.public_key().subject_public_key.data.to_vec();
        let issuer = rcgen::Issuer::from_ca_cert_der(&ca_der.into(), RcgenSigner::new(&keys.ca))?;
        let tsa_certificate = x509_cert::Certificate::from_der(keys.tsa.certificate())?;
        let tsa_policy = tsa_policy
            .parse()
            .map_err(|_| CaError::Encoding("TSA policy OID".into()))?;
        Ok(Self {
            keys,
            issuer,
            ca_name,
            ca_key_bits,
            tsa_certificate,
            tsa_policy,
            public_url: public_url.trim_end_matches('/').to_owned(),
            crl_build: tokio::sync::Mutex::new(()),
        })
    }

    /// The signing CA's key and chain.
    pub fn ca(&self) -> &AgencyKey {
        &self.keys.ca
    }

    /// The TSA's key and chain.
    pub fn tsa(&self) -> &AgencyKey {
        &self.keys.tsa
    }

    /// Where the CRL is published.
    pub fn crl_url(&self) -> String {
        format!("{}/crl/signing.crl", self.public_url)
    }

    /// Where the OCSP responder answers.
    pub fn ocsp_url(&self) -> String {
        format!("{}/ocsp", self.public_url)
    }

    /// The chain handed out with a certificate: the leaf, then the CA's chain (never the root).
    pub fn chain_pem(&self, leaf: &[u8]) -> String {
        let mut pem = dinhdanh_sdk::x509::dev::der_to_pem(leaf);
        for certificate in &self.keys.ca.chain {
            pem.push_str(&dinhdanh_sdk::x509::dev::der_to_pem(certificate));
        }
        pem
    }
}

/// The agency signer as rcgen's signing key: ECDSA P-256 with SHA-256, the signature turned
/// from JOSE's `r || s` into the DER `ECDSA-Sig-Value` X.509 carries.
pub struct RcgenSigner {
    signer: pki::AgencySigner,
    public_key: [u8; 65],
}

impl RcgenSigner {
    /// Wraps `key`'s signer.
    pub fn new(key: &AgencyKey) -> Self {
        Self {
            signer: key.signer.clone(),
            public_key: key.public_key,
        }
    }
}

impl rcgen::PublicKeyData for RcgenSigner {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for RcgenSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        sign_der(&self.signer, message).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// Signs `message` with `signer` (ECDSA P-256, SHA-256): the DER `ECDSA-Sig-Value`.
pub(crate) fn sign_der(signer: &pki::AgencySigner, message: &[u8]) -> Result<Vec<u8>, CaError> {
    let raw = signer
        .sign(message)
        .map_err(|e| CaError::Signer(e.to_string()))?;
    ecdsa_der(&raw)
}

/// `r || s` (64 bytes) as the DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
pub(crate) fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, CaError> {
    #[derive(der::Sequence)]
    struct EcdsaSigValue<'a> {
        r: UintRef<'a>,
        s: UintRef<'a>,
    }
    if raw.len() != 64 {
        return Err(CaError::Signer("not a 64-byte ES256 signature".into()));
    }
    let (r, s) = raw.split_at(32);
    Ok(EcdsaSigValue {
        r: UintRef::new(r)?,
        s: UintRef::new(s)?,
    }
    .to_der()?)
}

/// The `ExtendedKeyUsage` extension value of a TSA certificate: `timeStamping` only.
pub fn time_stamping_eku() -> Result<Vec<u8>, der::Error> {
    x509_cert::ext::pkix::ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_TIME_STAMPING])
        .to_der()
}

/// SHA-1 (`legacy`: OCSP CertIDs and responder key hashes, where RFC 6960 names it) or SHA-256.
pub(crate) fn sha(algorithm: &'static digest::Algorithm, bytes: &[u8]) -> Vec<u8> {
    digest::digest(algorithm, bytes).as_ref().to_vec()
}

/// Unix seconds as a DER GeneralizedTime (whole seconds, as RFC 5280 and RFC 6960 want).
pub(crate) fn generalized_time(seconds: i64) -> Result<der::asn1::GeneralizedTime, CaError> {
    let seconds = u64::try_from(seconds).map_err(|_| CaError::Encoding("time".into()))?;
    Ok(der::asn1::GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(seconds),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_become_der_integers() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a leading zero byte to stay positive
        raw[63] = 1; // s is 1 once leading zeros are stripped
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x26, 0x02, 0x21]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x01]);
        assert!(ecdsa_der(&raw[..63]).is_err());
    }
}
