//! The Status List Token in JWT form (draft section 5.1) and the credential's reference to it
//! (section 6.1).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{MAX_LIST_BYTES, STATUS_LIST_JWT_TYP, Status, StatusList, StatusListError, list};
use crate::jose::{JwsHeader, JwsSigner, PublicKey, UnverifiedJws, sign_compact};

/// Where a credential's status lives: the `status.status_list` object of an SD-JWT VC
/// (`{"idx": 0, "uri": "https://..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusReference {
    /// The entry's index in the list.
    pub idx: u64,
    /// The URI of the Status List Token; its `sub` must equal it.
    pub uri: String,
}

impl StatusReference {
    /// A reference to entry `idx` of the list at `uri`.
    pub fn new(uri: impl Into<String>, idx: u64) -> Self {
        Self {
            idx,
            uri: uri.into(),
        }
    }

    /// Reads the `status` claim of a credential: an object whose `status_list` member holds a
    /// non-negative integer `idx` and a non-empty string `uri`. Other status mechanisms and
    /// unknown members are ignored.
    pub fn from_status_claim(status: &Value) -> Result<Self, StatusListError> {
        let status = status
            .as_object()
            .ok_or(StatusListError::InvalidClaim("status"))?;
        let reference = status
            .get("status_list")
            .ok_or(StatusListError::MissingClaim("status_list"))?
            .as_object()
            .ok_or(StatusListError::InvalidClaim("status_list"))?;
        let idx = reference
            .get("idx")
            .ok_or(StatusListError::MissingClaim("idx"))?
            .as_u64()
            .ok_or(StatusListError::InvalidClaim("idx"))?;
        let uri = reference
            .get("uri")
            .ok_or(StatusListError::MissingClaim("uri"))?
            .as_str()
            .filter(|uri| !uri.is_empty())
            .ok_or(StatusListError::InvalidClaim("uri"))?;
        Ok(Self::new(uri, idx))
    }

    /// The `status` claim an issuer puts in a credential:
    /// `{"status_list": {"idx": ..., "uri": ...}}`.
    pub fn to_status_claim(&self) -> Value {
        json!({ "status_list": { "idx": self.idx, "uri": self.uri } })
    }
}

/// The claims of a Status List Token: a signed, timestamped [`StatusList`].
///
/// Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// `sub`: the URI the list is published at, as credentials name it.
    pub sub: String,
    /// `iat`: when the token was issued.
    pub iat: u64,
    /// `exp`: after this time the token must not be used.
    pub exp: Option<u64>,
    /// `ttl`: how long, in seconds from `iat`, the token may be cached before fetching a new
    /// one. Always positive.
    pub ttl: Option<u64>,
    /// `status_list`: the list itself.
    pub list: StatusList,
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    sub: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
    status_list: ListOut,
}

#[derive(Serialize)]
struct ListOut {
    bits: u8,
    lst: String,
}

/// Claims as read: every one optional here so that absence and wrong types get their own errors.
/// Serde refuses duplicate members (a parser differential: which `sub` did the issuer mean?).
#[derive(Deserialize)]
struct ClaimsIn {
    sub: Option<Value>,
    iat: Option<Value>,
    exp: Option<Value>,
    ttl: Option<Value>,
    status_list: Option<Value>,
}

impl StatusListToken {
    /// A token for `list`, published at `sub` and issued at `iat`, without `exp` or `ttl`.
    pub fn new(sub: impl Into<String>, iat: u64, list: StatusList) -> Self {
        Self {
            sub: sub.into(),
            iat,
            exp: None,
            ttl: None,
            list,
        }
    }

    /// Signs the token as a compact JWS. `header` carries what the caller wants the verifier to
    /// see (`kid`, `x5c`); `alg` is set to `ES256` and `typ` to `statuslist+jwt`.
    pub fn sign(
        &self,
        header: &JwsHeader,
        signer: &dyn JwsSigner,
    ) -> Result<String, StatusListError> {
        if self.sub.is_empty() {
            return Err(StatusListError::InvalidClaim("sub"));
        }
        if self.ttl == Some(0) {
            return Err(StatusListError::InvalidClaim("ttl"));
        }
        let claims = ClaimsOut {
            sub: &self.sub,
            iat: self.iat,
            exp: self.exp,
            ttl: self.ttl,
            status_list: ListOut {
                bits: self.list.bits(),
                lst: self.list.encode_lst()?,
            },
        };
        let payload = serde_json::to_vec(&claims)?;
        let header = JwsHeader {
            alg: "ES256".into(),
            typ: Some(STATUS_LIST_JWT_TYP.into()),
            ..header.clone()
        };
        Ok(sign_compact(&header, &payload, signer)?)
    }

