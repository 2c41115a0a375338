use serde_json::json;

use super::*;
use crate::{
    jose::{Es256KeyPair, JwsHeader, sign_compact},
    sdjwt::{KeyBindingInput, SdJwt},
    vc::{VcIssuance, issue_vc},
    x509::dev::{DevCa, LeafProfile},
};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";

struct Setup {
    issuer: Es256KeyPair,
    holder: Es256KeyPair,
}

fn setup() -> Setup {
    Setup {
        issuer: Es256KeyPair::generate().unwrap(),
        holder: Es256KeyPair::generate().unwrap(),
    }
}

fn pid() -> Map<String, Value> {
    crate::vc::kinds::tests::pid_claims()
}

impl Setup {
    fn issuance<'a>(&'a self, status: Option<&'a StatusReference>) -> VcIssuance<'a> {
        VcIssuance {
            vct: CredentialKind::Pid.vct(),
            iss: Some(ISS),
            iat: NOW - 10,
            exp: Some(NOW + 86_400),
            holder_key: Some(self.holder.public_key()),
            status,
            ..VcIssuance::default()
        }
    }

    fn issue_pid(&self, issuance: &VcIssuance<'_>) -> String {
        let claims = pid();
        let paths = CredentialKind::Pid.disclosable_paths(&claims);
        issue_vc(&self.issuer, issuance, &claims, &paths).unwrap()
    }

    fn present(&self, credential: &str, paths: &str) -> String {
        let sd_jwt = SdJwt::parse(credential).unwrap();
        let kb = KeyBindingInput {
            signer: &self.holder,
            aud: "https://rp.example",
            nonce: "n",
            iat: NOW,
        };
        sd_jwt
            .present(&ClaimPath::parse_list(paths).unwrap(), Some(kb))
            .unwrap()
    }

    fn options<'a>(&'a self, trust: IssuerTrust<'a>) -> VcVerifyOptions<'a> {
        VcVerifyOptions {
            trust,
            now: NOW,
            skew: 60,
            key_binding: Some(KeyBindingExpectation {
                aud: "https://rp.example",
                nonce: "n",
                max_age: 300,
            }),
            accepted_vcts: None,
        }
    }
}

#[test]
fn pid_with_pinned_key() {
    let s = setup();
    let status = StatusReference::new("https://id.dinhdanh.example/status/7", 4242);
    let credential = s.issue_pid(&s.issuance(Some(&status)));
    let presentation = s.present(&credential, "/given_name,/age_equal_or_over/18");
    let verified = verify_vc(
        &presentation,
        &s.options(IssuerTrust::Key(s.issuer.public_key())),
    )
    .unwrap();
    assert_eq!(verified.kind, Some(CredentialKind::Pid));
    assert_eq!(verified.iss.as_deref(), Some(ISS));
    assert_eq!(verified.claims["given_name"], "Văn An");
    assert_eq!(verified.claims["age_equal_or_over"], json!({"18": true}));
    assert!(!verified.claims.contains_key("family_name"));
    assert_eq!(verified.status, Some(status));
    assert_eq!(verified.holder_key.as_ref(), Some(s.holder.public_key()));
    assert_eq!(verified.expires_at, Some(NOW + 86_400));

    let accepted = [CredentialKind::DrivingLicence.vct()];
    let mut options = s.options(IssuerTrust::Key(s.issuer.public_key()));
    options.accepted_vcts = Some(&accepted);
    assert!(matches!(
        verify_vc(&presentation, &options),
        Err(VcError::UnacceptedType(_))
    ));
}

