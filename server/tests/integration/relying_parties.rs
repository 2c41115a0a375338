//! The relying-party registry on each backend: `rp register` certifies the key of a PKCS#10
//! request (made with `openssl req`, or with the SDK's key) and mints the registration, the
//! chain and CRL verify with `openssl verify -crl_check` before and after `rp revoke`, bad
//! requests are refused with nothing stored, the trust bundle verifies with the SDK, and a
//! wallet that presents to a registered relying party refuses it once revoked and its trust data
//! refreshed.

use std::{path::Path, process::Output, sync::Arc};

use axum::http::{Method, StatusCode, header};
use dinhdanh_sdk::{
    holder::{Wallet, WalletError},
    jose::Es256KeyPair,
    openid4vci::http::HttpTransport,
    openid4vp::{
        dcql::DcqlQuery,
        request::{ClientId, RegisteredCredential, Registration, RequestReference, verify_request},
        response::ResponsePolicy,
    },
    relying_party::{RelyingParty, RelyingPartyConfig},
    sdjwt::SdJwt,
    status_list::{Status, StatusReference},
    trust::TrustBundle,
    vc::{CredentialKind, Rejection},
    verifier::{IssuerTrustData, StatusListCache, StatusTrust},
    wallet::SoftwareKeyStore,
    x509::{self, ChainPolicy, TrustAnchor},
};
use dinhdanh_server::{
    app::setup,
    domain::{
        audit,
        rp::{self, CsrError, RegisterRequest, RpError},
    },
    platform::config::Config,
    store::RelyingPartyKind,
};
use serde_json::{Value, json};

use crate::support::{ORIGIN, TestApp, TestDb, databases, server_command, start_server};

fn now() -> u64 {
    dinhdanh_server::platform::clock::now() as u64
}

fn openssl(args: &[&str]) -> Output {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A key of `curve` and a CSR for it made with `openssl req` (its subject is not the registry's).
fn openssl_csr(dir: &Path, name: &str, curve: &str) -> std::path::PathBuf {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    openssl(&[
        "ecparam",
        "-name",
        curve,
        "-genkey",
        "-noout",
        "-out",
        key.to_str().unwrap(),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=whatever the party wrote/O=Not the registry",
        "-out",
        csr.to_str().unwrap(),
    ]);
    csr
}

/// A CSR (DER) for an SDK key, signed by it.
fn sdk_csr(key: &Es256KeyPair) -> Vec<u8> {
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_slice()).unwrap();
    rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key_pair)
        .unwrap()
        .der()
        .to_vec()
}

/// The TLVs of a DER SEQUENCE's contents (short test inputs only).
fn der_children(der: &[u8]) -> Vec<Vec<u8>> {
    fn tlv_len(bytes: &[u8]) -> (usize, usize) {
        match bytes[1] {
            n if n < 0x80 => (2, n as usize),
            0x81 => (3, bytes[2] as usize),
            0x82 => (4, (bytes[2] as usize) << 8 | bytes[3] as usize),
            _ => panic!("long"),
        }
    }
    let (header, _) = tlv_len(der);
    let mut rest = &der[header..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (h, len) = tlv_len(rest);
        out.push(rest[..h + len].to_vec());
        rest = &rest[h + len..];
    }
    out
}

fn der_sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    let mut out = vec![0x30];
    match body.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend(body);
    out
}

fn run(db: &TestDb, args: &[&str]) -> Output {
    server_command(db).args(args).output().unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn pems(chain: &str) -> Vec<String> {
    chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_owned)
        .collect()
}

/// `openssl verify -crl_check` of the access certificate, its CA given as untrusted, the
/// agency root trusted, with the CRL served now: (success, output).
async fn openssl_verify(app: &TestApp, dir: &Path, chain: &str) -> (bool, String) {
    let parts = pems(chain);
    std::fs::write(dir.join("leaf.pem"), &parts[0]).unwrap();
    std::fs::write(dir.join("rp-ca.pem"), &parts[1]).unwrap();
    let root = app
        .call(Method::GET, "/trust/issuer-root.pem", None, None)
        .await;
    std::fs::write(dir.join("root.pem"), &root.text).unwrap();
    let crl = crl_der(app).await;
    std::fs::write(dir.join("rp.crl"), &crl).unwrap();
    openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        dir.join("rp.crl").to_str().unwrap(),
        "-out",
        dir.join("rp-crl.pem").to_str().unwrap(),
    ]);
    let output = std::process::Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            dir.join("root.pem").to_str().unwrap(),
            "-untrusted",
            dir.join("rp-ca.pem").to_str().unwrap(),
            "-CRLfile",
            dir.join("rp-crl.pem").to_str().unwrap(),
            "-crl_check",
            dir.join("leaf.pem").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

