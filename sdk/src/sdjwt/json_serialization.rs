//! The JWS JSON serialization of SD-JWTs (RFC 9901 section 8).
//!
//! Disclosures and the Key Binding JWT travel in the unprotected `header` of the (first)
//! signature. The `sd_hash` of a KB-JWT is computed over the equivalent compact form, so the
//! conversion to compact form below is exactly what verification needs.

use serde::{Deserialize, Serialize};

use super::{SdJwtError, parts::split};

#[derive(Deserialize, Serialize)]
struct Unprotected {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    disclosures: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kb_jwt: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Signature {
    protected: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<Unprotected>,
    signature: String,
}

#[derive(Deserialize, Serialize)]
struct Flattened {
    payload: String,
    #[serde(flatten)]
    signature: Signature,
}

#[derive(Deserialize)]
struct General {
    payload: String,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Serialization {
    General(General),
    Flattened(Flattened),
}

/// Converts an SD-JWT in flattened or general JWS JSON serialization to compact form,
/// `<protected>.<payload>.<signature>~<D1>~...~<Dn>~[<KB-JWT>]`, using the first signature
/// (the one RFC 9901 section 8 puts the disclosures beside).
pub fn from_json_serialization(text: &str) -> Result<String, SdJwtError> {
    let parsed: Serialization = serde_json::from_str(text)?;
    let (payload, signature) = match parsed {
        Serialization::Flattened(flat) => (flat.payload, flat.signature),
        Serialization::General(general) => {
            let Some(first) = general.signatures.into_iter().next() else {
                return Err(SdJwtError::Malformed("no signatures"));
            };
            (general.payload, first)
        }
    };
    let header = signature.header.unwrap_or(Unprotected {
        disclosures: Vec::new(),
        kb_jwt: None,
    });
    let mut out = format!("{}.{payload}.{}~", signature.protected, signature.signature);
    for disclosure in &header.disclosures {
        out.push_str(disclosure);
        out.push('~');
    }
    if let Some(kb) = header.kb_jwt {
        out.push_str(&kb);
    }
    // Re-split so the result obeys the same rules as any compact SD-JWT.
    split(&out)?;
    Ok(out)
}

/// Converts a compact SD-JWT to the flattened JWS JSON serialization.
pub fn to_json_serialization(compact: &str) -> Result<String, SdJwtError> {
    let (jwt, disclosures, kb) = split(compact)?;
    let mut parts = jwt.split('.');
    let (Some(protected), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SdJwtError::Malformed(
            "issuer-signed JWT is not compact JWS",
        ));
    };
    let flattened = Flattened {
        payload: payload.to_owned(),
        signature: Signature {
            protected: protected.to_owned(),
            header: Some(Unprotected {
                disclosures: disclosures.into_iter().map(str::to_owned).collect(),
                kb_jwt: (!kb.is_empty()).then(|| kb.to_owned()),
            }),
            signature: signature.to_owned(),
        },
    };
    Ok(serde_json::to_string(&flattened)?)
}
