//! Relying parties under the agency's trust bundle, offline: a relying party configured from
//! what the registry issued it (its chain, its registration) and the bundle; a wallet that takes
//! its trust from the bundle, answers the registered party while its trust data is fresh,
//! refuses it once the relying parties' status list says it was revoked, and refuses stale trust
//! data and an older bundle; the relying party's failures sorted into the reasons it acts on.

use std::sync::Arc;

use dinhdanh_sdk::{
    holder::{Wallet, WalletError},
    jose::{Es256KeyPair, JwsHeader, PublicKey},
    openid4vp::{
        Oid4vpError,
        dcql::DcqlQuery,
        request::{REGISTRAR_URI, RegisteredCredential, Registration},
    },
    relying_party::{RelyingParty, RelyingPartyConfig},
    status_list::{STATUS_LIST_JWT_TYP, StatusList, StatusListToken, StatusReference},
    trust::{CrlLocations, MaxAges, StatusListLocations, TrustBundle, TrustBundleError},
    vc::{self, Rejection, VcIssuance},
    wallet::{CopyRecord, CredentialInfo, KeyStore, SoftwareKeyStore, WalletStore},
    x509::{
        self, TrustAnchor,
        dev::{DevCa, LeafProfile},
    },
};
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";
const PID: &str = "urn:vn:dinhdanh:pid:1";
const RP_STATUS: &str = "https://id.dinhdanh.example/trust/rp-status-list";
const CLIENT_ID: &str = "x509_san_dns:bank.example.vn";
const RESPONSE_URI: &str = "https://bank.example.vn/openid4vp/response";

/// The agency: a root, its issuing key (credentials, status lists, the bundle), the
/// relying-party CA under the root and its registrar; a bank certified by that CA.
struct Agency {
    root: TrustAnchor,
    issuer_key: Es256KeyPair,
    issuer_chain: Vec<Vec<u8>>,
    rp_ca: DevCa,
    registrar_key: Es256KeyPair,
    registrar_chain: Vec<Vec<u8>>,
    bank_key: Es256KeyPair,
    bank_chain_pem: String,
}

fn profile<'a>(name: &'a str, dns: &'a [&'a str], uris: &'a [&'a str]) -> LeafProfile<'a> {
    LeafProfile {
        common_name: name,
        dns_names: dns,
        uris,
        not_before: NOW - 1_000,
        not_after: NOW + 10_000_000,
    }
}

fn agency() -> Agency {
    let root = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "agency root",
        NOW - 1_000,
        NOW + 10_000_000,
    )
    .unwrap();
    let issuer_key = Es256KeyPair::generate().unwrap();
    let issuer = root
        .issue(issuer_key.public_key(), &profile("issuer", &[], &[ISS]))
        .unwrap();
    let rp_ca_key = Es256KeyPair::generate().unwrap();
    let rp_ca_der = root
        .issue_intermediate(
            rp_ca_key.public_key(),
            "relying-party CA",
            NOW - 1_000,
            NOW + 10_000_000,
        )
        .unwrap();
    let rp_ca = DevCa::load(&rp_ca_der, &rp_ca_key).unwrap();
    let registrar_key = Es256KeyPair::generate().unwrap();
    let registrar = rp_ca
        .issue(
            registrar_key.public_key(),
            &profile("registrar", &[], &[REGISTRAR_URI]),
        )
        .unwrap();
    let bank_key = Es256KeyPair::generate().unwrap();
    let bank = rp_ca
        .issue(
            bank_key.public_key(),
            &profile("Ngân hàng Ví dụ", &["bank.example.vn"], &[]),
        )
        .unwrap();
    Agency {
        root: root.trust_anchor().unwrap(),
        issuer_key,
        issuer_chain: vec![issuer],
        registrar_key,
        registrar_chain: vec![registrar, rp_ca_der.clone()],
        bank_key,
        bank_chain_pem: format!(
            "{}{}",
            x509::der_to_pem(&bank),
            x509::der_to_pem(&rp_ca_der)
        ),
        rp_ca,
    }
}

impl Agency {
    fn bundle(&self, version: u64, iat: u64) -> String {
        TrustBundle {
            iss: ISS.into(),
            iat,
            exp: iat + 86_400,
            version,
            issuer_roots: x509::der_chain_to_x5c(&[self.root.der().to_vec()]),
            rp_roots: x509::der_chain_to_x5c(&[self.rp_ca.certificate_der().to_vec()]),
            status_lists: StatusListLocations {
                credentials: Some(format!("{ISS}/status-lists/")),
                relying_parties: Some(RP_STATUS.into()),
            },
            crls: CrlLocations {
                relying_parties: Some(format!("{ISS}/crl/rp.crl")),
                signing: None,
            },
            max_ages: MaxAges {
                trust_bundle: 86_400,
                status_list: 3_600,
                crl: 86_400,
            },
        }
        .sign(&self.issuer_key, &self.issuer_chain)
        .unwrap()
    }