    /// Verifies a Status List Token JWT with `key` for a credential whose status reference
    /// names `uri`, at time `now`. See [`UnverifiedStatusListToken::verify`] for the checks.
    pub fn verify(
        token: &str,
        key: &PublicKey,
        uri: &str,
        now: u64,
    ) -> Result<Self, StatusListError> {
        UnverifiedStatusListToken::parse(token)?.verify(key, uri, now)
    }

    /// Refuses a token whose `exp` has passed at `now`, or that was issued more than `max_age`
    /// seconds before `now`: the relying party's limit on how old cached status data may be.
    pub fn check_fresh(&self, now: u64, max_age: u64) -> Result<(), StatusListError> {
        check_not_expired(self.exp, now)?;
        if now.saturating_sub(self.iat) > max_age {
            return Err(StatusListError::Stale {
                iat: self.iat,
                now,
                max_age,
            });
        }
        Ok(())
    }

    /// Until when a cache may serve this token without fetching it again: the earlier of `exp`
    /// and `iat + ttl`, or `None` when the token has neither.
    pub fn fresh_until(&self) -> Option<u64> {
        let ttl_end = self.ttl.map(|ttl| self.iat.saturating_add(ttl));
        match (self.exp, ttl_end) {
            (Some(exp), Some(end)) => Some(exp.min(end)),
            (exp, end) => exp.or(end),
        }
    }

    /// The status a credential's reference points to. Refuses a reference to another list
    /// (`uri` is not this token's `sub`) and an index outside the list.
    pub fn status_of(&self, reference: &StatusReference) -> Result<Status, StatusListError> {
        if reference.uri != self.sub {
            return Err(StatusListError::SubjectMismatch {
                expected: reference.uri.clone(),
                found: self.sub.clone(),
            });
        }
        let out_of_range = StatusListError::IndexOutOfRange {
            idx: reference.idx,
            len: self.list.len() as u64,
        };
        let idx = usize::try_from(reference.idx).map_err(|_| out_of_range.clone())?;
        self.list.status(idx).map_err(|_| out_of_range)
    }
}

/// A Status List Token whose syntax and `typ` have been checked but whose signature has not:
/// the step where the caller picks the verification key from the header (`x5c` or `kid`).
#[derive(Debug)]
pub struct UnverifiedStatusListToken<'a> {
    jws: UnverifiedJws<'a>,
    max_list_bytes: usize,
}

impl<'a> UnverifiedStatusListToken<'a> {
    /// Parses a compact JWS (ES256 only) and requires `typ: statuslist+jwt`.
    pub fn parse(token: &'a str) -> Result<Self, StatusListError> {
        let jws = UnverifiedJws::parse(token)?;
        jws.header().require_typ(STATUS_LIST_JWT_TYP)?;
        Ok(Self {
            jws,
            max_list_bytes: MAX_LIST_BYTES,
        })
    }

    /// The protected header, to choose the key with. Nothing in it is authenticated yet.
    pub fn header(&self) -> &JwsHeader {
        self.jws.header()
    }

    /// Changes the largest decompressed list accepted (default [`MAX_LIST_BYTES`]).
    pub fn with_max_list_bytes(mut self, max_bytes: usize) -> Self {
        self.max_list_bytes = max_bytes;
        self
    }

