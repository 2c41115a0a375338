//! Rules of RFC 9901 sections 4 and 7, one test each, and property tests.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::jose::{Es256KeyPair, JwsHeader, PublicKey, b64, sign_compact};

const NOW: u64 = 1_800_000_000;

struct Fixture {
    issuer: Es256KeyPair,
    holder: Es256KeyPair,
}

impl Fixture {
    fn new() -> Self {
        Self {
            issuer: Es256KeyPair::generate().unwrap(),
            holder: Es256KeyPair::generate().unwrap(),
        }
    }

    fn claims(&self) -> Map<String, Value> {
        let claims = json!({
            "iss": "https://issuer.example",
            "iat": NOW - 100,
            "exp": NOW + 1000,
            "cnf": {"jwk": self.holder.public_key().to_jwk()},
            "given_name": "An",
            "family_name": "Nguyễn",
            "address": {"street_address": "1 Tràng Tiền", "locality": "Hà Nội", "country": "VN"},
            "nationalities": ["VN", "FR"],
        });
        claims.as_object().unwrap().clone()
    }

    fn issue(&self, paths: &str) -> String {
        SdJwtIssuer::new(&self.issuer, JwsHeader::es256("example+sd-jwt"))
            .unwrap()
            .issue(&self.claims(), &ClaimPath::parse_list(paths).unwrap())
            .unwrap()
    }

    /// Signs an arbitrary payload and appends raw disclosures: for hostile inputs.
    fn forge(&self, payload: Value, disclosures: &[&str]) -> String {
        let jwt = sign_compact(
            &JwsHeader::es256("example+sd-jwt"),
            payload.to_string().as_bytes(),
            &self.issuer,
        )
        .unwrap();
        let mut out = jwt + "~";
        for d in disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    fn verify(&self, text: &str) -> Result<VerifiedSdJwt, SdJwtError> {
        self.verify_with(text, None)
    }

    fn verify_with(
        &self,
        text: &str,
        key_binding: Option<KeyBindingExpectation<'_>>,
    ) -> Result<VerifiedSdJwt, SdJwtError> {
        let key = self.issuer.public_key().clone();
        verify(
            text,
            &VerifyOptions {
                now: NOW,
                skew: 30,
                key_binding,
            },
            &mut |_, _| Ok(key.clone()),
        )
    }

    fn kb<'a>(&'a self, aud: &'a str, nonce: &'a str, iat: u64) -> KeyBindingInput<'a> {
        KeyBindingInput {
            signer: &self.holder,
            aud,
            nonce,
            iat,
        }
    }
}

fn expect(aud: &str) -> Option<KeyBindingExpectation<'_>> {
    Some(KeyBindingExpectation {
        aud,
        nonce: "n-1",
        max_age: 300,
    })
}

fn disclosure(json: Value) -> String {
    b64::encode(json.to_string())
}

fn digest(encoded: &str) -> String {
    crate::jose::sha256_b64(encoded)
}

#[test]
fn issue_present_verify_round_trip() {
    let f = Fixture::new();
    let issued = f.issue("/given_name,/family_name,/address,/address/locality,/nationalities/1");
    let sd_jwt = SdJwt::parse(&issued).unwrap();
    assert_eq!(sd_jwt.disclosures().len(), 5);
    assert_eq!(
        Value::Object(sd_jwt.claims().clone()),
        Value::Object(f.claims())
    );

    let disclose = ClaimPath::parse_list("/family_name,/address/locality").unwrap();
    let presentation = sd_jwt
        .present(&disclose, Some(f.kb("https://rp.example", "n-1", NOW)))
        .unwrap();
    let verified = f
        .verify_with(&presentation, expect("https://rp.example"))
        .unwrap();
    assert_eq!(verified.claims["family_name"], "Nguyễn");
    assert_eq!(
        verified.claims["address"],
        json!({"street_address": "1 Tràng Tiền", "locality": "Hà Nội", "country": "VN"})
    );
    assert!(!verified.claims.contains_key("given_name"));
    assert_eq!(verified.claims["nationalities"], json!(["VN"]));
    let mut disclosed: Vec<String> = verified.disclosed.iter().map(ToString::to_string).collect();
    disclosed.sort();
    assert_eq!(disclosed, ["/address", "/address/locality", "/family_name"]);
    assert_eq!(verified.key_binding.unwrap().aud, "https://rp.example");
}

