//! The agency's trust bundle, read: what an app shows or schedules from it (versions, where to
//! fetch the relying parties' status list and CRL, maximum ages). The wallet and the verifier
//! take their trust from it themselves (`Wallet::apply_trust_bundle`,
//! `Verifier::from_registration`).

use dinhdanh_sdk::trust::TrustBundle;

use crate::{anchors, error::DinhdanhError};

/// A verified trust bundle's content.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TrustBundleSummary {
    /// The agency.
    pub issuer: String,
    /// Increases whenever roots or revocations change.
    pub version: u64,
    /// Issued at, Unix seconds.
    pub issued_at: u64,
    /// Usable until, Unix seconds (the earlier of `exp` and its own maximum age).
    pub usable_until: u64,
    /// Credential issuers' roots, PEM.
    pub issuer_roots_pem: String,
    /// Relying parties' roots, PEM.
    pub rp_roots_pem: String,
    /// Where the relying parties' status list is fetched.
    pub rp_status_list_url: Option<String>,
    /// Where the relying-party CA's CRL is fetched.
    pub rp_crl_url: Option<String>,
    /// The URI prefix of credentials' status lists.
    pub credential_status_lists: Option<String>,
    /// How old a status list may be, seconds.
    pub status_list_max_age: u64,
    /// How old a CRL may be, seconds.
    pub crl_max_age: u64,
}

impl From<&TrustBundle> for TrustBundleSummary {
    fn from(bundle: &TrustBundle) -> Self {
        let pem = |roots: &[String]| {
            dinhdanh_sdk::x509::x5c_to_der_chain(roots)
                .unwrap_or_default()
                .iter()
                .map(|der| dinhdanh_sdk::x509::der_to_pem(der))
                .collect::<String>()
        };
        Self {
            issuer: bundle.iss.clone(),
            version: bundle.version,
            issued_at: bundle.iat,
            usable_until: bundle
                .exp
                .min(bundle.iat.saturating_add(bundle.max_ages.trust_bundle)),
            issuer_roots_pem: pem(&bundle.issuer_roots),
            rp_roots_pem: pem(&bundle.rp_roots),
            rp_status_list_url: bundle.status_lists.relying_parties.clone(),
            rp_crl_url: bundle.crls.relying_parties.clone(),
            credential_status_lists: bundle.status_lists.credentials.clone(),
            status_list_max_age: bundle.max_ages.status_list,
            crl_max_age: bundle.max_ages.crl,
        }
    }
}

/// Verifies a trust bundle (`trust-bundle+jwt`, from the agency's `/trust/bundle`) against the
/// agency roots the app pins (PEM), at `now`: its content. Expired is `StaleTrustData`.
#[uniffi::export]
pub fn read_trust_bundle(
    jwt: String,
    agency_roots_pem: String,
    now: u64,
) -> Result<TrustBundleSummary, DinhdanhError> {
    let bundle = TrustBundle::verify(&jwt, &anchors(&agency_roots_pem)?, now)?;
    Ok(TrustBundleSummary::from(&bundle))
}
