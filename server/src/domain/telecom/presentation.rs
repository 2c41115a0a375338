//! The server's own check of a wallet presentation an operator posts with a SIM binding: the
//! operator verified it already, but the binding must not rest on the operator's word.
//!
//! The SDK verifier checks the PID (SD-JWT VC, `urn:vn:dinhdanh:pid:1`): the issuer's `x5c`
//! chain to the agency root, the disclosures, the key-binding JWT (holder signature, `aud` = the
//! operator's client id, the nonce the operator's request carried, `iat` fresh), expiry, and the
//! credential's status in the agency's current status list. The nonce is then used up for this
//! operator (single use), so one presentation binds once.

use dinhdanh_sdk::{
    jose::UnverifiedJws,
    vc::{CredentialKind, Rejection},
    verifier::{
        IssuerTrustData, KeyBindingPolicy, StatusListCache, StatusPolicy, StatusTrust,
        VerificationPolicy, verify_presentation,
    },
};
use ring::digest;
use serde_json::Value;

use super::subscriptions::TelecomError;
use crate::{domain::Services, domain::status, store::RelyingPartyRow};

/// Longest nonce accepted.
const MAX_NONCE: usize = 256;

/// The one presentation in a `vp_token`: the string itself, or (OpenID4VP 1.0) an object
/// whose one credential query answers with one presentation.
fn single_presentation(vp_token: &Value) -> Result<&str, TelecomError> {
    let shape = || {
        TelecomError::InvalidRequest(
            "presentation.vp_token must hold exactly one presentation".into(),
        )
    };
    match vp_token {
        Value::String(presentation) => Ok(presentation),
        Value::Object(queries) => {
            let mut found = queries.values().flat_map(|answer| match answer {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            });
            let (Some(Value::String(one)), None) = (found.next(), found.next()) else {
                return Err(shape());
            };
            Ok(one)
        }
        _ => Err(shape()),
    }
}

/// The status list a credential names, when it is one of this server's: its id. Read from the
/// issuer-signed JWT before the signature is checked, only to choose which list to load; the
/// verifier checks the signature and the status with it.
fn status_list_id(services: &Services, presentation: &str) -> Option<i64> {
    let jwt = presentation.split('~').next()?;
    let jws = UnverifiedJws::parse(jwt).ok()?;
    let claims: Value = serde_json::from_slice(jws.unverified_payload()).ok()?;
    let uri = claims.pointer("/status/status_list/uri")?.as_str()?;
    let prefix = status::list_uri(&services.public_url, 0);
    let prefix = prefix.strip_suffix('0')?;
    uri.strip_prefix(prefix)?.parse().ok()
}

fn refused(rejection: Rejection) -> TelecomError {
    TelecomError::Presentation(match rejection {
        Rejection::Revoked => "revoked",
        Rejection::Suspended => "suspended",
        Rejection::Expired => "expired",
        Rejection::Forged => "forged",
        Rejection::UntrustedIssuer => "untrusted_issuer",
        Rejection::StaleTrustData => "stale_trust_data",
        _ => "malformed",
    })
}

/// Verifies the presentation for `operator` and uses its nonce up: the ID number the PID
/// discloses (`personal_identifier`).
pub async fn verify(
    services: &Services,
    operator: &RelyingPartyRow,
    vp_token: &Value,
    nonce: &str,
) -> Result<String, TelecomError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE {
        return Err(TelecomError::InvalidRequest(
            "presentation.nonce is required (at most 256 characters)".into(),
        ));
    }
    let presentation = single_presentation(vp_token)?;
    let now = crate::platform::clock::now();
    let settings = &services.config.telecom;
    let anchor = services
        .issuer
        .trust_anchor()
        .map_err(|error| TelecomError::Internal(error.to_string()))?;
    let mut status_lists = StatusListCache::new();
    if let Some(list_id) = status_list_id(services, presentation) {
        let served = status::token(
            &services.store,
            &services.issuer,
            &services.public_url,
            &services.config.issuance,
            list_id,
            now,
        )
        .await
        .map_err(|error| TelecomError::Internal(error.to_string()))?;
        if let Some(served) = served {
            status_lists
                .insert(
                    &status::list_uri(&services.public_url, list_id),
                    &served.token,
                    &StatusTrust::Key(services.issuer.signer.public_key().clone()),
                    now.max(0) as u64,
                )
                .map_err(|error| refused(error.rejection()))?;
        }
    }
    let policy = VerificationPolicy {
        accepted_vcts: vec![CredentialKind::Pid.vct().to_owned()],
        // The agency's own PIDs: its root also certifies relying parties (whose dNSName could
        // match an iss of their choosing) and citizens.
        issuer_trust: IssuerTrustData::AnchoredIssuers {
            anchors: vec![anchor],
            issuers: vec![services.public_url.clone()],
        },
        // The server's own root: current by definition.
        trust_as_of: now.max(0) as u64,
        max_trust_age: 60,
        skew: settings.clock_skew_seconds.max(0) as u64,
        key_binding: Some(KeyBindingPolicy {
            audience: operator.client_id.clone(),
            nonce: nonce.to_owned(),
            max_age: settings.presentation_max_age_seconds.max(0) as u64,
        }),
        status: StatusPolicy {
            max_age: services.config.issuance.status_validity_seconds.max(0) as u64,
            require_status: true,
        },
    };
    let verified = verify_presentation(presentation, &policy, &status_lists, now.max(0) as u64)
        .map_err(|error| refused(error.rejection()))?;
    let id_number = verified
        .claims
        .get("personal_identifier")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            TelecomError::InvalidRequest(
                "the presentation must disclose personal_identifier".into(),
            )
        })?
        .to_owned();
    // Single use per operator, remembered as long as a key-binding JWT with it could pass.
    let digest = nonce_digest(&operator.id, nonce);
    let keep_until = now + settings.presentation_max_age_seconds + 2 * settings.clock_skew_seconds;
    if !services.store.use_once(&digest, keep_until).await? {
        return Err(TelecomError::Presentation("nonce_used"));
    }
    Ok(id_number)
}

fn nonce_digest(operator_id: &str, nonce: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"telecom-presentation-nonce\0");
    context.update(operator_id.as_bytes());
    context.update(b"\0");
    context.update(nonce.as_bytes());
    context.finish().as_ref().to_vec()
}
