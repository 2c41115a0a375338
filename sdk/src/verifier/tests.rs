use serde_json::json;

use super::*;
use crate::{
    jose::{Es256KeyPair, JwsHeader},
    sdjwt::{KeyBindingInput, SdJwt},
    status_list::{StatusList, StatusReference},
    vc::{VcIssuance, issue_vc},
    x509::dev::{DevCa, LeafProfile},
};

const NOW: u64 = 1_800_000_000;
const LIST: &str = "https://id.dinhdanh.example/status/1";

struct World {
    issuer: Es256KeyPair,
    holder: Es256KeyPair,
    status_key: Es256KeyPair,
    ca: DevCa,
}

fn world() -> World {
    let ca = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "root",
        NOW - 10_000,
        NOW + 10_000_000,
    )
    .unwrap();
    World {
        issuer: Es256KeyPair::generate().unwrap(),
        holder: Es256KeyPair::generate().unwrap(),
        status_key: Es256KeyPair::generate().unwrap(),
        ca,
    }
}

impl World {
    fn presentation(&self, idx: u64) -> String {
        let reference = StatusReference::new(LIST, idx);
        let claims = json!({
            "personal_identifier": "079204000001", "family_name": "Trần", "given_name": "Thị Bình",
            "birthdate": "2004-05-06", "sex": 2, "nationalities": ["VN"],
            "issuing_authority": "Bộ Công an", "issuing_country": "VN",
        });
        let claims = claims.as_object().unwrap().clone();
        let paths = CredentialKind::Pid.disclosable_paths(&claims);
        let x5c = self
            .ca
            .issue(
                self.issuer.public_key(),
                &LeafProfile {
                    common_name: "issuer",
                    uris: &["https://id.dinhdanh.example"],
                    not_before: NOW - 100,
                    not_after: NOW + 100_000,
                    ..LeafProfile::default()
                },
            )
            .unwrap();
        let issuance = VcIssuance {
            vct: CredentialKind::Pid.vct(),
            iss: Some("https://id.dinhdanh.example"),
            iat: NOW - 50,
            exp: Some(NOW + 1000),
            holder_key: Some(self.holder.public_key()),
            status: Some(&reference),
            x5c: Some(x509::der_chain_to_x5c(&[x5c])),
            ..VcIssuance::default()
        };
        let credential = issue_vc(&self.issuer, &issuance, &claims, &paths).unwrap();
        SdJwt::parse(&credential)
            .unwrap()
            .present(
                &ClaimPath::parse_list("/given_name,/birthdate").unwrap(),
                Some(KeyBindingInput {
                    signer: &self.holder,
                    aud: "rp-1",
                    nonce: "nonce-1",
                    iat: NOW,
                }),
            )
            .unwrap()
    }

    fn policy(&self) -> VerificationPolicy {
        VerificationPolicy {
            accepted_vcts: vec![CredentialKind::Pid.vct().into()],
            issuer_trust: IssuerTrustData::Anchors(vec![self.ca.trust_anchor().unwrap()]),
            trust_as_of: NOW - 3600,
            max_trust_age: 86_400,
            skew: 30,
            key_binding: Some(KeyBindingPolicy {
                audience: "rp-1".into(),
                nonce: "nonce-1".into(),
                max_age: 120,
            }),
            status: StatusPolicy {
                max_age: 3600,
                require_status: true,
            },
        }
    }

    fn status_cache(&self, revoked: &[usize], iat: u64) -> StatusListCache {
        let mut list = StatusList::new(2, 1 << 16).unwrap();
        for &idx in revoked {
            list.set(idx, 1).unwrap();
        }
        let token = StatusListToken::new(LIST, iat, list)
            .sign(&JwsHeader::es256("statuslist+jwt"), &self.status_key)
            .unwrap();
        let mut cache = StatusListCache::new();
        cache
            .insert(
                LIST,
                &token,
                &StatusTrust::Key(self.status_key.public_key().clone()),
                NOW,
            )
            .unwrap();
        cache
    }
}

#[test]
fn valid_presentation_with_status() {
    let w = world();
    let verified = verify_presentation(
        &w.presentation(77),
        &w.policy(),
        &w.status_cache(&[76, 78], NOW - 60),
        NOW,
    )
    .unwrap();
    assert_eq!(verified.kind, Some(CredentialKind::Pid));
    assert_eq!(verified.status, Some(Status::Valid));
    let mut disclosed: Vec<(String, Value)> = verified
        .disclosed
        .iter()
        .map(|(p, v)| (p.to_string(), v.clone()))
        .collect();
    disclosed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        disclosed,
        [
            ("/birthdate".into(), json!("2004-05-06")),
            ("/given_name".into(), json!("Thị Bình"))
        ]
    );
}

