//! Offline verification of SD-JWT VC presentations under a relying party's policy.
//!
//! One call, [`verify_presentation`], checks everything a relying party must check before it
//! believes a presentation: the issuer's signature and trust (pinned key, `x5c` chain to a
//! cached trust anchor, or issuer metadata), the disclosures (RFC 9901), key binding (audience,
//! nonce, freshness), the credential type, expiry, and the credential's entry in its status list.
//!
//! Cached data has an age, and the policy says how old it may be: trust data older than
//! [`VerificationPolicy::max_trust_age`] and status lists older than
//! [`StatusPolicy::max_age`] are errors ([`VerificationError::TrustDataStale`],
//! [`VerificationError::StatusStale`]), never a silent pass. A credential that names a status
//! list the verifier has no (fresh) copy of is an error too.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::{
    jose::{JoseError, PublicKey},
    sdjwt::{ClaimPath, KeyBindingExpectation},
    status_list::{Status, StatusListError, StatusListToken, UnverifiedStatusListToken},
    vc::{
        CredentialKind, IssuerTrust, JwtVcIssuerMetadata, Rejection, VcError, VcVerifyOptions,
        verify_vc,
    },
    x509::{self, ChainPolicy, TrustAnchor},
};

/// Where the issuer's key comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IssuerTrustData {
    /// A pinned issuer key.
    Key(PublicKey),
    /// Trust anchors the `x5c` chains must lead to (the agency's root CAs).
    Anchors(Vec<TrustAnchor>),
    /// As [`Self::Anchors`], and the credential's `iss` must be one of `issuers`: for a root
    /// that anchors more than credential issuers (the agency root also certifies relying
    /// parties' and citizens' certificates through its other CAs, and a relying party's
    /// `dNSName` would otherwise match an `iss` of its own choosing).
    AnchoredIssuers {
        /// The roots.
        anchors: Vec<TrustAnchor>,
        /// The `iss` values of the credential issuers under them.
        issuers: Vec<String>,
    },
    /// JWT VC Issuer Metadata of the trusted issuers.
    Metadata(Vec<JwtVcIssuerMetadata>),
}

/// What the relying party requires of key binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBindingPolicy {
    /// The relying party's identifier: the KB-JWT's `aud`.
    pub audience: String,
    /// The nonce this presentation answers.
    pub nonce: String,
    /// Maximum age of the KB-JWT's `iat`, seconds.
    pub max_age: u64,
}

/// How status lists are trusted and how fresh they must be.
#[derive(Debug, Clone)]
pub struct StatusPolicy {
    /// A status list older than this (now − `iat`), seconds, is stale.
    pub max_age: u64,
    /// Refuse credentials that carry no status reference.
    pub require_status: bool,
}

impl StatusPolicy {
    /// How old a status list may be unless the relying party says otherwise: one hour, the
    /// longest a revocation may go unseen.
    pub const DEFAULT_MAX_AGE: u64 = 3_600;
}

impl Default for StatusPolicy {
    /// Lists at most [`StatusPolicy::DEFAULT_MAX_AGE`] old, and a status required: every
    /// credential the agency issues has one, so one without is not the agency's.
    fn default() -> Self {
        Self {
            max_age: Self::DEFAULT_MAX_AGE,
            require_status: true,
        }
    }
}

/// A relying party's verification policy.
#[derive(Debug, Clone)]
pub struct VerificationPolicy {
    /// Accepted credential types (`vct`); empty accepts any.
    pub accepted_vcts: Vec<String>,
    /// How issuers are trusted.
    pub issuer_trust: IssuerTrustData,
    /// When the trust data was obtained (or issued, for a signed trust list), Unix seconds.
    pub trust_as_of: u64,
    /// How old trust data may be, seconds.
    pub max_trust_age: u64,
    /// Tolerated clock skew, seconds.
    pub skew: u64,
    /// Key binding requirements; `None` accepts presentations without KB-JWT (not for
    /// presentations a person makes to you: only for credentials a holder lets you store).
    pub key_binding: Option<KeyBindingPolicy>,
    /// Status checking.
    pub status: StatusPolicy,
}

/// How status list tokens are trusted when they are added to a [`StatusListCache`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StatusTrust {
    /// A pinned status-list signing key.
    Key(PublicKey),
    /// The token's `x5c` must chain to one of these anchors.
    Anchors(Vec<TrustAnchor>),
}