async fn crl_der(app: &TestApp) -> Vec<u8> {
    let request = axum::http::Request::builder()
        .uri("/crl/rp.crl")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/pkix-crl"
    );
    http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

fn crl_number(dir: &Path) -> String {
    let output = openssl(&[
        "crl",
        "-in",
        dir.join("rp-crl.pem").to_str().unwrap(),
        "-noout",
        "-crlnumber",
    ]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn agency_root(pem: &str) -> Vec<TrustAnchor> {
    TrustAnchor::from_pem(pem).unwrap()
}

async fn bundle(app: &TestApp, root: &[TrustAnchor]) -> TrustBundle {
    let reply = app.call(Method::GET, "/trust/bundle", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/jwt");
    TrustBundle::verify(&reply.text, root, now()).unwrap()
}

async fn rp_status(app: &TestApp, root: &[TrustAnchor], reference: &StatusReference) -> Status {
    let reply = app
        .call(Method::GET, "/trust/rp-status-list", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/statuslist+jwt"
    );
    let mut cache = StatusListCache::new();
    cache
        .insert(
            &reference.uri,
            &reply.text,
            &StatusTrust::Anchors(root.to_vec()),
            now(),
        )
        .unwrap();
    cache
        .get(&reference.uri)
        .unwrap()
        .status_of(reference)
        .unwrap()
}

#[tokio::test]
async fn register_and_revoke_through_the_commands_verify_with_openssl() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let dir = db.dir.path();
        let csr = openssl_csr(dir, "bank", "prime256v1");
        let output = run(
            &db,
            &[
                "rp",
                "register",
                "--name",
                "Ngân hàng Ví dụ",
                "--kind",
                "bank",
                "--dns",
                "verify.bank.example.vn",
                "--csr",
                csr.to_str().unwrap(),
                "--allow",
                "pid:/given_name,/family_name",
                "--allow",
                "pid:/address/locality",
                "--purpose",
                "Mở tài khoản",
                "--registration-number",
                "0100109106",
                "--json",
            ],
        );
        let registered = json_of(&output);
        let mut keys: Vec<&str> = registered
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["certificate_chain", "client_id", "registration", "rp_id"]
        );
        assert_eq!(
            registered["client_id"],
            "x509_san_dns:verify.bank.example.vn"
        );
        let chain = registered["certificate_chain"].as_str().unwrap();
        let parts = pems(chain);
        assert_eq!(parts.len(), 2, "the access certificate and the RP CA");

        // The anchor wallets use for relying parties is the chain's CA, certified by the root.
        let rp_root = app
            .call(Method::GET, "/trust/rp-root.pem", None, None)
            .await;
        assert_eq!(rp_root.status, StatusCode::OK);
        assert_eq!(rp_root.text, parts[1]);
        let rp_anchor = TrustAnchor::from_pem(&rp_root.text).unwrap().remove(0);
        let root_pem = app
            .call(Method::GET, "/trust/issuer-root.pem", None, None)
            .await
            .text;
        let root = agency_root(&root_pem);

        // openssl: the chain verifies to the agency root and is not on the CRL.
        let (ok, said) = openssl_verify(&app, dir, chain).await;
        assert!(ok, "{}: {said}", db.name);
        let first_number = crl_number(dir);
        let text = String::from_utf8_lossy(
            &openssl(&[
                "x509",
                "-in",
                dir.join("leaf.pem").to_str().unwrap(),
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName,keyUsage,crlDistributionPoints",
            ])
            .stdout,
        )
        .into_owned();
        assert!(text.contains("DNS:verify.bank.example.vn"), "{text}");
        assert!(text.contains("Digital Signature"), "{text}");
        assert!(text.contains(&format!("{ORIGIN}/crl/rp.crl")), "{text}");
        assert!(text.contains("serialNumber = 0100109106"), "{text}");
        assert!(!text.contains("whatever the party wrote"), "{text}");

        // The SDK: the chain validates to the RP anchor with the DNS name.
        let der_chain = x509::pem_to_der_chain(chain).unwrap();
        let validated = x509::validate_chain(
            &der_chain,
            std::slice::from_ref(&rp_anchor),
            &ChainPolicy::at(now()).require_digital_signature(),
        )
        .unwrap();
        assert_eq!(validated.leaf_dns_names(), ["verify.bank.example.vn"]);
        // The bank's requests, signed with its openssl key, authenticate under both client id
        // prefixes.
        let pkcs8 = openssl(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            dir.join("bank.key").to_str().unwrap(),
            "-outform",
            "DER",
        ])
        .stdout;
        for client_id in [
            "x509_san_dns:verify.bank.example.vn".to_owned(),
            ClientId::x509_hash_of(&der_chain[0]),
        ] {
            let mut bank = RelyingParty::new(RelyingPartyConfig::new(
                Box::new(Es256KeyPair::from_pkcs8_der(&pkcs8).unwrap()),
                der_chain.clone(),
                client_id.clone(),
                "https://verify.bank.example.vn/openid4vp/response",
                ResponsePolicy::new(IssuerTrustData::Anchors(Vec::new()), now()),
            ));
            let created = bank.create_request(pid_query(), now()).unwrap();
            let RequestReference::Value { request, .. } =
                RequestReference::parse(&created.uri).unwrap()
            else {
                panic!("by value");
            };
            verify_request(
                &request,
                &client_id,
                std::slice::from_ref(&rp_anchor),
                now(),
            )
            .unwrap();
        }

        // The registration: signed under the same anchor, exactly the allowed paths.
        let registration = Registration::verify(
            registered["registration"].as_str().unwrap(),
            std::slice::from_ref(&rp_anchor),
            now(),
        )
        .unwrap();
        assert_eq!(registration.sub, "x509_san_dns:verify.bank.example.vn");
        assert_eq!(registration.name, "Ngân hàng Ví dụ");
        assert_eq!(registration.purpose, "Mở tài khoản");
        assert_eq!(
            registration.credentials,
            [RegisteredCredential {
                vct: CredentialKind::Pid.vct().to_owned(),
                claims: vec![
                    "/given_name".into(),
                    "/family_name".into(),
                    "/address/locality".into()
                ],
            }]
        );
        let reference = registration.status_reference().unwrap();
        assert_eq!(reference.uri, format!("{ORIGIN}/trust/rp-status-list"));

        // The bundle: signed by the agency, the RP anchor, the locations.
        let first = bundle(&app, &root).await;
        assert_eq!(
            first.rp_anchors().unwrap(),
            std::slice::from_ref(&rp_anchor)
        );
        assert_eq!(
            first.crls.relying_parties.as_deref(),
            Some(format!("{ORIGIN}/crl/rp.crl").as_str())
        );
        assert_eq!(
            first.status_lists.relying_parties.as_deref(),
            Some(reference.uri.as_str())
        );
        assert_eq!(bundle(&app, &root).await.version, first.version);
        assert_eq!(rp_status(&app, &root, &reference).await, Status::Valid);

        // Revoked: openssl finds it on the CRL, the status list says invalid, the bundle moved.
        let rp_id = registered["rp_id"].as_str().unwrap();
        let revoked = json_of(&run(
            &db,
            &[
                "rp",
                "revoke",
                "--rp-id",
                rp_id,
                "--reason",
                "licence withdrawn",
            ],
        ));
        assert_eq!(revoked["rp_id"], rp_id);
        let (ok, said) = openssl_verify(&app, dir, chain).await;
        assert!(!ok, "{}: a revoked certificate verified", db.name);
        assert!(said.contains("certificate revoked"), "{said}");
        assert_ne!(crl_number(dir), first_number);
        assert_eq!(rp_status(&app, &root, &reference).await, Status::Invalid);
        assert!(bundle(&app, &root).await.version > first.version);
        // Once only.
        let again = run(&db, &["rp", "revoke", "--rp-id", rp_id]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("revoked already"));

        // Both changes are in the audit log, which verifies.
        let entries = app.store.history(rp_id, 10).await.unwrap();
        for action in ["rp.registered", "rp.revoked"] {
            assert!(entries.iter().any(|e| e.action == action), "{action}");
        }
        assert!(json_of(&run(&db, &["audit", "verify"]))["chains"].as_u64() >= Some(1));
    }
}