    fn registration(&self, sub: &str, exp: u64) -> String {
        Registration {
            iss: ISS.into(),
            sub: sub.into(),
            name: "Ngân hàng Ví dụ".into(),
            purpose: "Mở tài khoản".into(),
            credentials: vec![RegisteredCredential {
                vct: PID.into(),
                claims: vec!["/given_name".into(), "/family_name".into()],
            }],
            iat: NOW - 100,
            exp,
            status: Some(StatusReference::new(RP_STATUS, 3).to_status_claim()),
        }
        .sign(&self.registrar_key, &self.registrar_chain)
        .unwrap()
    }

    /// The relying parties' status list at `iat`, entry 3 set when `revoked`.
    fn rp_status(&self, iat: u64, revoked: bool) -> String {
        let mut list = StatusList::new(1, 1024).unwrap();
        if revoked {
            list.set(3, 1).unwrap();
        }
        let mut token = StatusListToken::new(RP_STATUS, iat, list);
        token.exp = Some(iat + 86_400);
        StatusListToken::sign(
            &token,
            &JwsHeader {
                x5c: Some(x509::der_chain_to_x5c(&self.issuer_chain)),
                ..JwsHeader::es256(STATUS_LIST_JWT_TYP)
            },
            &self.issuer_key,
        )
        .unwrap()
    }

    fn bank(&self, registration: &str) -> Result<RelyingPartyConfig, Oid4vpError> {
        let bundle =
            TrustBundle::verify(&self.bundle(1, NOW), std::slice::from_ref(&self.root), NOW)
                .unwrap();
        RelyingPartyConfig::from_registration(
            Box::new(Es256KeyPair::from_pkcs8_der(&self.bank_key.to_pkcs8_der().unwrap()).unwrap()),
            &self.bank_chain_pem,
            registration,
            RESPONSE_URI,
            &bundle,
            NOW,
        )
    }
}

fn query() -> DcqlQuery {
    DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [PID] },
            "claims": [{ "path": ["given_name"] }]
        }]
    }))
    .unwrap()
}

/// A wallet holding a PID from the agency's issuer, with no trust of its own yet.
fn wallet(agency: &Agency, dir: &std::path::Path) -> Wallet {
    wallet_holding(dir, &agency.issuer_key, &agency.issuer_chain, ISS)
}

/// A wallet holding one PID issued by `issuer_key` (certificate chain `issuer_chain`) as `iss`.
fn wallet_holding(
    dir: &std::path::Path,
    issuer_key: &Es256KeyPair,
    issuer_chain: &[Vec<u8>],
    iss: &str,
) -> Wallet {
    let keys =
        Arc::new(SoftwareKeyStore::open_with_master_key(&dir.join("keys"), &[9; 32]).unwrap());
    let mut store = WalletStore::open(&dir.join("wallet.db"), keys.as_ref(), "wallet").unwrap();
    let mut claims: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("../vectors/pid-sample.json")).unwrap();
    claims.remove("age_equal_or_over");
    let kind = vc::CredentialKind::Pid;
    let disclosable = kind.disclosable_paths(&claims);
    keys.generate_signing_key("pid/0").unwrap();
    let holder = PublicKey::from_sec1(&keys.public_key("pid/0").unwrap()).unwrap();
    let sd_jwt = vc::issue_vc(
        issuer_key,
        &VcIssuance {
            vct: PID,
            iss: Some(iss),
            iat: NOW - 86_400,
            exp: Some(NOW + 365 * 86_400),
            holder_key: Some(&holder),
            x5c: Some(x509::der_chain_to_x5c(issuer_chain)),
            ..VcIssuance::default()
        },
        &claims,
        &disclosable,
    )
    .unwrap();
    store
        .add(
            &CredentialInfo {
                id: String::new(),
                configuration_id: Some("pid".into()),
                vct: PID.into(),
                issuer: iss.into(),
                issued_at: NOW - 86_400,
                expires_at: Some(NOW + 365 * 86_400),
                added_at: NOW - 86_000,
            },
            &[CopyRecord {
                sd_jwt,
                key_alias: "pid/0".into(),
            }],
        )
        .unwrap();
    Wallet::from_store(store, keys, Vec::new(), Vec::new())
}

