//! The agency's **trust bundle**: one signed, versioned document (`trust-bundle+jwt`) holding
//! everything an offline verifier or a wallet trusts and how long each piece may be cached — the
//! roots of credential issuers and of relying parties, where status lists and CRLs are fetched,
//! and their maximum ages. An app refreshes this one document, not five; it pins only the
//! agency's root, which signs the bundle (through the agency's issuing certificate, `x5c`).
//!
//! A bundle is refused when its signature or chain does not verify, when it has expired ("too
//! old" is an error, not a pass), and, through [`TrustBundle::check_replaces`], when it is older
//! than the one the host holds (a rollback to a bundle that still trusted a revoked party).

use serde::{Deserialize, Serialize};

use crate::{
    jose::{JwsHeader, JwsSigner, sign_compact},
    openid4vp::{request::verify_x5c_jws, response::ResponsePolicy},
    verifier::{IssuerTrustData, StatusPolicy},
    x509::{self, TrustAnchor},
};

/// The `typ` of a trust bundle.
pub const TRUST_BUNDLE_TYP: &str = "trust-bundle+jwt";

/// Why a trust bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustBundleError {
    /// The signature, the `x5c` chain or the document's form is wrong.
    #[error("invalid trust bundle: {0}")]
    Invalid(String),
    /// The bundle expired, or is older than its own maximum age allows.
    #[error("the trust bundle is stale: issued at {iat}, usable until {until}, now {now}")]
    Stale {
        /// When it was issued.
        iat: u64,
        /// Until when it could be used.
        until: u64,
        /// The time of the check.
        now: u64,
    },
    /// The bundle is older than the one held (a rollback).
    #[error("trust bundle version {offered} is older than the held version {held}")]
    Rollback {
        /// The version offered.
        offered: u64,
        /// The version held.
        held: u64,
    },
}

/// Where status lists are fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListLocations {
    /// The URI prefix of the credentials' status lists (a credential's `status.status_list.uri`
    /// starts with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The status list of relying parties' registrations (a revoked relying party is set in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_parties: Option<String>,
}

/// Where certificate revocation lists are fetched (DER).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlLocations {
    /// The relying-party CA's CRL (access certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_parties: Option<String>,
    /// The citizen signing CA's CRL (signing certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<String>,
}

/// How long each piece of trust data may be used after it was issued, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxAges {
    /// This bundle (also its `exp - iat`).
    pub trust_bundle: u64,
    /// A status list token.
    pub status_list: u64,
    /// A CRL, when its own `nextUpdate` is later.
    pub crl: u64,
}

impl Default for MaxAges {
    /// A day for the bundle and for CRLs, [`StatusPolicy::DEFAULT_MAX_AGE`] for status lists.
    fn default() -> Self {
        Self {
            trust_bundle: ResponsePolicy::DEFAULT_MAX_TRUST_AGE,
            status_list: StatusPolicy::DEFAULT_MAX_AGE,
            crl: 86_400,
        }
    }
}

/// A trust bundle's content (the JWT's claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustBundle {
    /// The agency (its public URL).
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Increases whenever the content changes (a new root, a relying party revoked).
    pub version: u64,
    /// The roots credentials' `x5c` chains lead to: base64 (not url) DER, as in `x5c`.
    pub issuer_roots: Vec<String>,
    /// The roots relying parties' access certificates and registrations lead to: base64 DER.
    pub rp_roots: Vec<String>,
    /// Status-list locations.
    #[serde(default)]
    pub status_lists: StatusListLocations,
    /// CRL locations.
    #[serde(default)]
    pub crls: CrlLocations,
    /// Maximum ages.
    pub max_ages: MaxAges,
}