fn request(csr: Vec<u8>, dns: &str, allow: &[&str]) -> RegisterRequest {
    RegisterRequest {
        name: "Nhà mạng Ví dụ".into(),
        kind: RelyingPartyKind::Telecom,
        dns: dns.into(),
        csr,
        allow: allow.iter().map(|s| s.to_string()).collect(),
        purpose: None,
        registration_number: None,
    }
}

#[tokio::test]
async fn bad_requests_are_refused_and_nothing_is_stored() {
    for db in databases().await {
        let config = Config {
            database_url: Some(db.url.clone()),
            ..Config::default()
        };
        setup::data_dir(db.dir.path()).unwrap();
        let store = setup::store(&config, db.dir.path()).await.unwrap();
        let services =
            setup::services(store.clone(), config, db.dir.path(), ORIGIN.to_owned()).unwrap();
        let dir = db.dir.path();
        let register = |csr: Vec<u8>, dns: &'static str, allow: &'static [&'static str]| {
            let services = &services;
            async move { rp::register(services, &request(csr, dns, allow), audit::OPERATOR).await }
        };
        let pid: &[&str] = &["pid:/given_name"];

        // Not a request at all, a certificate instead of one, an empty file.
        assert!(matches!(
            register(b"not a certificate request".to_vec(), "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::Malformed(_)))
        ));
        assert!(matches!(
            register(services.rp.ca_pem().into_bytes(), "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::Malformed(_)))
        ));
        assert!(matches!(
            register(Vec::new(), "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::Malformed(_)))
        ));
        // Another curve, another algorithm.
        let p384 = std::fs::read(openssl_csr(dir, "p384", "secp384r1")).unwrap();
        assert!(matches!(
            register(p384, "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::UnsupportedKey(_)))
        ));
        let rsa_key = dir.join("rsa.key");
        openssl(&["genrsa", "-out", rsa_key.to_str().unwrap(), "2048"]);
        let rsa_csr = dir.join("rsa.csr");
        openssl(&[
            "req",
            "-new",
            "-key",
            rsa_key.to_str().unwrap(),
            "-subj",
            "/CN=rsa",
            "-out",
            rsa_csr.to_str().unwrap(),
        ]);
        assert!(matches!(
            register(std::fs::read(&rsa_csr).unwrap(), "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::UnsupportedKey(_)))
        ));
        // A request for one key signed by another: no proof of possession.
        let mine = Es256KeyPair::generate().unwrap();
        let other = Es256KeyPair::generate().unwrap();
        let (a, b) = (
            der_children(&sdk_csr(&mine)),
            der_children(&sdk_csr(&other)),
        );
        let spliced = der_sequence(&[a[0].clone(), b[1].clone(), b[2].clone()]);
        assert!(matches!(
            register(spliced, "a.example.vn", pid).await,
            Err(RpError::Csr(CsrError::BadSignature))
        ));
        // Bad fields, with a good request.
        for (dns, allow) in [
            ("a.example.vn", &["passport:/given_name"][..]),
            ("a.example.vn", &["pid:/no_such_claim"][..]),
            ("a.example.vn", &["pid:given_name"][..]),
            ("*.example.vn", &["pid:/given_name"][..]),
        ] {
            let refused = register(sdk_csr(&mine), dns, allow).await;
            assert!(
                matches!(refused, Err(RpError::Invalid { .. })),
                "{dns} {allow:?}: {refused:?}"
            );
        }
        assert!(
            store.relying_parties().await.unwrap().is_empty(),
            "{}",
            db.name
        );

        // A request made with the SDK's key: registered.
        let registered = register(sdk_csr(&mine), "a.example.vn", pid).await.unwrap();
        assert_eq!(registered.client_id, "x509_san_dns:a.example.vn");
        // The same key again (even for another name), or the name while it is held: refused.
        assert!(matches!(
            register(sdk_csr(&mine), "b.example.vn", pid).await,
            Err(RpError::KeyReused)
        ));
        let fresh = Es256KeyPair::generate().unwrap();
        assert!(matches!(
            register(sdk_csr(&fresh), "a.example.vn", pid).await,
            Err(RpError::ClientIdTaken(_))
        ));
        assert_eq!(store.relying_parties().await.unwrap().len(), 1);
        // After a revocation the name may be registered again, with a new key, at the next
        // status index.
        rp::revoke(&services, &registered.rp_id, None, audit::OPERATOR)
            .await
            .unwrap();
        assert!(matches!(
            rp::revoke(&services, &registered.rp_id, None, audit::OPERATOR).await,
            Err(RpError::AlreadyRevoked(_))
        ));
        assert!(matches!(
            rp::revoke(&services, "no-such-party", None, audit::OPERATOR).await,
            Err(RpError::NotFound(_))
        ));
        let again = register(sdk_csr(&fresh), "a.example.vn", pid)
            .await
            .unwrap();
        let anchor = services.rp.anchor().unwrap();
        let registration = Registration::verify(&again.registration, &[anchor], now()).unwrap();
        assert_eq!(registration.status_reference().unwrap().idx, 1);

        // Two registrations of one key at once: one wins, the other is told the key is taken.
        let racer = Es256KeyPair::generate().unwrap();
        let (first, second) = tokio::join!(
            register(sdk_csr(&racer), "race-1.example.vn", pid),
            register(sdk_csr(&racer), "race-2.example.vn", pid),
        );
        assert_eq!(
            [&first, &second].iter().filter(|r| r.is_ok()).count(),
            1,
            "{}: {first:?} {second:?}",
            db.name
        );
        assert!(
            [first, second]
                .into_iter()
                .any(|r| matches!(r, Err(RpError::KeyReused))),
            "{}",
            db.name
        );
        assert_eq!(store.relying_parties().await.unwrap().len(), 3);

        // The command says why, too.
        let output = run(
            &db,
            &[
                "rp",
                "register",
                "--name",
                "X",
                "--kind",
                "bank",
                "--dns",
                "c.example.vn",
                "--csr",
                rsa_csr.to_str().unwrap(),
                "--allow",
                "pid:/given_name",
            ],
        );
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("P-256"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(store.relying_parties().await.unwrap().len(), 3);
    }
}

/// The PID's given and family names.
fn pid_query() -> DcqlQuery {
    DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [CredentialKind::Pid.vct()] },
            "claims": [{ "path": ["given_name"] }, { "path": ["family_name"] }]
        }]
    }))
    .unwrap()
}

