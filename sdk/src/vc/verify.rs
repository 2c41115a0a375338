use serde_json::{Map, Value};

use super::{CredentialKind, JwtVcIssuerMetadata, NEVER_DISCLOSABLE, VC_TYP, VcError};
use crate::{
    jose::{JwsHeader, PublicKey},
    sdjwt::{self, ClaimPath, KeyBindingClaims, KeyBindingExpectation, SdJwtError, VerifyOptions},
    status_list::StatusReference,
    x509::{self, ChainPolicy, TrustAnchor},
};

/// How the verifier finds and trusts the issuer's key.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum IssuerTrust<'a> {
    /// One pinned issuer key (tests, or a relying party that pins its issuer).
    Key(&'a PublicKey),
    /// The `x5c` header must chain to one of these anchors, and `iss` (when present) must
    /// match the leaf certificate: a `uniformResourceIdentifier` SAN equal to `iss`, a
    /// `dNSName` SAN equal to the host of an `https` `iss`, or to the name of a `dns:` `iss`.
    Anchors(&'a [TrustAnchor]),
    /// As [`Self::Anchors`], and `iss` must be one of `issuers`.
    AnchoredIssuers {
        /// The roots.
        anchors: &'a [TrustAnchor],
        /// The accepted `iss` values.
        issuers: &'a [String],
    },
    /// JWT VC Issuer Metadata documents the host fetched for the issuers it trusts.
    Metadata(&'a [JwtVcIssuerMetadata]),
}

/// How to verify an SD-JWT VC.
#[derive(Debug, Clone, Copy)]
pub struct VcVerifyOptions<'a> {
    /// Where the issuer key comes from.
    pub trust: IssuerTrust<'a>,
    /// The current time, seconds since the Unix epoch.
    pub now: u64,
    /// Tolerated clock skew, seconds.
    pub skew: u64,
    /// The Key Binding expectation; `None` accepts a credential without KB-JWT.
    pub key_binding: Option<KeyBindingExpectation<'a>>,
    /// The `vct` values accepted; `None` accepts any.
    pub accepted_vcts: Option<&'a [&'a str]>,
}

/// A verified SD-JWT VC presentation.
#[derive(Debug, Clone)]
pub struct VerifiedVc {
    /// The credential type.
    pub vct: String,
    /// The dinhdanh credential kind, when `vct` is one of ours.
    pub kind: Option<CredentialKind>,
    /// The issuer identifier, if present.
    pub iss: Option<String>,
    /// Every claim the verifier can see (registered ones included), `_sd` removed.
    pub claims: Map<String, Value>,
    /// The paths of the disclosed claims.
    pub disclosed: Vec<ClaimPath>,
    /// The status list entry, when the credential has one.
    pub status: Option<StatusReference>,
    /// The holder key from `cnf.jwk`.
    pub holder_key: Option<PublicKey>,
    /// The KB-JWT claims, when there was one.
    pub key_binding: Option<KeyBindingClaims>,
    /// `exp`, if present.
    pub expires_at: Option<u64>,
    /// The subject of the issuer's certificate, when trust came from an `x5c` chain.
    pub issuer_certificate: Option<String>,
}