#[test]
fn issuance_normalizes_to_nfc_and_enforces_schema_and_rules() {
    let s = setup();
    let mut claims = pid();
    // "Nguyễn" in decomposed form (NFD): e + combining circumflex + combining tilde.
    claims.insert("family_name".into(), json!("Nguye\u{0302}\u{0303}n"));
    let credential = issue_vc(
        &s.issuer,
        &s.issuance(None),
        &claims,
        &[ClaimPath::parse("/family_name").unwrap()],
    )
    .unwrap();
    let verified = verify_vc(
        &s.present(&credential, "/family_name"),
        &s.options(IssuerTrust::Key(s.issuer.public_key())),
    )
    .unwrap();
    assert_eq!(verified.claims["family_name"], "Nguyễn");
    assert_eq!(
        verified.claims["family_name"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        6
    );

    // Member names are not normalized (two could merge into one): a non-NFC name is refused.
    let mut decomposed = pid();
    decomposed.insert(
        "address".into(),
        json!({"formatted": "x", "e\u{0301}": "decomposed", "é": "precomposed"}),
    );
    assert!(matches!(
        issue_vc(&s.issuer, &s.issuance(None), &decomposed, &[]),
        Err(VcError::Claim(..))
    ));

    let mut bad = pid();
    bad.remove("birthdate");
    assert!(matches!(
        issue_vc(&s.issuer, &s.issuance(None), &bad, &[]),
        Err(VcError::Schema { .. })
    ));
    let mut registered = pid();
    registered.insert("vct".into(), json!("x"));
    assert!(matches!(
        issue_vc(&s.issuer, &s.issuance(None), &registered, &[]),
        Err(VcError::Claim(..))
    ));
    for never in ["/iss", "/exp", "/cnf", "/vct", "/status"] {
        let result = issue_vc(
            &s.issuer,
            &s.issuance(None),
            &pid(),
            &[ClaimPath::parse(never).unwrap()],
        );
        assert!(
            matches!(result, Err(VcError::NeverDisclosable(_))),
            "{never}"
        );
    }
    // A vct that is not one of our kinds carries any claims.
    let other = VcIssuance {
        vct: "https://example.org/membership",
        ..s.issuance(None)
    };
    let claims = json!({"member": "yes"}).as_object().unwrap().clone();
    assert!(issue_vc(&s.issuer, &other, &claims, &[]).is_ok());
}

#[test]
fn wrong_typ_and_disclosed_registered_claims_are_refused() {
    let s = setup();
    let header = JwsHeader::es256("example+sd-jwt");
    let issued = crate::sdjwt::SdJwtIssuer::new(&s.issuer, header)
        .unwrap()
        .issue(
            json!({"vct": "x", "cnf": {"jwk": s.holder.public_key().to_jwk()}})
                .as_object()
                .unwrap(),
            &[],
        )
        .unwrap();
    let presentation = s.present(&issued, "/vct");
    let err = verify_vc(
        &presentation,
        &s.options(IssuerTrust::Key(s.issuer.public_key())),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            VcError::SdJwt(SdJwtError::IssuerKey(_)) | VcError::SdJwt(SdJwtError::Jose(_))
        ),
        "{err}"
    );

    // An issuer that hid `exp` behind a disclosure.
    for name in ["exp", "vct", "status", "cnf"] {
        let mut claims = json!({"vct": "x", "exp": NOW + 10, "status": {"status_list": {"idx": 1, "uri": "https://s"}}, "cnf": {"jwk": s.holder.public_key().to_jwk()}});
        if name == "cnf" {
            // Without a visible cnf there is no key binding; check the rule without it.
            claims["other"] = json!(1);
        }
        let issued = crate::sdjwt::SdJwtIssuer::new(&s.issuer, JwsHeader::es256(VC_TYP))
            .unwrap()
            .issue(
                claims.as_object().unwrap(),
                &[ClaimPath::parse(&format!("/{name}")).unwrap()],
            )
            .unwrap();
        let sd_jwt = SdJwt::parse(&issued).unwrap();
        let presentation = sd_jwt
            .present(&[ClaimPath::parse(&format!("/{name}")).unwrap()], None)
            .unwrap();
        let mut options = s.options(IssuerTrust::Key(s.issuer.public_key()));
        options.key_binding = None;
        let err = verify_vc(&presentation, &options).unwrap_err();
        assert_eq!(err, VcError::NeverDisclosable(format!("/{name}")), "{name}");
    }

    // No vct at all.
    let payload = json!({"iss": ISS});
    let jwt = sign_compact(
        &JwsHeader::es256(VC_TYP),
        payload.to_string().as_bytes(),
        &s.issuer,
    )
    .unwrap();
    let mut options = s.options(IssuerTrust::Key(s.issuer.public_key()));
    options.key_binding = None;
    assert!(matches!(
        verify_vc(&format!("{jwt}~"), &options),
        Err(VcError::Claim(..))
    ));
}