/// Status list tokens the host fetched, verified once when added, looked up by URI.
#[derive(Debug, Default, Clone)]
pub struct StatusListCache {
    tokens: HashMap<String, StatusListToken>,
}

impl StatusListCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies a `statuslist+jwt` fetched from `uri` and keeps it, replacing an older copy; a
    /// token older than the cached one is refused ([`VerificationError::StatusRollback`]).
    pub fn insert(
        &mut self,
        uri: &str,
        token: &str,
        trust: &StatusTrust,
        now: u64,
    ) -> Result<(), VerificationError> {
        let unverified = UnverifiedStatusListToken::parse(token)?;
        let key = match trust {
            StatusTrust::Key(key) => key.clone(),
            StatusTrust::Anchors(anchors) => {
                let x5c =
                    unverified
                        .header()
                        .x5c
                        .as_deref()
                        .ok_or(VerificationError::StatusList(
                            StatusListError::MissingClaim("x5c"),
                        ))?;
                let chain = x509::x5c_to_der_chain(x5c).map_err(VcError::from)?;
                let validated = x509::validate_chain(
                    &chain,
                    anchors,
                    &ChainPolicy::at(now).require_digital_signature(),
                )
                .map_err(VcError::from)?;
                let sec1 = validated.leaf_public_key_sec1().ok_or_else(|| {
                    VcError::IssuerKey("status list certificate key is not P-256".into())
                })?;
                PublicKey::from_sec1(sec1).map_err(VcError::from)?
            }
        };
        let verified = unverified.verify(&key, uri, now)?;
        if let Some(cached) = self.tokens.get(uri)
            && cached.iat > verified.iat
        {
            // A replayed older list could turn a revocation back into "valid".
            return Err(VerificationError::StatusRollback {
                uri: uri.to_owned(),
                cached: cached.iat,
                offered: verified.iat,
            });
        }
        self.tokens.insert(uri.to_owned(), verified);
        Ok(())
    }

    /// The cached token for `uri`.
    pub fn get(&self, uri: &str) -> Option<&StatusListToken> {
        self.tokens.get(uri)
    }
}

/// What a verified presentation says.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The credential type.
    pub vct: String,
    /// The dinhdanh credential kind, when the type is one of ours.
    pub kind: Option<CredentialKind>,
    /// The issuer.
    pub iss: Option<String>,
    /// Every visible claim.
    pub claims: Map<String, Value>,
    /// The selectively disclosed claims, each with its path.
    pub disclosed: Vec<(ClaimPath, Value)>,
    /// The status from the credential's status list; `None` when it has no status reference.
    pub status: Option<Status>,
    /// When the credential expires.
    pub expires_at: Option<u64>,
}