/// Verifies an SD-JWT VC presentation (compact serialization).
pub fn verify_vc(presentation: &str, options: &VcVerifyOptions<'_>) -> Result<VerifiedVc, VcError> {
    let mut issuer_certificate = None;
    // The SD-JWT layer knows issuer key failures only as text; the typed error (an untrusted
    // chain, an expired certificate) is kept here and returned in its place.
    let mut key_error = None;
    let mut resolve =
        |header: &JwsHeader, payload: &Map<String, Value>| -> Result<PublicKey, SdJwtError> {
            header.require_typ(VC_TYP)?;
            issuer_key(header, payload, options, &mut issuer_certificate).map_err(|error| {
                let flattened = SdJwtError::from(error.clone());
                key_error = Some(error);
                flattened
            })
        };
    let verified = sdjwt::verify(
        presentation,
        &VerifyOptions {
            now: options.now,
            skew: options.skew,
            key_binding: options.key_binding,
        },
        &mut resolve,
    )
    .map_err(|error| key_error.take().unwrap_or(VcError::SdJwt(error)))?;
    if let Some(path) = verified.disclosed.iter().find(|path| {
        path.segments()
            .first()
            .is_some_and(|first| NEVER_DISCLOSABLE.contains(&first.as_str()))
    }) {
        return Err(VcError::NeverDisclosable(path.to_string()));
    }
    let claims = verified.claims;
    let vct = match claims.get("vct") {
        Some(Value::String(vct)) if !vct.is_empty() => vct.clone(),
        _ => {
            return Err(VcError::Claim(
                "vct".into(),
                "is required and must be a string",
            ));
        }
    };
    if let Some(accepted) = options.accepted_vcts
        && !accepted.contains(&vct.as_str())
    {
        return Err(VcError::UnacceptedType(vct));
    }
    let iss = match claims.get("iss") {
        None => None,
        Some(Value::String(iss)) => Some(iss.clone()),
        Some(_) => return Err(VcError::Claim("iss".into(), "must be a string")),
    };
    let status = claims
        .get("status")
        .map(StatusReference::from_status_claim)
        .transpose()?;
    let holder_key = match claims.get("cnf") {
        None => None,
        Some(cnf) => match cnf.get("jwk") {
            Some(jwk) => Some(PublicKey::from_jwk_unvalidated(jwk)?),
            None => return Err(VcError::Claim("cnf".into(), "must hold a jwk")),
        },
    };
    Ok(VerifiedVc {
        kind: CredentialKind::from_vct(&vct),
        vct,
        iss,
        expires_at: claims.get("exp").and_then(Value::as_u64),
        claims,
        disclosed: verified.disclosed,
        status,
        holder_key,
        key_binding: verified.key_binding,
        issuer_certificate,
    })
}

fn issuer_key(
    header: &JwsHeader,
    payload: &Map<String, Value>,
    options: &VcVerifyOptions<'_>,
    certificate: &mut Option<String>,
) -> Result<PublicKey, VcError> {
    let iss = payload.get("iss").and_then(Value::as_str);
    match options.trust {
        IssuerTrust::Key(key) => Ok(key.clone()),
        IssuerTrust::Metadata(documents) => {
            let iss = iss.ok_or_else(|| VcError::IssuerKey("no iss to find metadata by".into()))?;
            let document = documents
                .iter()
                .find(|document| document.issuer == iss)
                .ok_or_else(|| VcError::IssuerKey(format!("no trusted metadata for {iss:?}")))?;
            Ok(document.key_for(iss, header.kid.as_deref())?.clone())
        }
        IssuerTrust::AnchoredIssuers { anchors, issuers } => {
            if !iss.is_some_and(|iss| issuers.iter().any(|known| known == iss)) {
                return Err(VcError::IssuerKey(format!(
                    "iss {iss:?} is not a trusted issuer"
                )));
            }
            let options = VcVerifyOptions {
                trust: IssuerTrust::Anchors(anchors),
                ..*options
            };
            issuer_key(header, payload, &options, certificate)
        }
        IssuerTrust::Anchors(anchors) => {
            let x5c = header
                .x5c
                .as_deref()
                .ok_or_else(|| VcError::IssuerKey("no x5c header".into()))?;
            let chain = x509::x5c_to_der_chain(x5c)?;
            let validated = x509::validate_chain(
                &chain,
                anchors,
                &ChainPolicy::at(options.now).require_digital_signature(),
            )?;
            if let Some(iss) = iss
                && !iss_matches_certificate(
                    iss,
                    &validated.leaf_uris(),
                    &validated.leaf_dns_names(),
                )
            {
                return Err(VcError::IssuerKey(format!(
                    "iss {iss:?} does not match the issuer certificate"
                )));
            }
            let sec1 = validated
                .leaf_public_key_sec1()
                .ok_or_else(|| VcError::IssuerKey("issuer certificate key is not P-256".into()))?;
            *certificate = Some(validated.leaf_subject());
            Ok(PublicKey::from_sec1(sec1)?)
        }
    }
}

/// draft-24 section 3.5 and HAIP 1.0: `iss` is bound to the leaf certificate by a SAN.
fn iss_matches_certificate(iss: &str, uris: &[String], dns_names: &[String]) -> bool {
    if uris.iter().any(|uri| uri == iss) {
        return true;
    }
    let host = if let Some(name) = iss.strip_prefix("dns:") {
        Some(name)
    } else {
        iss.strip_prefix("https://")
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(rest))
            .filter(|host| !host.contains('@') && !host.contains(':'))
    };
    host.is_some_and(|host| dns_names.iter().any(|name| name.eq_ignore_ascii_case(host)))
}

#[cfg(test)]
mod tests;
