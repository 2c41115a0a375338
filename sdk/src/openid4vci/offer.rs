//! Credential offers (OpenID4VCI 1.0 section 4.1): what an issuer hands a wallet, by QR code or
//! deep link, to start issuance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Oid4vciError;

/// The URI scheme of credential offers.
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// Largest offer URI accepted (an offer by value is a few hundred bytes).
pub const MAX_OFFER_URI: usize = 16 * 1024;

/// A credential offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The issuer's identifier (an HTTPS URL; its metadata is under `/.well-known/`).
    pub credential_issuer: String,
    /// Keys of the issuer metadata's `credential_configurations_supported`.
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use.
    #[serde(default, skip_serializing_if = "Grants::is_empty")]
    pub grants: Grants,
}

/// The grants of an offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The pre-authorized code grant.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    /// The authorization code grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// Grants this implementation does not know, kept as they are.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Grants {
    fn is_empty(&self) -> bool {
        self.pre_authorized_code.is_none()
            && self.authorization_code.is_none()
            && self.other.is_empty()
    }
}

/// The pre-authorized code grant of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code, exchanged at the token endpoint.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present when a transaction code (sent to the citizen by another channel) is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCodeHint>,
    /// The authorization server to use, when the issuer has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// How the wallet should ask for the transaction code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCodeHint {
    /// `numeric` or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// How many characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the citizen finds the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The authorization code grant of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// Opaque state to send back in the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// The authorization server to use, when the issuer has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// An offer as found in a URI: the offer itself, or where to fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferReference {
    /// `credential_offer=`: the offer by value.
    Value(CredentialOffer),
    /// `credential_offer_uri=`: an HTTPS URL that returns the offer as JSON.
    Uri(String),
}

impl CredentialOffer {
    /// An offer of `configuration_ids` with a pre-authorized code, and a numeric transaction
    /// code of `tx_code_length` digits when that is not `None`.
    pub fn pre_authorized(
        credential_issuer: impl Into<String>,
        configuration_ids: Vec<String>,
        code: impl Into<String>,
        tx_code_length: Option<u32>,
        tx_code_description: Option<String>,
    ) -> Self {
        Self {
            credential_issuer: credential_issuer.into(),
            credential_configuration_ids: configuration_ids,
            grants: Grants {
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: code.into(),
                    tx_code: tx_code_length.map(|length| TxCodeHint {
                        input_mode: Some("numeric".into()),
                        length: Some(length),
                        description: tx_code_description,
                    }),
                    authorization_server: None,
                }),
                ..Grants::default()
            },
        }
    }

    /// `openid-credential-offer://?credential_offer=...` (the offer by value).
    pub fn to_uri(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!(
            "{OFFER_SCHEME}?credential_offer={}",
            crate::urlencode::escape(&json)
        )
    }

    /// Parses and checks an offer's JSON: a credential issuer and at least one configuration.
    pub fn from_json(json: &str) -> Result<Self, Oid4vciError> {
        let offer: Self = serde_json::from_str(json)
            .map_err(|e| Oid4vciError::InvalidRequest(format!("credential offer: {e}")))?;
        if offer.credential_issuer.is_empty() || offer.credential_configuration_ids.is_empty() {
            return Err(Oid4vciError::InvalidRequest(
                "a credential offer names its issuer and at least one configuration".into(),
            ));
        }
        Ok(offer)
    }

    /// The pre-authorized code, if the offer has that grant.
    pub fn pre_authorized_code(&self) -> Option<&PreAuthorizedCodeGrant> {
        self.grants.pre_authorized_code.as_ref()
    }
}

/// Parses an offer URI (any scheme: wallets also receive offers as `https://` links): exactly one
/// of `credential_offer` and `credential_offer_uri` in the query.
pub fn parse_offer_uri(uri: &str) -> Result<OfferReference, Oid4vciError> {
    let invalid = |m: &str| Oid4vciError::InvalidRequest(m.to_owned());
    if uri.len() > MAX_OFFER_URI {
        return Err(invalid("the offer URI is too long"));
    }
    let query =
        crate::urlencode::query_of(uri).ok_or_else(|| invalid("the offer URI has no query"))?;
    let mut parameters = crate::urlencode::parse(query)
        .map_err(|e| Oid4vciError::InvalidRequest(format!("the offer URI: {e}")))?;
    let by_value = parameters.remove("credential_offer");
    let by_reference = parameters.remove("credential_offer_uri");
    match (by_value, by_reference) {
        (Some(json), None) => Ok(OfferReference::Value(CredentialOffer::from_json(&json)?)),
        (None, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(OfferReference::Uri(url))
        }
        (None, Some(_)) => Err(invalid("credential_offer_uri is not an HTTP(S) URL")),
        _ => Err(invalid(
            "exactly one of credential_offer and credential_offer_uri is required",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_round_trips_through_its_uri() {
        let offer = CredentialOffer::pre_authorized(
            "https://id.dinhdanh.example",
            vec!["pid".into(), "driving_licence".into()],
            "code-1",
            Some(6),
            Some("Mã gửi qua SMS".into()),
        );
        let uri = offer.to_uri();
        assert!(
            uri.starts_with("openid-credential-offer://?credential_offer=%7B%22credential_issuer")
        );
        assert_eq!(parse_offer_uri(&uri).unwrap(), OfferReference::Value(offer));
    }

    #[test]
    fn the_specifications_example_parses() {
        // OpenID4VCI 1.0, section 4.1.3 (pre-authorized code with a transaction code).
        let json = r#"{
          "credential_issuer": "https://credential-issuer.example.com",
          "credential_configuration_ids": ["UniversityDegreeCredential"],
          "grants": {
            "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
              "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
              "tx_code": {"length": 4, "input_mode": "numeric",
                "description": "Please provide the one-time code that was sent via e-mail"}
            }
          }
        }"#;
        let offer = CredentialOffer::from_json(json).unwrap();
        let grant = offer.pre_authorized_code().unwrap();
        assert_eq!(grant.pre_authorized_code, "oaKazRN8I0IbtZ0C7JuMn5");
        assert_eq!(grant.tx_code.as_ref().unwrap().length, Some(4));
        let by_reference = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";
        assert_eq!(
            parse_offer_uri(by_reference).unwrap(),
            OfferReference::Uri(
                "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM".into()
            )
        );
    }

    #[test]
    fn bad_offer_uris() {
        for uri in [
            "openid-credential-offer://",
            "openid-credential-offer://?x=1",
            "openid-credential-offer://?credential_offer=%7B%7D",
            "openid-credential-offer://?credential_offer=not-json",
            "openid-credential-offer://?credential_offer_uri=ftp%3A%2F%2Fx",
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa&credential_offer_uri=https%3A%2F%2Fb",
            "openid-credential-offer://?credential_offer=%FF",
        ] {
            assert!(parse_offer_uri(uri).is_err(), "{uri}");
        }
        assert!(
            parse_offer_uri(&format!(
                "x://?credential_offer={}",
                "a".repeat(MAX_OFFER_URI)
            ))
            .is_err()
        );
    }
}