/// Why a presentation was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationError {
    /// The credential or presentation itself is invalid or untrusted.
    #[error(transparent)]
    Credential(#[from] VcError),
    /// A status list problem.
    #[error(transparent)]
    StatusList(#[from] StatusListError),
    /// The trust data is older than the policy allows.
    #[error("trust data is {age} s old, policy allows {max_age} s")]
    TrustDataStale {
        /// Age in seconds.
        age: u64,
        /// The policy's maximum.
        max_age: u64,
    },
    /// The credential names a status list the verifier has no copy of.
    #[error("no status list for {0}")]
    StatusUnavailable(String),
    /// The status list is older than the policy allows.
    #[error("status list {uri} is {age} s old, policy allows {max_age} s")]
    StatusStale {
        /// The list's URI.
        uri: String,
        /// Age in seconds.
        age: u64,
        /// The policy's maximum.
        max_age: u64,
    },
    /// A status list older than the one already cached was offered.
    #[error("status list {uri} issued at {offered} is older than the cached one ({cached})")]
    StatusRollback {
        /// The list's URI.
        uri: String,
        /// `iat` of the cached list.
        cached: u64,
        /// `iat` of the refused list.
        offered: u64,
    },
    /// Trust data or a status list claims to come from the future (beyond the clock skew).
    #[error("{0} is dated in the future")]
    FromTheFuture(&'static str),
    /// The policy requires a status reference and the credential has none.
    #[error("credential has no status reference")]
    StatusMissing,
    /// The status list says the credential is not valid.
    #[error("credential status is {0}")]
    NotValid(Status),
}

impl VerificationError {
    /// What this failure means to the relying party: revoked, suspended, expired, forged, an
    /// untrusted issuer, its own trust data stale, or malformed.
    pub fn rejection(&self) -> Rejection {
        match self {
            Self::Credential(error) => error.rejection(),
            Self::NotValid(Status::Suspended) => Rejection::Suspended,
            Self::NotValid(_) => Rejection::Revoked,
            Self::StatusList(StatusListError::Jose(JoseError::BadSignature)) => Rejection::Forged,
            Self::StatusList(StatusListError::Expired { .. } | StatusListError::Stale { .. })
            | Self::TrustDataStale { .. }
            | Self::StatusUnavailable(_)
            | Self::StatusStale { .. }
            | Self::StatusRollback { .. }
            | Self::FromTheFuture(_) => Rejection::StaleTrustData,
            Self::StatusList(_) | Self::StatusMissing => Rejection::Malformed,
        }
    }
}

/// Verifies `presentation` at `now` under `policy`, with status from `status_lists`.
pub fn verify_presentation(
    presentation: &str,
    policy: &VerificationPolicy,
    status_lists: &StatusListCache,
    now: u64,
) -> Result<Verification, VerificationError> {
    if policy.trust_as_of > now.saturating_add(policy.skew) {
        return Err(VerificationError::FromTheFuture("trust data"));
    }
    let trust_age = now.saturating_sub(policy.trust_as_of);
    if trust_age > policy.max_trust_age {
        return Err(VerificationError::TrustDataStale {
            age: trust_age,
            max_age: policy.max_trust_age,
        });
    }
    let accepted: Vec<&str> = policy.accepted_vcts.iter().map(String::as_str).collect();
    let trust = match &policy.issuer_trust {
        IssuerTrustData::Key(key) => IssuerTrust::Key(key),
        IssuerTrustData::Anchors(anchors) => IssuerTrust::Anchors(anchors),
        IssuerTrustData::AnchoredIssuers { anchors, issuers } => {
            IssuerTrust::AnchoredIssuers { anchors, issuers }
        }
        IssuerTrustData::Metadata(documents) => IssuerTrust::Metadata(documents),
    };
    let options = VcVerifyOptions {
        trust,
        now,
        skew: policy.skew,
        key_binding: policy.key_binding.as_ref().map(|kb| KeyBindingExpectation {
            aud: &kb.audience,
            nonce: &kb.nonce,
            max_age: kb.max_age,
        }),
        accepted_vcts: (!accepted.is_empty()).then_some(accepted.as_slice()),
    };
    let verified = verify_vc(presentation, &options)?;

    let status = match &verified.status {
        None if policy.status.require_status => return Err(VerificationError::StatusMissing),
        None => None,
        Some(reference) => {
            let token = status_lists
                .get(&reference.uri)
                .ok_or_else(|| VerificationError::StatusUnavailable(reference.uri.clone()))?;
            if token.iat > now.saturating_add(policy.skew) {
                return Err(VerificationError::FromTheFuture("the status list"));
            }
            // One freshness rule (age and `exp`), the status list's; its staleness is reported
            // with the list's URI.
            token
                .check_fresh(now, policy.status.max_age)
                .map_err(|error| match error {
                    StatusListError::Stale { iat, now, max_age } => {
                        VerificationError::StatusStale {
                            uri: reference.uri.clone(),
                            age: now.saturating_sub(iat),
                            max_age,
                        }
                    }
                    other => other.into(),
                })?;
            let status = token.status_of(reference)?;
            if !status.is_valid() {
                return Err(VerificationError::NotValid(status));
            }
            Some(status)
        }
    };

    let disclosed = verified
        .disclosed
        .iter()
        .filter_map(|path| {
            path.lookup_in(&verified.claims)
                .map(|value| (path.clone(), value.clone()))
        })
        .collect();
    Ok(Verification {
        vct: verified.vct,
        kind: verified.kind,
        iss: verified.iss,
        disclosed,
        claims: verified.claims,
        status,
        expires_at: verified.expires_at,
    })
}

#[cfg(test)]
mod tests;
