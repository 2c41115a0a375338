//! DPoP (RFC 9449) at the issuer: the proof a request carries, and the binding rule of the
//! credential endpoint. The HTTP layer hands in the header values; what they must say is decided
//! here.

use dinhdanh_sdk::openid4vci::dpop::{self, DpopExpectation, VerifiedDpop};

use super::{AccessGrant, OauthError};
use crate::Services;

/// The DPoP proof of a request to `path` on this server, checked, if the request carries one:
/// `values` are its `DPoP` header values (at most one is allowed). `access_token` and
/// `bound_jkt` are given where the proof must cover a token and its key.
pub fn request_proof(
    services: &Services,
    values: &[&[u8]],
    path: &str,
    access_token: Option<&str>,
    bound_jkt: Option<&str>,
) -> Result<Option<VerifiedDpop>, OauthError> {
    let proof = match values {
        [] => return Ok(None),
        [value] => std::str::from_utf8(value)
            .ok()
            .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..0x7f).contains(&b)))
            .ok_or_else(|| OauthError::InvalidDpopProof("the DPoP header is not text".into()))?,
        _ => {
            return Err(OauthError::InvalidDpopProof(
                "more than one DPoP header".into(),
            ));
        }
    };
    let settings = &services.config.issuance;
    let htu = format!("{}{path}", services.public_url);
    let verified = dpop::verify(
        proof,
        &DpopExpectation {
            htm: "POST",
            htu: &htu,
            access_token,
            bound_jkt,
            now: crate::platform::clock::now().max(0) as u64,
            max_age: settings.proof_max_age_seconds.max(0) as u64,
            skew: settings.clock_skew_seconds.max(0) as u64,
        },
    )?;
    Ok(Some(verified))
}

/// The proof a credential request must carry for its access token (RFC 9449 section 7): a
/// DPoP-bound token only with the `DPoP` scheme and a proof by its key, a bearer token only with
/// the `Bearer` scheme. `dpop_scheme` says which scheme presented `token`.
pub fn credential_proof(
    services: &Services,
    grant: &AccessGrant,
    token: &str,
    dpop_scheme: bool,
    values: &[&[u8]],
) -> Result<Option<VerifiedDpop>, OauthError> {
    match (&grant.jkt, dpop_scheme) {
        (Some(jkt), true) => {
            let proof = request_proof(services, values, "/credential", Some(token), Some(jkt))?;
            Ok(Some(proof.ok_or_else(|| {
                OauthError::InvalidDpopProof("a DPoP-bound token needs a DPoP proof".into())
            })?))
        }
        (Some(_), false) => Err(OauthError::InvalidToken(
            "a DPoP-bound token must be presented with the DPoP scheme".into(),
        )),
        (None, true) => Err(OauthError::InvalidToken(
            "a Bearer token presented with the DPoP scheme".into(),
        )),
        (None, false) => Ok(None),
    }
}
