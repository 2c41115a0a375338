use serde_json::{Map, Value};

use super::{CredentialKind, NEVER_DISCLOSABLE, VC_TYP, VcError, normalize_nfc};
use crate::{
    jose::{JwsHeader, JwsSigner, PublicKey},
    sdjwt::{ClaimPath, SdJwtIssuer},
    status_list::StatusReference,
};

/// The registered claims and header of one SD-JWT VC.
#[derive(Debug, Clone, Default)]
pub struct VcIssuance<'a> {
    /// `vct`, the credential type.
    pub vct: &'a str,
    /// `iss`, the issuer identifier (an https URL); optional in draft-24, required by HAIP.
    pub iss: Option<&'a str>,
    /// `iat`, seconds since the Unix epoch.
    pub iat: u64,
    /// `nbf`.
    pub nbf: Option<u64>,
    /// `exp`.
    pub exp: Option<u64>,
    /// The holder's key, placed in `cnf.jwk` for key binding.
    pub holder_key: Option<&'a PublicKey>,
    /// The credential's entry in a status list.
    pub status: Option<&'a StatusReference>,
    /// The issuer's certificate chain for the `x5c` header (leaf first, standard base64 DER).
    pub x5c: Option<Vec<String>>,
    /// `kid` header, for issuers found through JWT VC Issuer Metadata.
    pub kid: Option<&'a str>,
}

/// Issues an SD-JWT VC: `claims` (without registered claims) with the claims at `disclosable`
/// selectively disclosable. Text is normalized to NFC. When `vct` is one of dinhdanh's
/// [`CredentialKind`]s, the claims must satisfy its schema.
pub fn issue_vc(
    signer: &dyn JwsSigner,
    issuance: &VcIssuance<'_>,
    mut claims: Map<String, Value>,
    disclosable: &[ClaimPath],
) -> Result<String, VcError> {
    for name in NEVER_DISCLOSABLE.iter().chain(&["iat"]) {
        if claims.contains_key(*name) {
            return Err(VcError::Claim(
                (*name).into(),
                "is set from the issuance parameters, not the claims",
            ));
        }
    }
    if let Some(path) = disclosable.iter().find(|path| {
        path.segments()
            .first()
            .is_some_and(|first| NEVER_DISCLOSABLE.contains(&first.as_str()))
    }) {
        return Err(VcError::NeverDisclosable(path.to_string()));
    }
    if issuance.vct.is_empty() {
        return Err(VcError::Claim("vct".into(), "must not be empty"));
    }
    for (name, value) in &mut claims {
        if !unicode_normalization::is_nfc(name) {
            return Err(VcError::Claim(name.clone(), "claim names must be NFC"));
        }
        normalize_nfc(value);
    }
    if let Some(kind) = CredentialKind::from_vct(issuance.vct) {
        kind.validate(&claims)?;
    }

    let mut payload = Map::with_capacity(claims.len() + 7);
    if let Some(iss) = issuance.iss {
        payload.insert("iss".into(), iss.into());
    }
    payload.insert("iat".into(), issuance.iat.into());
    if let Some(nbf) = issuance.nbf {
        payload.insert("nbf".into(), nbf.into());
    }
    if let Some(exp) = issuance.exp {
        payload.insert("exp".into(), exp.into());
    }
    payload.insert("vct".into(), issuance.vct.into());
    if let Some(key) = issuance.holder_key {
        key.validate()?;
        let mut cnf = Map::with_capacity(1);
        cnf.insert("jwk".into(), key.to_jwk());
        payload.insert("cnf".into(), Value::Object(cnf));
    }
    if let Some(status) = issuance.status {
        payload.insert("status".into(), status.to_status_claim());
    }
    payload.extend(claims);

    let mut header = JwsHeader::es256(VC_TYP);
    header.x5c = issuance.x5c.clone();
    header.kid = issuance.kid.map(str::to_owned);
    Ok(SdJwtIssuer::new(signer, header)?.issue(&payload, disclosable)?)
}