#[test]
fn x5c_chain_to_trust_anchor_binds_iss() {
    let s = setup();
    let ca_key = Es256KeyPair::generate().unwrap();
    let ca = DevCa::generate(&ca_key, "dinhdanh test root", NOW - 1000, NOW + 10_000_000).unwrap();
    let leaf = |uris: &[&str], dns: &[&str]| {
        let der = ca
            .issue(
                s.issuer.public_key(),
                &LeafProfile {
                    common_name: "issuer",
                    dns_names: dns,
                    uris,
                    not_before: NOW - 100,
                    not_after: NOW + 100_000,
                },
            )
            .unwrap();
        crate::x509::der_chain_to_x5c(&[der])
    };
    let anchors = [ca.trust_anchor().unwrap()];
    let verify_with = |x5c: Vec<String>, iss: &str| {
        let issuance = VcIssuance {
            x5c: Some(x5c),
            iss: Some(iss),
            ..s.issuance(None)
        };
        let presentation = s.present(&s.issue_pid(&issuance), "/given_name");
        verify_vc(&presentation, &s.options(IssuerTrust::Anchors(&anchors)))
    };
    let verified = verify_with(leaf(&[ISS], &[]), ISS).unwrap();
    assert!(verified.issuer_certificate.unwrap().contains("issuer"));
    assert!(
        verify_with(leaf(&[], &["id.dinhdanh.example"]), ISS).is_ok(),
        "dNSName of the https host"
    );
    assert!(
        verify_with(
            leaf(&[], &["id.dinhdanh.example"]),
            "dns:id.dinhdanh.example"
        )
        .is_ok()
    );
    assert!(matches!(
        verify_with(leaf(&[ISS], &[]), "https://evil.example"),
        Err(VcError::IssuerKey(_))
    ));
    assert!(verify_with(leaf(&[], &["evil.example"]), ISS).is_err());

    // Untrusted root, or no x5c at all.
    let other_ca = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "other",
        NOW - 1000,
        NOW + 10_000_000,
    )
    .unwrap();
    let other_anchors = [other_ca.trust_anchor().unwrap()];
    let issuance = VcIssuance {
        x5c: Some(leaf(&[ISS], &[])),
        ..s.issuance(None)
    };
    let presentation = s.present(&s.issue_pid(&issuance), "/given_name");
    let untrusted = verify_vc(
        &presentation,
        &s.options(IssuerTrust::Anchors(&other_anchors)),
    )
    .unwrap_err();
    // The chain's own error, not its text through the SD-JWT layer.
    assert!(matches!(untrusted, VcError::X509(_)), "{untrusted:?}");
    assert_eq!(untrusted.rejection(), crate::vc::Rejection::UntrustedIssuer);
    let presentation = s.present(&s.issue_pid(&s.issuance(None)), "/given_name");
    assert!(verify_vc(&presentation, &s.options(IssuerTrust::Anchors(&anchors))).is_err());
}

#[test]
fn issuer_metadata_trust() {
    let s = setup();
    let mut jwk = s.issuer.public_key().to_jwk();
    jwk["kid"] = "k1".into();
    let metadata =
        JwtVcIssuerMetadata::parse(&json!({"issuer": ISS, "jwks": {"keys": [jwk]}}).to_string())
            .unwrap();
    let documents = [metadata];
    let issuance = VcIssuance {
        kid: Some("k1"),
        ..s.issuance(None)
    };
    let presentation = s.present(&s.issue_pid(&issuance), "/birthdate");
    let verified = verify_vc(&presentation, &s.options(IssuerTrust::Metadata(&documents))).unwrap();
    assert_eq!(verified.claims["birthdate"], "2004-03-15");

    let stranger = VcIssuance {
        iss: Some("https://other.example"),
        ..issuance
    };
    let presentation = s.present(&s.issue_pid(&stranger), "/birthdate");
    assert!(verify_vc(&presentation, &s.options(IssuerTrust::Metadata(&documents))).is_err());
}

#[test]
fn iss_matching_rules() {
    let uris = vec!["https://a.example/x".to_string()];
    let dns = vec!["b.example".to_string()];
    assert!(iss_matches_certificate("https://a.example/x", &uris, &dns));
    assert!(!iss_matches_certificate("https://a.example", &uris, &dns));
    assert!(iss_matches_certificate(
        "https://B.example/path",
        &uris,
        &dns
    ));
    assert!(iss_matches_certificate("dns:b.example", &uris, &dns));
    assert!(!iss_matches_certificate(
        "https://b.example:8443",
        &uris,
        &dns
    ));
    assert!(!iss_matches_certificate(
        "https://user@b.example",
        &uris,
        &dns
    ));
    assert!(!iss_matches_certificate("http://b.example", &uris, &dns));
}