#[test]
fn revoked_stale_or_missing_status_is_an_error() {
    let w = world();
    let presentation = w.presentation(77);
    let policy = w.policy();
    assert_eq!(
        verify_presentation(
            &presentation,
            &policy,
            &w.status_cache(&[77], NOW - 60),
            NOW
        )
        .unwrap_err(),
        VerificationError::NotValid(Status::Invalid)
    );
    assert!(matches!(
        verify_presentation(
            &presentation,
            &policy,
            &w.status_cache(&[], NOW - 3601),
            NOW
        ),
        Err(VerificationError::StatusStale { .. })
    ));
    assert_eq!(
        verify_presentation(&presentation, &policy, &StatusListCache::new(), NOW).unwrap_err(),
        VerificationError::StatusUnavailable(LIST.into())
    );
}

#[test]
fn stale_trust_data_wrong_nonce_and_unaccepted_type() {
    let w = world();
    let presentation = w.presentation(1);
    let cache = w.status_cache(&[], NOW - 60);
    let mut stale = w.policy();
    stale.trust_as_of = NOW - 86_401;
    assert!(matches!(
        verify_presentation(&presentation, &stale, &cache, NOW),
        Err(VerificationError::TrustDataStale { .. })
    ));
    let mut other_nonce = w.policy();
    other_nonce.key_binding.as_mut().unwrap().nonce = "nonce-2".into();
    assert!(verify_presentation(&presentation, &other_nonce, &cache, NOW).is_err());
    let mut licence_only = w.policy();
    licence_only.accepted_vcts = vec![CredentialKind::DrivingLicence.vct().into()];
    assert!(verify_presentation(&presentation, &licence_only, &cache, NOW).is_err());
}

#[test]
fn older_or_future_status_lists_and_future_trust_data_are_refused() {
    let w = world();
    let presentation = w.presentation(77);
    let sign = |iat: u64, revoked: bool| {
        let mut list = StatusList::new(2, 1 << 16).unwrap();
        if revoked {
            list.set(77, 1).unwrap();
        }
        StatusListToken::new(LIST, iat, list)
            .sign(&JwsHeader::es256("statuslist+jwt"), &w.status_key)
            .unwrap()
    };
    let trust = StatusTrust::Key(w.status_key.public_key().clone());
    let mut cache = StatusListCache::new();
    cache
        .insert(LIST, &sign(NOW - 10, true), &trust, NOW)
        .unwrap();
    // A replayed older list that still says "valid" is refused; the revocation stands.
    assert!(matches!(
        cache.insert(LIST, &sign(NOW - 100, false), &trust, NOW),
        Err(VerificationError::StatusRollback { .. })
    ));
    assert_eq!(
        verify_presentation(&presentation, &w.policy(), &cache, NOW).unwrap_err(),
        VerificationError::NotValid(Status::Invalid)
    );
    // A list dated in the future would never go stale.
    let mut future = StatusListCache::new();
    future
        .insert(LIST, &sign(NOW + 10 * 365 * 86_400, false), &trust, NOW)
        .unwrap();
    assert_eq!(
        verify_presentation(&presentation, &w.policy(), &future, NOW).unwrap_err(),
        VerificationError::FromTheFuture("the status list")
    );
    let mut policy = w.policy();
    policy.trust_as_of = NOW + 3600;
    assert_eq!(
        verify_presentation(&presentation, &policy, &w.status_cache(&[], NOW - 60), NOW)
            .unwrap_err(),
        VerificationError::FromTheFuture("trust data")
    );
}