#[test]
fn a_relying_party_is_made_from_its_registration_and_the_bundle() {
    let agency = agency();
    let config = agency
        .bank(&agency.registration(CLIENT_ID, NOW + 86_400))
        .unwrap();
    assert_eq!(config.client_id, CLIENT_ID);
    assert!(config.registration.is_some());

    // A registration for another client, or expired: not registered.
    for registration in [
        agency.registration("x509_san_dns:other.example.vn", NOW + 86_400),
        agency.registration(CLIENT_ID, NOW - 1),
    ] {
        let refused = agency.bank(&registration).err().unwrap();
        assert!(matches!(refused, Oid4vpError::Unregistered(_)), "{refused}");
        assert_eq!(refused.rejection(), Some(Rejection::Unregistered));
    }
    // A registration signed by a key outside the relying-party CA: not registered.
    let stranger = Es256KeyPair::generate().unwrap();
    let forged = Registration::verify(
        &agency.registration(CLIENT_ID, NOW + 86_400),
        &[agency.rp_ca.trust_anchor().unwrap()],
        NOW,
    )
    .unwrap()
    .sign(&stranger, &agency.registrar_chain)
    .unwrap();
    assert!(matches!(
        agency.bank(&forged),
        Err(Oid4vpError::Unregistered(_))
    ));
    // The bank signing a registration of its own, with its access certificate (which chains
    // to the same relying-party CA as the registrar's) and whatever claims it likes: refused.
    let mut greedy = Registration::verify(
        &agency.registration(CLIENT_ID, NOW + 86_400),
        &[agency.rp_ca.trust_anchor().unwrap()],
        NOW,
    )
    .unwrap();
    greedy.credentials[0]
        .claims
        .push("/personal_identifier".into());
    greedy.status = None;
    let own_chain = x509::pem_to_der_chain(&agency.bank_chain_pem).unwrap();
    let self_signed = greedy.sign(&agency.bank_key, &own_chain).unwrap();
    assert!(matches!(
        Registration::verify(&self_signed, &[agency.rp_ca.trust_anchor().unwrap()], NOW),
        Err(Oid4vpError::Unregistered(reason)) if reason.contains("registrar")
    ));
    assert!(matches!(
        agency.bank(&self_signed),
        Err(Oid4vpError::Unregistered(_))
    ));
    // A signer that does not hold the certified key: refused.
    let bundle = TrustBundle::verify(
        &agency.bundle(1, NOW),
        std::slice::from_ref(&agency.root),
        NOW,
    )
    .unwrap();
    assert!(matches!(
        RelyingPartyConfig::from_registration(
            Box::new(Es256KeyPair::generate().unwrap()),
            &agency.bank_chain_pem,
            &agency.registration(CLIENT_ID, NOW + 86_400),
            RESPONSE_URI,
            &bundle,
            NOW,
        ),
        Err(Oid4vpError::InvalidClient(_))
    ));
    // A chain from another agency: refused.
    let other = agency_other_chain();
    assert!(matches!(
        RelyingPartyConfig::from_registration(
            Box::new(other.0),
            &other.1,
            &agency.registration(CLIENT_ID, NOW + 86_400),
            RESPONSE_URI,
            &bundle,
            NOW,
        ),
        Err(Oid4vpError::InvalidClient(_))
    ));
}

fn agency_other_chain() -> (Es256KeyPair, String) {
    let other = agency();
    let key = Es256KeyPair::from_pkcs8_der(&other.bank_key.to_pkcs8_der().unwrap()).unwrap();
    (key, other.bank_chain_pem)
}

