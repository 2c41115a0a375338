use serde::Deserialize;
use serde_json::Value;

use super::VcError;
use crate::jose::PublicKey;

/// JWT VC Issuer Metadata (draft-24 section 5): the document an issuer publishes at
/// `/.well-known/jwt-vc-issuer`, naming its signing keys. Fetching it is the host's job (the SDK
/// performs no I/O); this parses and uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtVcIssuerMetadata {
    /// The issuer identifier; must equal the credential's `iss`.
    pub issuer: String,
    /// The issuer's keys (`jwks`), each with its optional `kid`.
    pub keys: Vec<(Option<String>, PublicKey)>,
    /// `jwks_uri`, when the keys are published separately; the host fetches the JWK Set and
    /// passes it to [`JwtVcIssuerMetadata::with_jwks`].
    pub jwks_uri: Option<String>,
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

impl JwtVcIssuerMetadata {
    /// Parses the metadata document. Exactly one of `jwks` and `jwks_uri` must be present, and
    /// `issuer` must be an `https` URL.
    pub fn parse(json: &str) -> Result<Self, VcError> {
        let document: Document = serde_json::from_str(json)
            .map_err(|e| VcError::IssuerKey(format!("issuer metadata: {e}")))?;
        if !document.issuer.starts_with("https://") {
            return Err(VcError::IssuerKey(
                "issuer metadata: issuer must be an https URL".into(),
            ));
        }
        let mut metadata = Self {
            issuer: document.issuer,
            keys: Vec::new(),
            jwks_uri: None,
        };
        match (document.jwks, document.jwks_uri) {
            (Some(jwks), None) => metadata.with_jwks(&jwks),
            (None, Some(uri)) => {
                metadata.jwks_uri = Some(uri);
                Ok(metadata)
            }
            _ => Err(VcError::IssuerKey(
                "issuer metadata: exactly one of jwks and jwks_uri is required".into(),
            )),
        }
    }

    /// Adds the keys of a JWK Set (`{"keys": [...]}`). Keys that are not P-256 EC keys are
    /// skipped (an issuer may publish other keys for other uses); a malformed set is an error.
    pub fn with_jwks(mut self, jwks: &Value) -> Result<Self, VcError> {
        let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
            return Err(VcError::IssuerKey(
                "issuer metadata: jwks has no keys array".into(),
            ));
        };
        for jwk in keys {
            let is_p256 = jwk.get("kty").and_then(Value::as_str) == Some("EC")
                && jwk.get("crv").and_then(Value::as_str) == Some("P-256");
            if !is_p256 {
                continue;
            }
            let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
            self.keys.push((kid, PublicKey::from_jwk(jwk)?));
        }
        Ok(self)
    }

    /// The key to verify a credential of `iss` signed under `kid`. Without a `kid`, the issuer
    /// must publish exactly one key.
    pub fn key_for(&self, iss: &str, kid: Option<&str>) -> Result<&PublicKey, VcError> {
        if self.issuer != iss {
            return Err(VcError::IssuerKey(format!(
                "metadata is for {:?}, credential is from {iss:?}",
                self.issuer
            )));
        }
        let mut candidates = self
            .keys
            .iter()
            .filter(|(key_id, _)| kid.is_none() || key_id.as_deref() == kid);
        match (candidates.next(), candidates.next(), kid) {
            (Some((_, key)), None, _) => Ok(key),
            (Some(_), Some(_), None) => Err(VcError::IssuerKey(
                "several issuer keys and no kid to choose one".into(),
            )),
            (Some((_, key)), Some(_), Some(_)) => Ok(key),
            (None, ..) => Err(VcError::IssuerKey(format!(
                "no issuer key with kid {kid:?}"
            ))),
        }
    }

    /// Where the metadata of `iss` is published: the well-known segment goes between the host
    /// and the path (`https://h/tenant` → `https://h/.well-known/jwt-vc-issuer/tenant`).
    pub fn well_known_url(iss: &str) -> Result<String, VcError> {
        let Some(rest) = iss.strip_prefix("https://") else {
            return Err(VcError::IssuerKey("iss is not an https URL".into()));
        };
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.trim_end_matches('/');
        Ok(if path.is_empty() {
            format!("https://{host}/.well-known/jwt-vc-issuer")
        } else {
            format!("https://{host}/.well-known/jwt-vc-issuer/{path}")
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jose::Es256KeyPair;

    #[test]
    fn parse_and_select_keys() {
        let a = Es256KeyPair::generate().unwrap();
        let b = Es256KeyPair::generate().unwrap();
        let mut ja = a.public_key().to_jwk();
        ja["kid"] = "a".into();
        let mut jb = b.public_key().to_jwk();
        jb["kid"] = "b".into();
        let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"});
        let doc = json!({"issuer": "https://id.example.vn", "jwks": {"keys": [ja, jb, rsa]}});
        let metadata = JwtVcIssuerMetadata::parse(&doc.to_string()).unwrap();
        assert_eq!(metadata.keys.len(), 2);
        assert_eq!(
            metadata
                .key_for("https://id.example.vn", Some("b"))
                .unwrap(),
            b.public_key()
        );
        assert!(metadata.key_for("https://id.example.vn", None).is_err());
        assert!(
            metadata
                .key_for("https://id.example.vn", Some("c"))
                .is_err()
        );
        assert!(metadata.key_for("https://evil.example", Some("a")).is_err());

        for bad in [
            json!({"issuer": "http://id.example.vn", "jwks": {"keys": []}}),
            json!({"issuer": "https://id.example.vn"}),
            json!({"issuer": "https://id.example.vn", "jwks": {"keys": []}, "jwks_uri": "https://x"}),
            json!({"issuer": "https://id.example.vn", "jwks": {}}),
        ] {
            assert!(
                JwtVcIssuerMetadata::parse(&bad.to_string()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn jwks_uri_then_the_fetched_set() {
        let key = Es256KeyPair::generate().unwrap();
        let doc =
            json!({"issuer": "https://id.example.vn", "jwks_uri": "https://id.example.vn/jwks"});
        let metadata = JwtVcIssuerMetadata::parse(&doc.to_string()).unwrap();
        assert_eq!(
            metadata.jwks_uri.as_deref(),
            Some("https://id.example.vn/jwks")
        );
        assert!(
            metadata.key_for("https://id.example.vn", None).is_err(),
            "no keys before the fetch"
        );
        let metadata = metadata
            .with_jwks(&json!({"keys": [key.public_key().to_jwk()]}))
            .unwrap();
        assert_eq!(
            metadata.key_for("https://id.example.vn", None).unwrap(),
            key.public_key()
        );
    }

    #[test]
    fn well_known_location() {
        assert_eq!(
            JwtVcIssuerMetadata::well_known_url("https://id.example.vn").unwrap(),
            "https://id.example.vn/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            JwtVcIssuerMetadata::well_known_url("https://id.example.vn/tenant/1").unwrap(),
            "https://id.example.vn/.well-known/jwt-vc-issuer/tenant/1"
        );
        assert!(JwtVcIssuerMetadata::well_known_url("http://x").is_err());
    }
}