#[test]
fn nested_claim_brings_its_parent_and_not_its_siblings() {
    let f = Fixture::new();
    let issued = f.issue("/address,/address/street_address,/address/locality,/address/country");
    let sd_jwt = SdJwt::parse(&issued).unwrap();
    let presentation = sd_jwt
        .present(&ClaimPath::parse_list("/address/country").unwrap(), None)
        .unwrap();
    assert_eq!(presentation.matches('~').count(), 3); // JWT ~ address ~ country ~
    let verified = f.verify(&presentation).unwrap();
    assert_eq!(verified.claims["address"], json!({"country": "VN"}));

    // Asking for the parent discloses everything beneath it.
    let all = sd_jwt
        .present(&ClaimPath::parse_list("/address").unwrap(), None)
        .unwrap();
    let verified = f.verify(&all).unwrap();
    assert_eq!(verified.claims["address"], f.claims()["address"]);
}

#[test]
fn decoys_pad_sd_arrays() {
    let f = Fixture::new();
    let issuer = SdJwtIssuer::new(&f.issuer, JwsHeader::es256("example+sd-jwt"))
        .unwrap()
        .with_decoys(DecoyPolicy { max_per_object: 5 });
    let paths = ClaimPath::parse_list("/given_name").unwrap();
    let lengths: std::collections::BTreeSet<usize> = (0..40)
        .map(|_| {
            let issued = issuer.issue(&f.claims(), &paths).unwrap();
            let jws = crate::jose::UnverifiedJws::parse(issued.split('~').next().unwrap()).unwrap();
            let payload: Value = serde_json::from_slice(jws.unverified_payload()).unwrap();
            payload["_sd"].as_array().unwrap().len()
        })
        .collect();
    assert!(lengths.len() > 1, "decoy counts vary: {lengths:?}");
    assert!(lengths.iter().all(|&n| (1..=6).contains(&n)));
}

#[test]
fn holder_and_issuer_refuse_unknown_paths_and_reserved_names() {
    let f = Fixture::new();
    let issuer = SdJwtIssuer::new(&f.issuer, JwsHeader::es256("t")).unwrap();
    for (paths, is_unknown) in [
        ("/nope", true),
        ("/address/nope", true),
        ("/nationalities/2", true),
        ("/nationalities/01", true),
    ] {
        let err = issuer
            .issue(&f.claims(), &ClaimPath::parse_list(paths).unwrap())
            .unwrap_err();
        assert_eq!(
            matches!(err, SdJwtError::UnknownPath(_)),
            is_unknown,
            "{paths}: {err}"
        );
    }
    assert!(matches!(
        issuer.issue(&f.claims(), &[ClaimPath::root()]),
        Err(SdJwtError::InvalidInput(_))
    ));
    for bad in [
        json!({"_sd": []}),
        json!({"a": {"...": "x"}}),
        json!({"_sd_alg": "sha-256"}),
        json!({"a": [{"_sd": 1}]}),
    ] {
        assert!(
            matches!(
                issuer.issue(bad.as_object().unwrap(), &[]),
                Err(SdJwtError::InvalidInput(_))
            ),
            "{bad}"
        );
    }
    let sd_jwt = SdJwt::parse(&f.issue("/given_name")).unwrap();
    assert!(matches!(
        sd_jwt.present(&ClaimPath::parse_list("/middle_name").unwrap(), None),
        Err(SdJwtError::UnknownPath(_))
    ));
}

#[test]
fn tampered_or_unreferenced_disclosure_is_refused() {
    let f = Fixture::new();
    let issued = f.issue("/given_name");
    let parts: Vec<&str> = issued.split('~').collect();
    let forged = disclosure(json!(["salt", "given_name", "Bình"]));
    let tampered = format!("{}~{forged}~", parts[0]);
    assert_eq!(
        f.verify(&tampered).unwrap_err(),
        SdJwtError::UnreferencedDisclosure
    );
}

#[test]
fn duplicate_disclosure_is_refused() {
    let f = Fixture::new();
    let issued = f.issue("/given_name");
    let d = issued.split('~').nth(1).unwrap();
    assert_eq!(
        f.verify(&format!("{issued}{d}~")).unwrap_err(),
        SdJwtError::DuplicateDisclosure
    );
}