#[test]
fn the_wallet_refuses_a_revoked_relying_party_and_stale_trust_data() {
    let agency = agency();
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = wallet(&agency, dir.path());
    let root = [agency.root.clone()];
    let bundle = wallet
        .apply_trust_bundle(&agency.bundle(2, NOW), &root, NOW)
        .unwrap();
    assert_eq!(bundle.version, 2);
    let mut config = agency
        .bank(&agency.registration(CLIENT_ID, NOW + 86_400))
        .unwrap();
    config.policy.status.require_status = false;
    let mut bank = RelyingParty::new(config);

    // No relying-party status list yet: stale, not a pass.
    let created = bank.create_request(query(), NOW).unwrap();
    assert!(matches!(
        wallet.prepare_presentation(&created.uri, None, NOW),
        Err(WalletError::StaleTrustData(_))
    ));
    // A list signed by someone else, or for another URI: refused.
    let stranger = agency_other_list();
    assert!(matches!(
        wallet.refresh_rp_status_list(&stranger, NOW),
        Err(WalletError::InvalidTrustData(_))
    ));
    // Fresh and valid: the consent names the registered bank and its purpose; the bank checks.
    wallet
        .refresh_rp_status_list(&agency.rp_status(NOW - 10, false), NOW)
        .unwrap();
    let pending = wallet
        .prepare_presentation(&created.uri, None, NOW)
        .unwrap();
    assert_eq!(pending.consent.verifier_name, "Ngân hàng Ví dụ");
    assert_eq!(pending.consent.purpose.as_deref(), Some("Mở tài khoản"));
    let answer = wallet.respond(&pending, NOW).unwrap();
    // A changed answer is forged; the answer itself verifies once, then it is a replay.
    let mut token = answer.vp_token.clone().unwrap();
    let presentation = token["pid"][0].as_str().unwrap().to_owned();
    // One character of the issuer's signature changed.
    let at = presentation.find('~').unwrap() - 10;
    let flipped = if &presentation[at..=at] == "A" {
        "B"
    } else {
        "A"
    };
    token["pid"][0] = json!(format!(
        "{}{flipped}{}",
        &presentation[..at],
        &presentation[at + 1..]
    ));
    let state = pending.request.request.state.clone();
    let forged = dinhdanh_sdk::openid4vp::response::direct_post_body(&token, state.as_deref());
    let refused = bank.receive(&forged, NOW).unwrap_err();
    assert_eq!(refused.rejection(), Some(Rejection::Forged), "{refused}");
    assert_eq!(bank.receive(&answer.body, NOW).unwrap().len(), 1);
    assert_eq!(
        bank.receive(&answer.body, NOW).unwrap_err().rejection(),
        Some(Rejection::Replayed)
    );
    // Older than its maximum age: stale.
    let later = NOW + bundle.max_ages.status_list + 1;
    let created = bank.create_request(query(), later).unwrap();
    assert!(matches!(
        wallet.prepare_presentation(&created.uri, None, later),
        Err(WalletError::StaleTrustData(_))
    ));

    // Revoked: the refreshed list says so, and an older list handed in later does not undo it.
    wallet
        .refresh_rp_status_list(&agency.rp_status(NOW, true), NOW)
        .unwrap();
    wallet
        .refresh_rp_status_list(&agency.rp_status(NOW - 5, false), NOW)
        .unwrap();
    let created = bank.create_request(query(), NOW).unwrap();
    assert!(matches!(
        wallet.prepare_presentation(&created.uri, None, NOW),
        Err(WalletError::RevokedVerifier { verifier }) if verifier == CLIENT_ID
    ));
    // An older bundle is a rollback; a newer one keeps the status list it names.
    assert!(matches!(
        wallet.apply_trust_bundle(&agency.bundle(1, NOW), &root, NOW),
        Err(WalletError::TrustBundle(TrustBundleError::Rollback { .. }))
    ));
    wallet
        .apply_trust_bundle(&agency.bundle(3, NOW), &root, NOW)
        .unwrap();
    assert!(matches!(
        wallet.prepare_presentation(&created.uri, None, NOW),
        Err(WalletError::RevokedVerifier { .. })
    ));
    // A stale bundle is refused when applied.
    assert!(matches!(
        wallet.apply_trust_bundle(&agency.bundle(4, NOW - 90_000), &root, NOW),
        Err(WalletError::TrustBundle(TrustBundleError::Stale { .. }))
    ));
}

fn agency_other_list() -> String {
    agency().rp_status(NOW, false)
}

#[test]
fn a_relying_party_cannot_pass_for_a_credential_issuer() {
    // The bank's access certificate chains to the agency root (through the relying-party CA)
    // and its dNSName matches an iss of its choosing: a PID it signs is refused under the
    // bundle, which trusts the agency's own iss only.
    let agency = agency();
    let dir = tempfile::tempdir().unwrap();
    let bank_chain = x509::pem_to_der_chain(&agency.bank_chain_pem).unwrap();
    let mut wallet = wallet_holding(
        dir.path(),
        &agency.bank_key,
        &bank_chain,
        "https://bank.example.vn",
    );
    let root = [agency.root.clone()];
    wallet
        .apply_trust_bundle(&agency.bundle(1, NOW), &root, NOW)
        .unwrap();
    wallet
        .refresh_rp_status_list(&agency.rp_status(NOW - 10, false), NOW)
        .unwrap();
    let mut config = agency
        .bank(&agency.registration(CLIENT_ID, NOW + 86_400))
        .unwrap();
    config.policy.status.require_status = false;
    let mut bank = RelyingParty::new(config);
    let created = bank.create_request(query(), NOW).unwrap();
    let pending = wallet
        .prepare_presentation(&created.uri, None, NOW)
        .unwrap();
    let answer = wallet.respond(&pending, NOW).unwrap();
    let refused = bank.receive(&answer.body, NOW).err().unwrap();
    assert_eq!(
        refused.rejection(),
        Some(Rejection::UntrustedIssuer),
        "{refused}"
    );
}
