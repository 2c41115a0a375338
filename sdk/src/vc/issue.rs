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
    /// The holder's key, placed in `cnf.jwk` for key binding; read it with
    /// [`PublicKey::from_jwk`] (which checks the point), not `from_jwk_unvalidated`.
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
    claims: &Map<String, Value>,
    disclosable: &[ClaimPath],
) -> Result<String, VcError> {
    // One pass over the (few) claim names; no hashing on the issuance path.
    if let Some(name) = claims
        .keys()
        .find(|name| *name == "iat" || NEVER_DISCLOSABLE.contains(&name.as_str()))
    {
        return Err(VcError::Claim(
            name.clone(),
            "is set from the issuance parameters, not the claims",
        ));
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
    if let Some(name) = non_nfc_name(claims) {
        return Err(VcError::Claim(name, "claim names must be NFC"));
    }
    // Claims are nearly always NFC already (the registry stores NFC): copy only when not.
    let normalized;
    let claims = if claims.values().all(is_nfc_deep) {
        claims
    } else {
        let mut copy = claims.clone();
        copy.values_mut().for_each(normalize_nfc);
        normalized = copy;
        &normalized
    };
    if let Some(kind) = CredentialKind::from_vct(issuance.vct) {
        kind.validate(claims)?;
    }

    // The registered claims, written once as JSON members: they are never disclosable.
    let mut visible = Vec::with_capacity(512);
    let json = |e: serde_json::Error| VcError::SdJwt(e.into());
    if let Some(iss) = issuance.iss {
        member(&mut visible, "iss");
        serde_json::to_writer(&mut visible, iss).map_err(json)?;
    }
    member(&mut visible, "iat");
    serde_json::to_writer(&mut visible, &issuance.iat).map_err(json)?;
    if let Some(nbf) = issuance.nbf {
        member(&mut visible, "nbf");
        serde_json::to_writer(&mut visible, &nbf).map_err(json)?;
    }
    if let Some(exp) = issuance.exp {
        member(&mut visible, "exp");
        serde_json::to_writer(&mut visible, &exp).map_err(json)?;
    }
    member(&mut visible, "vct");
    serde_json::to_writer(&mut visible, issuance.vct).map_err(json)?;
    if let Some(key) = issuance.holder_key {
        // `PublicKey::from_jwk` and `from_sec1` have checked the point is on the curve.
        member(&mut visible, "cnf");
        visible.extend_from_slice(b"{\"jwk\":");
        visible.extend_from_slice(key.to_jwk_json().as_bytes());
        visible.push(b'}');
    }
    if let Some(status) = issuance.status {
        member(&mut visible, "status");
        serde_json::to_writer(&mut visible, &status.to_status_claim()).map_err(json)?;
    }

    let mut header = JwsHeader::es256(VC_TYP);
    header.x5c = issuance.x5c.clone();
    header.kid = issuance.kid.map(str::to_owned);
    Ok(SdJwtIssuer::new(signer, header)?.issue_with_visible(&visible, claims, disclosable)?)
}

/// Starts the member `name` (a registered claim name: no escaping needed).
fn member(out: &mut Vec<u8>, name: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// The first member name, at any depth, that is not NFC.
fn non_nfc_name(claims: &Map<String, Value>) -> Option<String> {
    fn within(value: &Value) -> Option<String> {
        match value {
            Value::Object(map) => non_nfc_name(map),
            Value::Array(items) => items.iter().find_map(within),
            _ => None,
        }
    }
    claims.iter().find_map(|(name, value)| {
        if is_nfc(name) {
            within(value)
        } else {
            Some(name.clone())
        }
    })
}

/// Whether every string in `value` (member names included) is NFC.
fn is_nfc_deep(value: &Value) -> bool {
    match value {
        Value::String(text) => is_nfc(text),
        Value::Array(items) => items.iter().all(is_nfc_deep),
        Value::Object(map) => map.iter().all(|(k, v)| is_nfc(k) && is_nfc_deep(v)),
        _ => true,
    }
}

/// NFC check with a fast path for Vietnamese: text made only of characters below U+0300 (Latin
/// up to the spacing modifiers) and of Latin Extended Additional (U+1E00–U+1EFF, the precomposed
/// letters Vietnamese uses) is NFC, since none of them is a combining mark, decomposes under NFC
/// or composes with what precedes it. Anything else takes the full quick check.
pub(crate) fn is_nfc(text: &str) -> bool {
    // On UTF-8 bytes: ASCII; two-byte sequences led by C2..CB (U+0080..U+02FF); three-byte
    // sequences E1 B8..BB (U+1E00..U+1EFF). Continuation bytes are skipped over.
    let bytes = text.as_bytes();
    let mut i = 0;
    let fast = loop {
        match bytes.get(i) {
            None => break true,
            Some(0x00..=0x7F) => i += 1,
            Some(0xC2..=0xCB) => i += 2,
            Some(0xE1) if matches!(bytes.get(i + 1), Some(0xB8..=0xBB)) => i += 3,
            Some(_) => break false,
        }
    };
    fast || unicode_normalization::is_nfc(text)
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::is_nfc;

    #[test]
    fn fast_nfc_check_agrees_with_the_full_one() {
        for text in [
            "Nguyễn Văn An",
            "Nguye\u{0302}\u{0303}n",
            "Trần Thị Bình",
            "e\u{0301}",
            "Ω",
            "\u{1E9B}\u{0323}",
            "ascii",
            "",
        ] {
            assert_eq!(
                is_nfc(text),
                unicode_normalization::is_nfc(text),
                "{text:?}"
            );
            assert!(is_nfc(&text.nfc().collect::<String>()));
        }
        // Every character of the fast path's ranges, alone and after a base letter.
        for c in (0u32..0x300)
            .chain(0x1E00..=0x1EFF)
            .filter_map(char::from_u32)
        {
            let alone = c.to_string();
            assert_eq!(
                is_nfc(&alone),
                unicode_normalization::is_nfc(&alone),
                "{c:?}"
            );
            let pair = format!("a{c}");
            assert_eq!(is_nfc(&pair), unicode_normalization::is_nfc(&pair), "{c:?}");
        }
    }
}
