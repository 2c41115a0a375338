//! The signing CA's certificate revocation list (RFC 5280 section 5), `GET /crl/signing.crl`.
//!
//! A revocation moves the list's version in the transaction of its cause; the list is built
//! when it is fetched and the stored one is older than that version, or half its validity has
//! passed (so a cached copy never outlives `nextUpdate`). Each build takes the next CRL number;
//! two processes building at once both sign, and the store keeps the first (the other serves
//! it).

use super::{CaError, SigningAuthority};
use crate::{
    Services,
    store::{RevokedSerial, SigningCrlState, StoreError},
};

/// Why the CRL could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// Signing failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// DER.
    pub der: Vec<u8>,
    /// `thisUpdate`, Unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, Unix seconds.
    pub next_update: i64,
}

/// Builds and signs a CRL of `revoked` with `number`, valid from `this_update` to
/// `next_update` (Unix seconds).
pub fn build(
    authority: &SigningAuthority,
    revoked: &[RevokedSerial],
    number: i64,
    this_update: i64,
    next_update: i64,
) -> Result<Vec<u8>, CaError> {
    use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
    let time = |seconds: i64| {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| CaError::Encoding("time out of range".into()))
    };
    let revoked_certs = revoked
        .iter()
        .map(|entry| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&hex_bytes(&entry.serial)?),
                revocation_time: time(entry.revoked_at)?,
                reason_code: entry.revocation_reason.and_then(reason),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, CaError>>()?;
    let params = CertificateRevocationListParams {
        this_update: time(this_update)?,
        next_update: time(next_update)?,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(&authority.issuer)?.der().to_vec())
}

fn reason(code: i64) -> Option<rcgen::RevocationReason> {
    use rcgen::RevocationReason as R;
    Some(match code {
        1 => R::KeyCompromise,
        3 => R::AffiliationChanged,
        4 => R::Superseded,
        5 => R::CessationOfOperation,
        9 => R::PrivilegeWithdrawn,
        // Unspecified (0) is written as no reason (RFC 5280 5.3.1).
        _ => return None,
    })
}

fn hex_bytes(hex: &str) -> Result<Vec<u8>, CaError> {
    let corrupt = || CaError::Encoding("a stored serial is not hex".into());
    if !hex.len().is_multiple_of(2) {
        return Err(corrupt());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|byte| u8::from_str_radix(byte, 16).ok())
                .ok_or_else(corrupt)
        })
        .collect()
}

/// True when the stored CRL may be served at `now`: built from the current version, and less
/// than half its validity old.
fn fresh(state: &SigningCrlState, now: i64) -> Option<Crl> {
    let (Some(der), Some(version), Some(this_update), Some(next_update)) = (
        &state.crl,
        state.crl_version,
        state.this_update,
        state.next_update,
    ) else {
        return None;
    };
    let half = (next_update - this_update) / 2;
    (version == state.version && now < this_update + half).then(|| Crl {
        der: der.clone(),
        this_update,
        next_update,
    })
}

/// The current CRL: the stored one when fresh, else a new one (built, signed and stored).
pub async fn current(services: &Services) -> Result<Crl, CrlError> {
    let store = &services.store;
    let now = crate::platform::clock::now();
    if let Some(crl) = fresh(&store.signing_crl_state().await?, now) {
        return Ok(crl);
    }
    let authority = &services.signing;
    let _building = authority.crl_build.lock().await;
    let state = store.signing_crl_state().await?;
    if let Some(crl) = fresh(&state, now) {
        return Ok(crl);
    }
    // Read after the version: a revocation committed in between is in the list, and moves the
    // version past the one recorded, so the next fetch builds again.
    let revoked = store.revoked_signing_certificates().await?;
    let number = state.crl_number + 1;
    let next_update = now + services.config.signing.crl_validity_seconds;
    let der = build(authority, &revoked, number, now, next_update)?;
    let crl = Crl {
        der,
        this_update: now,
        next_update,
    };
    if store
        .store_signing_crl(
            state.crl_number,
            number,
            state.version,
            &crl.der,
            now,
            next_update,
        )
        .await?
    {
        return Ok(crl);
    }
    // Another process stored its CRL with that number first: serve the stored one.
    let state = store.signing_crl_state().await?;
    match (state.crl, state.this_update, state.next_update) {
        (Some(der), Some(this_update), Some(next_update)) => Ok(Crl {
            der,
            this_update,
            next_update,
        }),
        _ => Ok(crl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_and_reasons() {
        assert_eq!(hex_bytes("01ff").unwrap(), vec![1, 255]);
        assert!(hex_bytes("1").is_err());
        assert!(hex_bytes("zz").is_err());
        assert_eq!(reason(0), None);
        assert_eq!(reason(1), Some(rcgen::RevocationReason::KeyCompromise));
    }
}