#[test]
fn duplicate_digests_are_refused() {
    let f = Fixture::new();
    let d = disclosure(json!(["s", "a", 1]));
    let h = digest(&d);
    let twice = f.forge(json!({"_sd": [h, h]}), &[&d]);
    assert!(matches!(
        f.verify(&twice),
        Err(SdJwtError::DuplicateDigest(_))
    ));
    // A decoy repeated is a duplicate too.
    let decoys = f.forge(json!({"_sd": ["x", "x"]}), &[]);
    assert!(matches!(
        f.verify(&decoys),
        Err(SdJwtError::DuplicateDigest(_))
    ));
    // The same digest in an object and in an array.
    let e = disclosure(json!(["s2", 2]));
    let he = digest(&e);
    let across = f.forge(json!({"_sd": [he], "list": [{"...": he}]}), &[&e]);
    assert!(matches!(
        f.verify(&across),
        Err(SdJwtError::DuplicateDigest(_))
    ));
}

#[test]
fn sd_and_ellipsis_misuse_is_refused() {
    let f = Fixture::new();
    let element = disclosure(json!(["s", "VN"]));
    let property = disclosure(json!(["s", "name", "An"]));
    let cases = [
        f.forge(json!({"_sd": "notarray"}), &[]),
        f.forge(json!({"_sd": [1]}), &[]),
        f.forge(json!({"_sd": [digest(&element)]}), &[&element]),
        f.forge(json!({"list": [{"...": digest(&property)}]}), &[&property]),
        f.forge(json!({"obj": {"...": "x"}}), &[]),
        f.forge(json!({"list": [{"...": "x", "other": 1}]}), &[]),
        f.forge(json!({"list": [{"...": 5}]}), &[]),
    ];
    for case in cases {
        assert!(
            matches!(f.verify(&case), Err(SdJwtError::InvalidDigestUse(_))),
            "{case}"
        );
    }
}

#[test]
fn reserved_names_and_collisions_are_refused() {
    let f = Fixture::new();
    for name in ["_sd", "..."] {
        let d = disclosure(json!(["s", name, 1]));
        let text = f.forge(json!({"_sd": [digest(&d)]}), &[&d]);
        assert_eq!(
            f.verify(&text).unwrap_err(),
            SdJwtError::ReservedClaimName(name.into())
        );
    }
    let d = disclosure(json!(["s", "given_name", "B"]));
    let text = f.forge(json!({"given_name": "A", "_sd": [digest(&d)]}), &[&d]);
    assert_eq!(
        f.verify(&text).unwrap_err(),
        SdJwtError::ClaimNameCollision("given_name".into())
    );
}

#[test]
fn duplicate_payload_members_are_refused() {
    let f = Fixture::new();
    let jwt = sign_compact(
        &JwsHeader::es256("example+sd-jwt"),
        br#"{"iss":"https://a.example","iss":"https://b.example"}"#,
        &f.issuer,
    )
    .unwrap();
    assert!(matches!(
        f.verify(&format!("{jwt}~")),
        Err(SdJwtError::Jose(_))
    ));
    let jwt = sign_compact(
        &JwsHeader::es256("example+sd-jwt"),
        br#"{"_sd":[],"_sd":[]}"#,
        &f.issuer,
    )
    .unwrap();
    assert!(f.verify(&format!("{jwt}~")).is_err());
}

#[test]
fn unsupported_sd_alg_is_refused() {
    let f = Fixture::new();
    let text = f.forge(json!({"_sd_alg": "sha-512"}), &[]);
    assert_eq!(
        f.verify(&text).unwrap_err(),
        SdJwtError::UnsupportedHashAlgorithm("sha-512".into())
    );
}

#[test]
fn nesting_is_bounded() {
    let f = Fixture::new();
    let mut value = json!(1);
    for _ in 0..(MAX_DEPTH + 2) {
        value = json!([value]);
    }
    let text = f.forge(json!({"deep": value}), &[]);
    assert_eq!(f.verify(&text).unwrap_err(), SdJwtError::TooDeep);
    // Depth through a chain of disclosures counts as well.
    let mut disclosures = Vec::new();
    let mut inner = json!(1);
    for i in 0..(MAX_DEPTH + 2) {
        let d = disclosure(json!([format!("s{i}"), "n", inner]));
        inner = json!({"_sd": [digest(&d)]});
        disclosures.push(d);
    }
    let refs: Vec<&str> = disclosures.iter().map(String::as_str).collect();
    let text = f.forge(inner, &refs);
    assert_eq!(f.verify(&text).unwrap_err(), SdJwtError::TooDeep);
}