impl TrustBundle {
    /// Signs the bundle with the agency's key (`chain`: its certificate, leaf first, up to but
    /// not including the root the verifiers pin).
    pub fn sign(
        &self,
        signer: &dyn JwsSigner,
        chain: &[Vec<u8>],
    ) -> Result<String, TrustBundleError> {
        self.check_form()?;
        let header = JwsHeader {
            x5c: Some(x509::der_chain_to_x5c(chain)),
            ..JwsHeader::es256(TRUST_BUNDLE_TYP)
        };
        let payload =
            serde_json::to_vec(self).map_err(|e| TrustBundleError::Invalid(e.to_string()))?;
        sign_compact(&header, &payload, signer)
            .map_err(|e| TrustBundleError::Invalid(e.to_string()))
    }

    /// Verifies a bundle JWT signed through a chain leading to one of `agency_roots` (pinned in
    /// the app), at `now`: refused when invalid, or [`TrustBundleError::Stale`] once expired.
    pub fn verify(
        jwt: &str,
        agency_roots: &[TrustAnchor],
        now: u64,
    ) -> Result<Self, TrustBundleError> {
        let (chain, payload) = verify_x5c_jws(jwt, TRUST_BUNDLE_TYP, agency_roots, now)
            .map_err(TrustBundleError::Invalid)?;
        let bundle: Self = serde_json::from_slice(&payload)
            .map_err(|e| TrustBundleError::Invalid(e.to_string()))?;
        // The agency's own certificate (its `iss` as a URI SAN, as a credential issuer's):
        // relying parties' and citizens' certificates chain to the same root and must not be
        // able to sign a bundle.
        if !chain.leaf_uris().contains(&bundle.iss) {
            return Err(TrustBundleError::Invalid(
                "the bundle is not signed by the certificate of its iss".into(),
            ));
        }
        bundle.check_form()?;
        bundle.check_fresh(now)?;
        Ok(bundle)
    }

    /// Whether the bundle may still be used at `now`: before its `exp` and within its own
    /// maximum age (an offline host keeps using a cached bundle until then).
    pub fn check_fresh(&self, now: u64) -> Result<(), TrustBundleError> {
        let until = self
            .exp
            .min(self.iat.saturating_add(self.max_ages.trust_bundle));
        if now >= until {
            return Err(TrustBundleError::Stale {
                iat: self.iat,
                until,
                now,
            });
        }
        Ok(())
    }

    /// Refuses this bundle as a replacement of `held` when it is older (a lower version, or the
    /// same version issued earlier).
    pub fn check_replaces(&self, held: &Self) -> Result<(), TrustBundleError> {
        if (self.version, self.iat) < (held.version, held.iat) {
            return Err(TrustBundleError::Rollback {
                offered: self.version,
                held: held.version,
            });
        }
        Ok(())
    }

    /// The credential issuers' trust anchors.
    pub fn issuer_anchors(&self) -> Result<Vec<TrustAnchor>, TrustBundleError> {
        anchors(&self.issuer_roots)
    }

    /// How credentials are trusted under this bundle: chained to its issuer roots and issued by
    /// the agency itself (its `iss`). The roots anchor relying parties' and citizens'
    /// certificates too, which must not pass for credential issuers.
    pub fn issuer_trust(&self) -> Result<IssuerTrustData, TrustBundleError> {
        Ok(IssuerTrustData::AnchoredIssuers {
            anchors: self.issuer_anchors()?,
            issuers: vec![self.iss.clone()],
        })
    }

    /// The relying parties' trust anchors.
    pub fn rp_anchors(&self) -> Result<Vec<TrustAnchor>, TrustBundleError> {
        anchors(&self.rp_roots)
    }

    /// A relying party's policy under this bundle: its issuer roots, trusted as of its `iat`
    /// for its own maximum age, status lists at most `max_ages.status_list` old, and the other
    /// settings at their defaults ([`ResponsePolicy::new`]).
    pub fn response_policy(&self) -> Result<ResponsePolicy, TrustBundleError> {
        let mut policy = ResponsePolicy::new(self.issuer_trust()?, self.iat);
        self.apply(&mut policy)?;
        Ok(policy)
    }