    /// Verifies the signature with `key`, then the claims: `sub` present and equal to `uri`
    /// (the credential's reference; exact string comparison), `iat` present, `exp` (if any) not
    /// passed at `now`, `ttl` (if any) a positive integer, `status_list.bits` one of 1, 2, 4, 8
    /// and `status_list.lst` a valid list within the size limit.
    ///
    /// It does not judge the token's age: call [`StatusListToken::check_fresh`] with the
    /// relying party's maximum age.
    pub fn verify(
        self,
        key: &PublicKey,
        uri: &str,
        now: u64,
    ) -> Result<StatusListToken, StatusListError> {
        let max_list_bytes = self.max_list_bytes;
        let verified = self.jws.verify(key)?;
        // serde_json reads a JSON array into a struct too; the payload must be an object.
        if verified.payload.trim_ascii_start().first() != Some(&b'{') {
            return Err(StatusListError::Json("payload is not a JSON object".into()));
        }
        let claims: ClaimsIn = serde_json::from_slice(&verified.payload)?;

        let sub = claims
            .sub
            .ok_or(StatusListError::MissingClaim("sub"))?
            .as_str()
            .ok_or(StatusListError::InvalidClaim("sub"))?
            .to_owned();
        if sub != uri {
            return Err(StatusListError::SubjectMismatch {
                expected: uri.to_owned(),
                found: sub,
            });
        }
        let iat = numeric_date(claims.iat.as_ref(), "iat")?
            .ok_or(StatusListError::MissingClaim("iat"))?;
        let exp = numeric_date(claims.exp.as_ref(), "exp")?;
        let ttl = match &claims.ttl {
            None => None,
            Some(ttl) => Some(
                ttl.as_u64()
                    .filter(|&ttl| ttl > 0)
                    .ok_or(StatusListError::InvalidClaim("ttl"))?,
            ),
        };
        // The cheap checks go before the decompression.
        check_not_expired(exp, now)?;

        let status_list = claims
            .status_list
            .ok_or(StatusListError::MissingClaim("status_list"))?;
        let status_list = status_list
            .as_object()
            .ok_or(StatusListError::InvalidClaim("status_list"))?;
        let bits = status_list
            .get("bits")
            .ok_or(StatusListError::MissingClaim("bits"))?
            .as_u64()
            .ok_or(StatusListError::InvalidClaim("bits"))?;
        let bits = list::check_bits(bits)?;
        let lst = status_list
            .get("lst")
            .ok_or(StatusListError::MissingClaim("lst"))?
            .as_str()
            .ok_or(StatusListError::InvalidClaim("lst"))?;
        let list = StatusList::decode_lst_with_limit(bits, lst, max_list_bytes)?;
        Ok(StatusListToken {
            sub,
            iat,
            exp,
            ttl,
            list,
        })
    }
}

fn check_not_expired(exp: Option<u64>, now: u64) -> Result<(), StatusListError> {
    match exp {
        // RFC 7519 section 4.1.4: the current time must be before `exp`.
        Some(exp) if now >= exp => Err(StatusListError::Expired { exp, now }),
        _ => Ok(()),
    }
}