#[test]
fn issuer_refuses_what_the_verifier_would_refuse_as_too_deep() {
    let f = Fixture::new();
    let issuer = SdJwtIssuer::new(&f.issuer, JwsHeader::es256("t")).unwrap();
    let nested = |levels: usize| {
        let mut value = json!(1);
        for _ in 0..levels {
            value = json!({ "k": value });
        }
        value.as_object().unwrap().clone()
    };
    // The deepest plain nesting the verifier takes issues and verifies; one more is refused.
    let deepest = nested(MAX_DEPTH + 1);
    let issued = issuer.issue(&deepest, &[]).unwrap();
    assert!(f.verify(&issued).is_ok());
    assert!(matches!(
        issuer.issue(&nested(MAX_DEPTH + 2), &[]),
        Err(SdJwtError::InvalidInput(_))
    ));
    // Recursive disclosures count two levels each.
    let chain = |levels: usize| -> Vec<ClaimPath> {
        (1..=levels)
            .map(|n| ClaimPath::parse(&"/k".repeat(n)).unwrap())
            .collect()
    };
    let claims = nested(40);
    let within = issuer.issue(&claims, &chain(20));
    assert!(within.is_ok());
    assert!(f.verify(&within.unwrap()).is_ok());
    assert!(matches!(
        issuer.issue(&claims, &chain(34)),
        Err(SdJwtError::InvalidInput(_))
    ));
}

#[test]
fn any_decoy_bound_is_safe() {
    let f = Fixture::new();
    let issuer = SdJwtIssuer::new(&f.issuer, JwsHeader::es256("t"))
        .unwrap()
        .with_decoys(DecoyPolicy {
            max_per_object: u8::MAX,
        });
    let issued = issuer
        .issue(&f.claims(), &ClaimPath::parse_list("/given_name").unwrap())
        .unwrap();
    assert!(f.verify(&issued).is_ok());
}

#[test]
fn time_claims_are_enforced() {
    let f = Fixture::new();
    let expired = f.forge(json!({"exp": NOW - 31}), &[]);
    assert_eq!(
        f.verify(&expired).unwrap_err(),
        SdJwtError::Time(TimeError::Expired)
    );
    // At exp (plus skew) the token is already expired (RFC 7519 section 4.1.4: "before").
    let boundary = f.forge(json!({"exp": NOW - 30}), &[]);
    assert_eq!(
        f.verify(&boundary).unwrap_err(),
        SdJwtError::Time(TimeError::Expired)
    );
    assert!(
        f.verify(&f.forge(json!({"exp": NOW - 29}), &[])).is_ok(),
        "within skew"
    );
    let early = f.forge(json!({"nbf": NOW + 31}), &[]);
    assert_eq!(
        f.verify(&early).unwrap_err(),
        SdJwtError::Time(TimeError::NotYetValid)
    );
    let future = f.forge(json!({"iat": NOW + 31}), &[]);
    assert_eq!(
        f.verify(&future).unwrap_err(),
        SdJwtError::Time(TimeError::IssuedInTheFuture)
    );
    let text = f.forge(json!({"exp": "soon"}), &[]);
    assert!(matches!(f.verify(&text), Err(SdJwtError::Time(_))));
}