    /// Puts this bundle's issuer roots and maximum ages into an existing policy (keeping its
    /// skew and presentation age).
    pub fn apply(&self, policy: &mut ResponsePolicy) -> Result<(), TrustBundleError> {
        policy.issuer_trust = self.issuer_trust()?;
        policy.trust_as_of = self.iat;
        policy.max_trust_age = self
            .max_ages
            .trust_bundle
            .min(self.exp.saturating_sub(self.iat));
        policy.status.max_age = self.max_ages.status_list;
        Ok(())
    }

    fn check_form(&self) -> Result<(), TrustBundleError> {
        if self.issuer_roots.is_empty() {
            return Err(TrustBundleError::Invalid("no issuer root".into()));
        }
        if self.exp <= self.iat {
            return Err(TrustBundleError::Invalid("exp is not after iat".into()));
        }
        self.issuer_anchors()?;
        self.rp_anchors()?;
        Ok(())
    }
}

fn anchors(roots: &[String]) -> Result<Vec<TrustAnchor>, TrustBundleError> {
    x509::x5c_to_der_chain(roots)
        .map_err(|e| TrustBundleError::Invalid(e.to_string()))?
        .iter()
        .map(|der| TrustAnchor::from_der(der))
        .collect::<Result<_, _>>()
        .map_err(|e| TrustBundleError::Invalid(format!("a root: {e}")))
}

#[cfg(test)]
#[cfg(feature = "dev-pki")]
mod tests {
    use super::*;
    use crate::{
        jose::Es256KeyPair,
        x509::dev::{DevCa, LeafProfile},
    };

    const NOW: u64 = 1_800_000_000;

    struct Agency {
        root: DevCa,
        key: Es256KeyPair,
        chain: Vec<Vec<u8>>,
    }

    fn agency(name: &str) -> Agency {
        let root_key = Es256KeyPair::generate().unwrap();
        let root = DevCa::generate(&root_key, name, NOW - 1_000, NOW + 1_000_000).unwrap();
        let key = Es256KeyPair::generate().unwrap();
        let leaf = root
            .issue(
                key.public_key(),
                &LeafProfile {
                    common_name: "issuer",
                    uris: &["https://id.example.vn"],
                    not_before: NOW - 1_000,
                    not_after: NOW + 1_000_000,
                    ..LeafProfile::default()
                },
            )
            .unwrap();
        Agency {
            root,
            key,
            chain: vec![leaf],
        }
    }

    fn bundle(agency: &Agency, version: u64) -> TrustBundle {
        let root = x509::der_chain_to_x5c(&[agency.root.certificate_der().to_vec()]);
        TrustBundle {
            iss: "https://id.example.vn".into(),
            iat: NOW,
            exp: NOW + 86_400,
            version,
            issuer_roots: root.clone(),
            rp_roots: root,
            status_lists: StatusListLocations {
                credentials: Some("https://id.example.vn/status/".into()),
                relying_parties: Some("https://id.example.vn/status/rp".into()),
            },
            crls: CrlLocations {
                relying_parties: Some("https://id.example.vn/crl/rp.crl".into()),
                signing: None,
            },
            max_ages: MaxAges::default(),
        }
    }

    #[test]
    fn a_signed_bundle_verifies_and_sets_the_policy() {
        let agency = agency("agency");
        let jwt = bundle(&agency, 3).sign(&agency.key, &agency.chain).unwrap();
        let anchor = agency.root.trust_anchor().unwrap();
        let read = TrustBundle::verify(&jwt, &[anchor], NOW + 10).unwrap();
        assert_eq!(read, bundle(&agency, 3));
        let policy = read.response_policy().unwrap();
        assert_eq!(policy.trust_as_of, NOW);
        assert_eq!(policy.max_trust_age, 86_400);
        assert_eq!(policy.status.max_age, StatusPolicy::DEFAULT_MAX_AGE);
        assert!(matches!(
            policy.issuer_trust,
            IssuerTrustData::AnchoredIssuers { ref anchors, ref issuers }
                if anchors.len() == 1 && issuers == &["https://id.example.vn"]
        ));
        assert_eq!(read.rp_anchors().unwrap().len(), 1);
    }