/// Reads a JWT NumericDate (RFC 7519 section 2): a non-negative number of seconds, fractions
/// rounded down.
fn numeric_date(value: Option<&Value>, name: &'static str) -> Result<Option<u64>, StatusListError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(seconds) = value.as_u64() {
        return Ok(Some(seconds));
    }
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(Some(seconds.floor() as u64)),
        _ => Err(StatusListError::InvalidClaim(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Es256KeyPair, JoseError, b64};

    const URI: &str = "https://status.example.vn/lists/1";
    const NOW: u64 = 1_760_000_000;

    fn key() -> Es256KeyPair {
        Es256KeyPair::generate().unwrap()
    }

    fn token() -> StatusListToken {
        let list = StatusList::from_statuses(2, &[0, 1, 2, 3, 0, 0, 1, 0]).unwrap();
        StatusListToken {
            exp: Some(NOW + 86_400),
            ttl: Some(3_600),
            ..StatusListToken::new(URI, NOW - 60, list)
        }
    }

    fn sign_payload(payload: &Value, typ: &str, key: &Es256KeyPair) -> String {
        let bytes = serde_json::to_vec(payload).unwrap();
        sign_compact(&JwsHeader::es256(typ), &bytes, key).unwrap()
    }

    fn payload() -> Value {
        json!({
            "sub": URI,
            "iat": NOW - 60,
            "exp": NOW + 60,
            "ttl": 43_200,
            "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
        })
    }

    #[test]
    fn sign_then_verify() {
        let key = key();
        let mut header = JwsHeader::es256("JWT");
        header.kid = Some("list-key-1".into());
        header.x5c = Some(vec!["MIIB".into()]);
        let jwt = token().sign(&header, &key).unwrap();

        let unverified = UnverifiedStatusListToken::parse(&jwt).unwrap();
        assert_eq!(unverified.header().typ.as_deref(), Some("statuslist+jwt"));
        assert_eq!(unverified.header().kid.as_deref(), Some("list-key-1"));
        assert_eq!(unverified.header().x5c, header.x5c);
        let verified = unverified.verify(key.public_key(), URI, NOW).unwrap();
        assert_eq!(verified, token());

        let payload = UnverifiedJws::parse(&jwt)
            .unwrap()
            .unverified_payload()
            .to_vec();
        let payload: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            payload.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["sub", "iat", "exp", "ttl", "status_list"]
        );
        assert_eq!(payload["status_list"]["bits"], 2);

        let reference = StatusReference::new(URI, 2);
        assert_eq!(verified.status_of(&reference).unwrap(), Status::Suspended);
        assert_eq!(
            verified.status_of(&StatusReference::new(URI, 1)).unwrap(),
            Status::Invalid
        );
    }

    #[test]
    fn minimal_token_omits_optional_claims() {
        let key = key();
        let list = StatusList::new(1, 8).unwrap();
        let jwt = StatusListToken::new(URI, NOW, list)
            .sign(&JwsHeader::default(), &key)
            .unwrap();
        let jws = UnverifiedJws::parse(&jwt).unwrap();
        let payload: Value = serde_json::from_slice(jws.unverified_payload()).unwrap();
        assert!(payload.get("exp").is_none() && payload.get("ttl").is_none());
        let token = StatusListToken::verify(&jwt, key.public_key(), URI, NOW).unwrap();
        assert_eq!(token.fresh_until(), None);
        token.check_fresh(NOW + 10, 10).unwrap();
    }

    #[test]
    fn draft_style_payload_verifies() {
        let key = key();
        let jwt = sign_payload(&payload(), "statuslist+jwt", &key);
        let token = StatusListToken::verify(&jwt, key.public_key(), URI, NOW).unwrap();
        assert_eq!(token.list.as_bytes(), [0xb9, 0xa3]);
        assert_eq!(token.ttl, Some(43_200));
        assert_eq!(
            token.status_of(&StatusReference::new(URI, 0)).unwrap(),
            Status::Invalid
        );
        assert_eq!(
            token.status_of(&StatusReference::new(URI, 1)).unwrap(),
            Status::Valid
        );
    }

    #[test]
    fn wrong_key_is_refused() {
        let jwt = token().sign(&JwsHeader::default(), &key()).unwrap();
        assert_eq!(
            StatusListToken::verify(&jwt, key().public_key(), URI, NOW),
            Err(StatusListError::Jose(JoseError::BadSignature))
        );
    }

    #[test]
    fn wrong_typ_is_refused() {
        let key = key();
        for typ in ["JWT", "dc+sd-jwt", "statuslist+cwt", ""] {
            let jwt = sign_payload(&payload(), typ, &key);
            assert!(
                matches!(
                    StatusListToken::verify(&jwt, key.public_key(), URI, NOW),
                    Err(StatusListError::Jose(JoseError::UnexpectedType { .. }))
                ),
                "{typ}"
            );
        }
        let mut header = JwsHeader::es256("statuslist+jwt");
        header.typ = None;
        let bytes = serde_json::to_vec(&payload()).unwrap();
        let jwt = sign_compact(&header, &bytes, &key).unwrap();
        assert!(UnverifiedStatusListToken::parse(&jwt).is_err());
        assert!(UnverifiedStatusListToken::parse("not.a.jwt").is_err());
    }

    #[test]
    fn sub_must_match_the_reference() {
        let key = key();
        let jwt = token().sign(&JwsHeader::default(), &key).unwrap();
        for other in [
            "https://status.example.vn/lists/2",
            "https://status.example.vn/lists/1/",
            "HTTPS://status.example.vn/lists/1",
            "",
        ] {
            assert_eq!(
                StatusListToken::verify(&jwt, key.public_key(), other, NOW),
                Err(StatusListError::SubjectMismatch {
                    expected: other.into(),
                    found: URI.into()
                })
            );
        }
        let token = StatusListToken::verify(&jwt, key.public_key(), URI, NOW).unwrap();
        assert!(matches!(
            token.status_of(&StatusReference::new("https://other.example/1", 0)),
            Err(StatusListError::SubjectMismatch { .. })
        ));
    }

    #[test]
    fn expiry_and_staleness() {
        let key = key();
        let jwt = token().sign(&JwsHeader::default(), &key).unwrap();
        let exp = NOW + 86_400;
        assert_eq!(
            StatusListToken::verify(&jwt, key.public_key(), URI, exp),
            Err(StatusListError::Expired { exp, now: exp })
        );
        StatusListToken::verify(&jwt, key.public_key(), URI, exp - 1).unwrap();

        let token = token();
        let iat = token.iat;
        token.check_fresh(iat + 300, 300).unwrap();
        assert_eq!(
            token.check_fresh(iat + 301, 300),
            Err(StatusListError::Stale {
                iat,
                now: iat + 301,
                max_age: 300
            })
        );
        assert_eq!(
            token.check_fresh(exp, u64::MAX),
            Err(StatusListError::Expired { exp, now: exp })
        );
        // An `iat` ahead of the verifier's clock is not stale.
        token.check_fresh(iat - 10, 0).unwrap();
    }

    #[test]
    fn fresh_until_is_the_earlier_of_exp_and_ttl() {
        let mut token = token();
        assert_eq!(token.fresh_until(), Some(token.iat + 3_600));
        token.exp = Some(token.iat + 100);
        assert_eq!(token.fresh_until(), Some(token.iat + 100));
        token.ttl = None;
        assert_eq!(token.fresh_until(), Some(token.iat + 100));
        token.exp = None;
        token.ttl = Some(u64::MAX);
        assert_eq!(token.fresh_until(), Some(u64::MAX));
    }

    #[test]
    fn missing_and_invalid_claims() {
        let key = key();
        let check = |edit: &dyn Fn(&mut Value), expected: StatusListError| {
            let mut payload = payload();
            edit(&mut payload);
            let jwt = sign_payload(&payload, "statuslist+jwt", &key);
            assert_eq!(
                StatusListToken::verify(&jwt, key.public_key(), URI, NOW),
                Err(expected),
                "{payload}"
            );
        };
        use StatusListError::{InvalidBits, InvalidClaim, MissingClaim};
        check(
            &|p| _ = p.as_object_mut().unwrap().remove("sub"),
            MissingClaim("sub"),
        );
        check(&|p| p["sub"] = Value::Null, MissingClaim("sub"));
        check(&|p| p["sub"] = json!(7), InvalidClaim("sub"));
        check(
            &|p| _ = p.as_object_mut().unwrap().remove("iat"),
            MissingClaim("iat"),
        );
        check(&|p| p["iat"] = json!("1760000000"), InvalidClaim("iat"));
        check(&|p| p["iat"] = json!(-5), InvalidClaim("iat"));
        check(&|p| p["exp"] = json!(true), InvalidClaim("exp"));
        check(&|p| p["ttl"] = json!(0), InvalidClaim("ttl"));
        check(&|p| p["ttl"] = json!(1.5), InvalidClaim("ttl"));
        check(
            &|p| _ = p.as_object_mut().unwrap().remove("status_list"),
            MissingClaim("status_list"),
        );
        check(
            &|p| p["status_list"] = json!("x"),
            InvalidClaim("status_list"),
        );
        check(
            &|p| _ = p["status_list"].as_object_mut().unwrap().remove("bits"),
            MissingClaim("bits"),
        );
        check(&|p| p["status_list"]["bits"] = json!(3), InvalidBits(3));
        check(&|p| p["status_list"]["bits"] = json!(16), InvalidBits(16));
        check(
            &|p| p["status_list"]["bits"] = json!("1"),
            InvalidClaim("bits"),
        );
        check(
            &|p| _ = p["status_list"].as_object_mut().unwrap().remove("lst"),
            MissingClaim("lst"),
        );
        check(
            &|p| p["status_list"]["lst"] = json!([1]),
            InvalidClaim("lst"),
        );
        check(
            &|p| p["status_list"]["lst"] = json!("eNrbuRgAAhcBXQ=="),
            StatusListError::Base64,
        );
        // Expiry is judged before the list is decompressed.
        check(
            &|p| {
                p["exp"] = json!(NOW);
                p["status_list"]["lst"] = json!("!");
            },
            StatusListError::Expired { exp: NOW, now: NOW },
        );
    }

    #[test]
    fn odd_payloads() {
        let key = key();
        // Fractional NumericDates are read, rounded down.
        let mut fractional = payload();
        fractional["iat"] = json!(1_759_999_000.75);
        let jwt = sign_payload(&fractional, "statuslist+jwt", &key);
        let token = StatusListToken::verify(&jwt, key.public_key(), URI, NOW).unwrap();
        assert_eq!(token.iat, 1_759_999_000);

        // Duplicate claims and non-object payloads are refused.
        let header = JwsHeader::es256("statuslist+jwt");
        for bytes in [
            format!(
                r#"{{"sub":"{URI}","sub":"x","iat":1,"status_list":{{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}}}"#
            ),
            "[]".to_owned(),
            "null".to_owned(),
            "{".to_owned(),
            format!(r#"["{URI}",1]"#),
        ] {
            let jwt = sign_compact(&header, bytes.as_bytes(), &key).unwrap();
            assert!(matches!(
                StatusListToken::verify(&jwt, key.public_key(), URI, NOW),
                Err(StatusListError::Json(_))
            ));
        }
    }

    #[test]
    fn list_size_limit_applies_to_tokens() {
        let key = key();
        let list = StatusList::new(8, 4096).unwrap();
        let jwt = StatusListToken::new(URI, NOW, list)
            .sign(&JwsHeader::default(), &key)
            .unwrap();
        let limited = UnverifiedStatusListToken::parse(&jwt)
            .unwrap()
            .with_max_list_bytes(4095);
        assert_eq!(
            limited.verify(key.public_key(), URI, NOW),
            Err(StatusListError::TooLarge { limit: 4095 })
        );
    }

    #[test]
    fn signing_refuses_invalid_claims() {
        let key = key();
        let list = StatusList::new(1, 8).unwrap();
        let no_sub = StatusListToken::new("", NOW, list.clone());
        assert_eq!(
            no_sub.sign(&JwsHeader::default(), &key),
            Err(StatusListError::InvalidClaim("sub"))
        );
        let zero_ttl = StatusListToken {
            ttl: Some(0),
            ..StatusListToken::new(URI, NOW, list)
        };
        assert_eq!(
            zero_ttl.sign(&JwsHeader::default(), &key),
            Err(StatusListError::InvalidClaim("ttl"))
        );
    }

    #[test]
    fn status_of_checks_the_index() {
        let token = token();
        let len = token.list.len() as u64;
        assert_eq!(len, 8);
        assert_eq!(
            token.status_of(&StatusReference::new(URI, len)),
            Err(StatusListError::IndexOutOfRange { idx: len, len })
        );
        assert_eq!(
            token.status_of(&StatusReference::new(URI, u64::MAX)),
            Err(StatusListError::IndexOutOfRange { idx: u64::MAX, len })
        );
        assert_eq!(
            token.status_of(&StatusReference::new(URI, 7)).unwrap(),
            Status::Valid
        );
    }

    #[test]
    fn status_reference_from_claim() {
        // Draft section 6.1 example, with another mechanism beside it.
        let claim = json!({"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"},
                           "other_mechanism": {}});
        let reference = StatusReference::from_status_claim(&claim).unwrap();
        assert_eq!(
            reference,
            StatusReference::new("https://example.com/statuslists/1", 0)
        );
        assert_eq!(
            StatusReference::from_status_claim(&reference.to_status_claim()).unwrap(),
            reference
        );
        let parsed: StatusReference = serde_json::from_value(claim["status_list"].clone()).unwrap();
        assert_eq!(parsed, reference);

        use StatusListError::{InvalidClaim, MissingClaim};
        for (claim, expected) in [
            (json!("x"), InvalidClaim("status")),
            (json!({}), MissingClaim("status_list")),
            (json!({"status_list": []}), InvalidClaim("status_list")),
            (json!({"status_list": {"uri": "u"}}), MissingClaim("idx")),
            (
                json!({"status_list": {"idx": -1, "uri": "u"}}),
                InvalidClaim("idx"),
            ),
            (
                json!({"status_list": {"idx": 1.0, "uri": "u"}}),
                InvalidClaim("idx"),
            ),
            (
                json!({"status_list": {"idx": "1", "uri": "u"}}),
                InvalidClaim("idx"),
            ),
            (json!({"status_list": {"idx": 1}}), MissingClaim("uri")),
            (
                json!({"status_list": {"idx": 1, "uri": 5}}),
                InvalidClaim("uri"),
            ),
            (
                json!({"status_list": {"idx": 1, "uri": ""}}),
                InvalidClaim("uri"),
            ),
        ] {
            assert_eq!(
                StatusReference::from_status_claim(&claim),
                Err(expected),
                "{claim}"
            );
        }
    }

    #[test]
    fn tampered_lst_fails_the_signature() {
        let key = key();
        let jwt = token().sign(&JwsHeader::default(), &key).unwrap();
        let (head, rest) = jwt.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let mut forged = payload();
        forged["status_list"]["lst"] = json!(StatusList::new(2, 8).unwrap().encode_lst().unwrap());
        let forged = format!("{head}.{}.{signature}", b64::encode(forged.to_string()));
        assert_eq!(
            StatusListToken::verify(&forged, key.public_key(), URI, NOW),
            Err(StatusListError::Jose(JoseError::BadSignature))
        );
    }
}