#[test]
fn key_binding_rules() {
    let f = Fixture::new();
    let sd_jwt = SdJwt::parse(&f.issue("/given_name,/family_name")).unwrap();
    let given = ClaimPath::parse_list("/given_name").unwrap();
    let good = sd_jwt
        .present(&given, Some(f.kb("aud-1", "n-1", NOW)))
        .unwrap();
    assert!(f.verify_with(&good, expect("aud-1")).is_ok());

    let kb_err = |text: &str, aud: &str| f.verify_with(text, expect(aud)).unwrap_err();
    assert_eq!(
        kb_err(&good, "aud-2"),
        SdJwtError::KeyBinding("aud does not match".into())
    );
    let other_nonce = sd_jwt
        .present(&given, Some(f.kb("aud-1", "n-2", NOW)))
        .unwrap();
    assert_eq!(
        kb_err(&other_nonce, "aud-1"),
        SdJwtError::KeyBinding("nonce does not match".into())
    );
    let stale = sd_jwt
        .present(&given, Some(f.kb("aud-1", "n-1", NOW - 301)))
        .unwrap();
    assert_eq!(
        kb_err(&stale, "aud-1"),
        SdJwtError::KeyBinding("iat is too old".into())
    );
    let future = sd_jwt
        .present(&given, Some(f.kb("aud-1", "n-1", NOW + 31)))
        .unwrap();
    assert_eq!(
        kb_err(&future, "aud-1"),
        SdJwtError::KeyBinding("iat is in the future".into())
    );

    // A disclosure added after key binding breaks sd_hash.
    let family = sd_jwt
        .disclosures()
        .iter()
        .find(|d| d.name() == Some("family_name"))
        .unwrap();
    let (head, kb) = good.rsplit_once('~').unwrap();
    let widened = format!("{head}~{}~{kb}", family.encoded());
    assert_eq!(
        kb_err(&widened, "aud-1"),
        SdJwtError::KeyBinding("sd_hash does not match".into())
    );
    // ... and so does removing one.
    let narrowed = format!("{}~{kb}", good.split('~').next().unwrap());
    assert_eq!(
        kb_err(&narrowed, "aud-1"),
        SdJwtError::KeyBinding("sd_hash does not match".into())
    );

    // Missing, or signed by someone other than the holder.
    let bare = sd_jwt.present(&given, None).unwrap();
    assert_eq!(kb_err(&bare, "aud-1"), SdJwtError::KeyBindingMissing);
    let thief = Es256KeyPair::generate().unwrap();
    let stolen = sd_jwt
        .present(
            &given,
            Some(KeyBindingInput {
                signer: &thief,
                aud: "aud-1",
                nonce: "n-1",
                iat: NOW,
            }),
        )
        .unwrap();
    assert_eq!(
        kb_err(&stolen, "aud-1"),
        SdJwtError::Jose(crate::jose::JoseError::BadSignature)
    );

    // A KB-JWT with the wrong typ.
    let payload = json!({"iat": NOW, "aud": "aud-1", "nonce": "n-1", "sd_hash": crate::jose::sha256_b64(&bare)});
    let wrong_typ = sign_compact(
        &JwsHeader::es256("jwt"),
        payload.to_string().as_bytes(),
        &f.holder,
    )
    .unwrap();
    assert!(matches!(
        kb_err(&format!("{bare}{wrong_typ}"), "aud-1"),
        SdJwtError::Jose(crate::jose::JoseError::UnexpectedType { .. })
    ));

    // No cnf in the credential.
    let text = f.forge(json!({"sub": "x"}), &[]);
    let kb = sign_compact(
        &JwsHeader::es256("kb+jwt"),
        payload.to_string().as_bytes(),
        &f.holder,
    )
    .unwrap();
    assert_eq!(
        kb_err(&format!("{text}{kb}"), "aud-1"),
        SdJwtError::NoHolderKey
    );
}