#[test]
fn status_tokens_are_verified_on_insert() {
    let w = world();
    let list = StatusList::new(1, 64).unwrap();
    let token = StatusListToken::new(LIST, NOW, list)
        .sign(&JwsHeader::es256("statuslist+jwt"), &w.issuer)
        .unwrap();
    let mut cache = StatusListCache::new();
    assert!(
        cache
            .insert(
                LIST,
                &token,
                &StatusTrust::Key(w.status_key.public_key().clone()),
                NOW
            )
            .is_err()
    );
    assert!(
        cache
            .insert(
                "https://other/list",
                &token,
                &StatusTrust::Key(w.issuer.public_key().clone()),
                NOW
            )
            .is_err()
    );
    assert!(cache.get(LIST).is_none());

    // x5c-signed status list chained to the agency root.
    let leaf =
        w.ca.issue(
            w.status_key.public_key(),
            &LeafProfile {
                common_name: "status",
                not_before: NOW - 10,
                not_after: NOW + 1000,
                ..LeafProfile::default()
            },
        )
        .unwrap();
    let mut header = JwsHeader::es256("statuslist+jwt");
    header.x5c = Some(x509::der_chain_to_x5c(&[leaf]));
    let token = StatusListToken::new(LIST, NOW, StatusList::new(1, 64).unwrap())
        .sign(&header, &w.status_key)
        .unwrap();
    let anchors = StatusTrust::Anchors(vec![w.ca.trust_anchor().unwrap()]);
    cache.insert(LIST, &token, &anchors, NOW).unwrap();
    assert!(cache.get(LIST).is_some());
}

#[test]
fn each_refusal_says_what_it_means() {
    let w = world();
    let presentation = w.presentation(77);
    let policy = w.policy();
    let fresh = w.status_cache(&[], NOW - 60);
    fn rejection(
        presentation: &str,
        policy: &VerificationPolicy,
        cache: &StatusListCache,
        now: u64,
    ) -> Rejection {
        verify_presentation(presentation, policy, cache, now)
            .unwrap_err()
            .rejection()
    }
    assert_eq!(
        rejection(
            &presentation,
            &policy,
            &w.status_cache(&[77], NOW - 60),
            NOW
        ),
        Rejection::Revoked
    );
    let mut list = StatusList::new(2, 1 << 16).unwrap();
    list.set(77, 2).unwrap();
    let token = StatusListToken::new(LIST, NOW - 60, list)
        .sign(&JwsHeader::es256("statuslist+jwt"), &w.status_key)
        .unwrap();
    let mut suspended = StatusListCache::new();
    suspended
        .insert(
            LIST,
            &token,
            &StatusTrust::Key(w.status_key.public_key().clone()),
            NOW,
        )
        .unwrap();
    assert_eq!(
        rejection(&presentation, &policy, &suspended, NOW),
        Rejection::Suspended
    );
    // The credential's exp (NOW + 1000) passed; the key binding may be as old.
    let mut later = w.policy();
    later.key_binding.as_mut().unwrap().max_age = 10_000;
    assert_eq!(
        rejection(&presentation, &later, &fresh, NOW + 2_000),
        Rejection::Expired
    );
    // One character of the issuer's signature changed.
    let (jwt, rest) = presentation.split_once('~').unwrap();
    let signature_at = jwt.rfind('.').unwrap() + 5;
    let mut forged = jwt.to_owned();
    let swapped = if &jwt[signature_at..=signature_at] == "A" {
        "B"
    } else {
        "A"
    };
    forged.replace_range(signature_at..=signature_at, swapped);
    let forged = format!("{forged}~{rest}");
    assert_eq!(rejection(&forged, &policy, &fresh, NOW), Rejection::Forged);
    // Key binding to another request.
    let mut other_nonce = w.policy();
    other_nonce.key_binding.as_mut().unwrap().nonce = "nonce-2".into();
    assert_eq!(
        rejection(&presentation, &other_nonce, &fresh, NOW),
        Rejection::Forged
    );
    // Another agency's root.
    let mut other_root = w.policy();
    other_root.issuer_trust = IssuerTrustData::Anchors(vec![
        DevCa::generate(
            &Es256KeyPair::generate().unwrap(),
            "other",
            NOW - 10,
            NOW + 10_000,
        )
        .unwrap()
        .trust_anchor()
        .unwrap(),
    ]);
    assert_eq!(
        rejection(&presentation, &other_root, &fresh, NOW),
        Rejection::UntrustedIssuer
    );
    // The verifier's own data too old.
    let mut stale = w.policy();
    stale.trust_as_of = NOW - 86_401;
    assert_eq!(
        rejection(&presentation, &stale, &fresh, NOW),
        Rejection::StaleTrustData
    );
    assert_eq!(
        rejection(
            &presentation,
            &policy,
            &w.status_cache(&[], NOW - 3_601),
            NOW
        ),
        Rejection::StaleTrustData
    );
    assert_eq!(
        rejection(&presentation, &policy, &StatusListCache::new(), NOW),
        Rejection::StaleTrustData
    );
    assert_eq!(
        rejection("not an SD-JWT", &policy, &fresh, NOW),
        Rejection::Malformed
    );
}