/// A GET through the SDK's HTTP transport.
fn get(url: &str) -> String {
    use dinhdanh_sdk::openid4vci::client::{HttpRequest, Transport};
    let response = HttpTransport::new()
        .send(&HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        })
        .unwrap();
    assert_eq!(response.status, 200, "{url}");
    String::from_utf8(response.body).unwrap()
}

#[tokio::test]
async fn a_wallet_refuses_a_revoked_relying_party_once_its_trust_data_is_refreshed() {
    for db in databases().await {
        let server = start_server(&db);
        let base = server.public_url.clone();
        // The citizen: level 2 with a PID offer at the counter (in-process, on the server's
        // database and keys).
        let config = Config {
            database_url: Some(db.url.clone()),
            ..Config::default()
        };
        let store = setup::store(&config, db.dir.path()).await.unwrap();
        let services = setup::services(store.clone(), config, db.dir.path(), base.clone()).unwrap();
        let citizen = setup::demo_citizen(&store).await.unwrap().unwrap();
        let account = dinhdanh_server::app::dev::level2(&services, &citizen.id_number)
            .await
            .unwrap();
        let offer = dinhdanh_server::domain::issuance::create_offer(
            &services,
            &account.account_id,
            &["pid".to_owned()],
            audit::OPERATOR,
            "counter",
        )
        .await
        .unwrap();

        // The phone: the agency root pinned, trust from the bundle, the PID received.
        let root = agency_root(&get(&format!("{base}/trust/issuer-root.pem")));
        let phone = tempfile::tempdir().unwrap();
        let keys = Arc::new(
            SoftwareKeyStore::open_with_master_key(&phone.path().join("keys"), &[7; 32]).unwrap(),
        );
        let mut wallet = Wallet::open(
            &phone.path().join("wallet.db"),
            keys,
            "wallet",
            Vec::new(),
            Vec::new(),
        )
        .unwrap();
        let bundle = wallet
            .apply_trust_bundle(&get(&format!("{base}/trust/bundle")), &root, now())
            .unwrap();
        let transport = HttpTransport::new();
        let received = wallet
            .receive_offer(&transport, &offer.offer_uri, Some(&offer.tx_code), 2, now())
            .unwrap();
        assert_eq!(received.len(), 1);

        // The bank registers with the operator command (its own key, a CSR from the SDK key).
        let bank_key = Es256KeyPair::generate().unwrap();
        let csr_path = db.dir.path().join("bank.der");
        std::fs::write(&csr_path, sdk_csr(&bank_key)).unwrap();
        let registered = json_of(&run(
            &db,
            &[
                "--public-url",
                &base,
                "rp",
                "register",
                "--name",
                "Ngân hàng Ví dụ",
                "--kind",
                "bank",
                "--dns",
                "verify.bank.example.vn",
                "--csr",
                csr_path.to_str().unwrap(),
                "--allow",
                "pid:/given_name,/family_name",
                "--purpose",
                "Mở tài khoản",
                "--json",
            ],
        ));
        // Its verifier, configured from what the command printed and the bundle.
        let mut config = RelyingPartyConfig::from_registration(
            Box::new(bank_key),
            registered["certificate_chain"].as_str().unwrap(),
            registered["registration"].as_str().unwrap(),
            "https://verify.bank.example.vn/openid4vp/response",
            &bundle,
            now(),
        )
        .unwrap();
        config.policy.status.require_status = false;
        let mut bank = RelyingParty::new(config);
        let query = pid_query();
        // The credentials' status list, for the bank's check.
        let copy = wallet.store().copies(&received[0].id).unwrap().remove(0);
        let status = StatusReference::from_status_claim(
            &SdJwt::parse(&copy.sd_jwt).unwrap().claims()["status"],
        )
        .unwrap();
        bank.status_lists()
            .insert(
                &status.uri,
                &get(&status.uri),
                &StatusTrust::Anchors(root.clone()),
                now(),
            )
            .unwrap();

        // Without the relying parties' status list the wallet does not answer.
        let created = bank.create_request(query.clone(), now()).unwrap();
        assert!(matches!(
            wallet.prepare_presentation(&created.uri, None, now()),
            Err(WalletError::StaleTrustData(_))
        ));
        // With it: the consent names the registered bank and purpose; the bank verifies.
        let rp_list = bundle.status_lists.relying_parties.clone().unwrap();
        wallet
            .refresh_rp_status_list(&get(&rp_list), now())
            .unwrap();
        let pending = wallet
            .prepare_presentation(&created.uri, None, now())
            .unwrap();
        assert_eq!(pending.consent.verifier_name, "Ngân hàng Ví dụ");
        assert_eq!(pending.consent.purpose.as_deref(), Some("Mở tài khoản"));
        assert!(pending.consent.registered);
        let answer = wallet.respond(&pending, now()).unwrap();
        let verified = bank.receive(&answer.body, now()).unwrap();
        let given_name = verified[0].verification.claims["given_name"]
            .as_str()
            .unwrap();
        assert!(citizen.full_name.ends_with(given_name), "{given_name}");
        // The same answer again: replayed, a reason the bank's host can act on.
        let replay = bank.receive(&answer.body, now()).unwrap_err();
        assert_eq!(replay.rejection(), Some(Rejection::Replayed));
        // Trust data older than its maximum age: stale, not a pass.
        let later = now() + bundle.max_ages.status_list + 10;
        let created = bank.create_request(query.clone(), later).unwrap();
        assert!(matches!(
            wallet.prepare_presentation(&created.uri, None, later),
            Err(WalletError::StaleTrustData(_))
        ));

        // The agency revokes the bank; the wallet, its trust data refreshed, refuses it.
        json_of(&run(
            &db,
            &[
                "--public-url",
                &base,
                "rp",
                "revoke",
                "--rp-id",
                registered["rp_id"].as_str().unwrap(),
            ],
        ));
        let newer = wallet
            .apply_trust_bundle(&get(&format!("{base}/trust/bundle")), &root, now())
            .unwrap();
        assert!(newer.version > bundle.version);
        // Refreshed, the list says revoked.
        wallet
            .refresh_rp_status_list(&get(&rp_list), now())
            .unwrap();
        let created = bank.create_request(query, now()).unwrap();
        let refused = wallet.prepare_presentation(&created.uri, None, now());
        assert!(
            matches!(&refused, Err(WalletError::RevokedVerifier { verifier }) if verifier == "x509_san_dns:verify.bank.example.vn"),
            "{}: {refused:?}",
            db.name
        );
        server.terminate();
    }
}