#[test]
fn wrong_issuer_key_and_malformed_serializations_are_refused() {
    let f = Fixture::new();
    let issued = f.issue("/given_name");
    let other = Es256KeyPair::generate().unwrap().public_key().clone();
    let err = verify(
        &issued,
        &VerifyOptions {
            now: NOW,
            skew: 0,
            key_binding: None,
        },
        &mut |_, _| Ok(other.clone()),
    )
    .unwrap_err();
    assert_eq!(err, SdJwtError::Jose(crate::jose::JoseError::BadSignature));
    let jwt = issued.split('~').next().unwrap();
    for bad in [
        jwt.to_owned(),
        format!("{jwt}~~"),
        format!("~{issued}"),
        String::new(),
    ] {
        assert!(f.verify(&bad).is_err(), "{bad}");
        assert!(SdJwt::parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn json_serialization_round_trip() {
    let f = Fixture::new();
    let sd_jwt = SdJwt::parse(&f.issue("/given_name,/address")).unwrap();
    let compact = sd_jwt
        .present(
            &ClaimPath::parse_list("/address").unwrap(),
            Some(f.kb("aud-1", "n-1", NOW)),
        )
        .unwrap();
    let json = to_json_serialization(&compact).unwrap();
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["header"]["disclosures"].as_array().unwrap().len(), 1);
    assert_eq!(from_json_serialization(&json).unwrap(), compact);
    let verified = f
        .verify_with(&from_json_serialization(&json).unwrap(), expect("aud-1"))
        .unwrap();
    assert_eq!(verified.claims["address"], f.claims()["address"]);
    let general = json!({
        "payload": parsed["payload"],
        "signatures": [{"protected": parsed["protected"], "header": parsed["header"], "signature": parsed["signature"]}],
    });
    assert_eq!(
        from_json_serialization(&general.to_string()).unwrap(),
        compact
    );
    assert!(from_json_serialization(r#"{"payload":"e30","signatures":[]}"#).is_err());
}

fn arb_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-zA-Zà-ỹ0-9 ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every claim path inside `value` (object members and array elements).
fn all_paths(value: &Value, at: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = at.child(k.as_str());
                out.push(p.clone());
                all_paths(v, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = at.child(i.to_string());
                out.push(p.clone());
                all_paths(v, &p, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever is made disclosable, disclosing everything gives the claims back exactly, and
    /// disclosing nothing leaves exactly the claims that were not made disclosable.
    #[test]
    fn round_trip_any_claims(
        claims in prop::collection::btree_map("[a-z]{1,6}", arb_json(3), 1..6),
        picks in prop::collection::vec(any::<bool>(), 64),
    ) {
        let f = Fixture::new();
        let claims: Map<String, Value> = claims.into_iter().collect();
        let mut paths = Vec::new();
        all_paths(&Value::Object(claims.clone()), &ClaimPath::root(), &mut paths);
        let chosen: Vec<ClaimPath> = paths.iter().zip(picks.iter().cycle()).filter(|(_, p)| **p).map(|(p, _)| p.clone()).collect();
        let issued = SdJwtIssuer::new(&f.issuer, JwsHeader::es256("t")).unwrap().issue(&claims, &chosen).unwrap();
        let verified = f.verify(&issued).unwrap();
        prop_assert_eq!(&verified.claims, &claims);
        prop_assert_eq!(verified.disclosed.len(), chosen.len());
        let sd_jwt = SdJwt::parse(&issued).unwrap();
        let nothing = sd_jwt.present(&[], None).unwrap();
        let verified = f.verify(&nothing).unwrap();
        for (name, value) in &claims {
            let hidden = chosen.iter().any(|c| c.segments().len() == 1 && c.segments()[0] == *name);
            prop_assert_eq!(verified.claims.contains_key(name), !hidden);
            if !hidden && !matches!(value, Value::Object(_) | Value::Array(_)) {
                prop_assert_eq!(&verified.claims[name], value);
            }
        }
    }

    /// No input makes the verifier or the parser panic.
    #[test]
    fn arbitrary_text_never_panics(text in "[A-Za-z0-9_~.\\-]{0,300}") {
        let f = Fixture::new();
        let _ = f.verify(&text);
        let _ = SdJwt::parse(&text);
        let _ = from_json_serialization(&text);
    }

    /// Flipping any character of a valid presentation never panics and never verifies to
    /// different claims.
    #[test]
    fn mutations_never_verify_differently(position in 0usize..2000, replacement in "[A-Za-z0-9_~.\\-]") {
        let f = Fixture::new();
        let sd_jwt = SdJwt::parse(&f.issue("/given_name,/address/locality,/nationalities/0")).unwrap();
        let good = sd_jwt.present(&ClaimPath::parse_list("/given_name,/address/locality").unwrap(), None).unwrap();
        let reference = f.verify(&good).unwrap().claims;
        let mut bytes = good.into_bytes();
        let i = position % bytes.len();
        bytes[i] = replacement.as_bytes()[0];
        let mutated = String::from_utf8(bytes).unwrap();
        if let Ok(verified) = f.verify(&mutated) {
            // Only a mutation that drops a disclosure (e.g. turning one into a separator) can
            // still verify, and then it shows a subset of the claims.
            for (name, value) in &verified.claims {
                if let Some(original) = reference.get(name) {
                    if !matches!(value, Value::Object(_)) { prop_assert_eq!(value, original); }
                } else {
                    prop_assert!(false, "claim {} appeared", name);
                }
            }
        }
    }
}

#[test]
fn public_key_from_cnf_is_checked_at_verification() {
    let f = Fixture::new();
    let mut jwk = f.holder.public_key().to_jwk();
    jwk["y"] = b64::encode([3u8; 32]).into();
    assert!(PublicKey::from_jwk(&jwk).is_err());
}