    #[test]
    fn another_agency_a_wrong_type_or_a_changed_claim_is_refused() {
        let agency = agency("agency");
        let other = agency_other();
        let jwt = bundle(&other, 1).sign(&other.key, &other.chain).unwrap();
        let anchor = agency.root.trust_anchor().unwrap();
        assert!(matches!(
            TrustBundle::verify(&jwt, std::slice::from_ref(&anchor), NOW),
            Err(TrustBundleError::Invalid(_))
        ));

        let good = bundle(&agency, 1).sign(&agency.key, &agency.chain).unwrap();
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut changed = bundle(&agency, 1);
        changed.version = 99;
        let forged_payload = crate::jose::b64::encode(serde_json::to_vec(&changed).unwrap());
        parts[1] = &forged_payload;
        assert!(matches!(
            TrustBundle::verify(&parts.join("."), std::slice::from_ref(&anchor), NOW),
            Err(TrustBundleError::Invalid(_))
        ));

        // A registration (another typ) signed by the same key is not a bundle.
        let header = JwsHeader {
            x5c: Some(x509::der_chain_to_x5c(&agency.chain)),
            ..JwsHeader::es256("rp-registration+jwt")
        };
        let payload = serde_json::to_vec(&bundle(&agency, 1)).unwrap();
        let other_typ = sign_compact(&header, &payload, &agency.key).unwrap();
        assert!(TrustBundle::verify(&other_typ, &[anchor], NOW).is_err());
    }

    #[test]
    fn a_bundle_signed_by_another_certificate_under_the_root_is_refused() {
        // A relying party's or a citizen's certificate chains to the agency root too; only the
        // certificate naming the bundle's iss may sign it.
        let agency = agency("agency");
        let key = Es256KeyPair::generate().unwrap();
        let stranger = agency
            .root
            .issue(
                key.public_key(),
                &LeafProfile {
                    common_name: "a relying party",
                    dns_names: &["id.example.vn"],
                    not_before: NOW - 1_000,
                    not_after: NOW + 1_000_000,
                    ..LeafProfile::default()
                },
            )
            .unwrap();
        let jwt = bundle(&agency, u64::MAX).sign(&key, &[stranger]).unwrap();
        let anchor = agency.root.trust_anchor().unwrap();
        assert!(matches!(
            TrustBundle::verify(&jwt, &[anchor], NOW),
            Err(TrustBundleError::Invalid(reason)) if reason.contains("iss")
        ));
    }

    fn agency_other() -> Agency {
        agency("another agency")
    }

    #[test]
    fn an_expired_bundle_is_stale_and_an_older_one_is_a_rollback() {
        let agency = agency("agency");
        let mut short = bundle(&agency, 2);
        short.max_ages.trust_bundle = 600;
        let jwt = short.sign(&agency.key, &agency.chain).unwrap();
        let anchor = agency.root.trust_anchor().unwrap();
        assert!(TrustBundle::verify(&jwt, std::slice::from_ref(&anchor), NOW + 599).is_ok());
        assert!(matches!(
            TrustBundle::verify(&jwt, std::slice::from_ref(&anchor), NOW + 600),
            Err(TrustBundleError::Stale { until, .. }) if until == NOW + 600
        ));

        let held = bundle(&agency, 5);
        assert!(matches!(
            bundle(&agency, 4).check_replaces(&held),
            Err(TrustBundleError::Rollback {
                offered: 4,
                held: 5
            })
        ));
        assert!(bundle(&agency, 5).check_replaces(&held).is_ok());
        assert!(bundle(&agency, 6).check_replaces(&held).is_ok());
    }

    #[test]
    fn a_bundle_without_issuer_roots_or_with_a_bad_root_is_not_signed() {
        let agency = agency("agency");
        let mut empty = bundle(&agency, 1);
        empty.issuer_roots.clear();
        assert!(empty.sign(&agency.key, &agency.chain).is_err());
        let mut bad = bundle(&agency, 1);
        bad.rp_roots = vec!["AAAA".into()];
        assert!(bad.sign(&agency.key, &agency.chain).is_err());
    }
}
