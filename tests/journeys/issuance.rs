//! Journeys 1, 2, 3, 6 and 9: a citizen enrols (level 1) with a passkey, uploads their ID card's
//! chip data, an officer approves level 2 in person, the wallet (the SDK's OpenID4VCI client,
//! keystore and encrypted store) redeems the counter offer (DPoP-bound token, nonce, a batch of
//! copies, each verified and kept), a relying party verifies every copy offline,
//! an officer revokes one, and the status list says so.

use std::{path::Path, time::Duration};

use base64::Engine;
use dinhdanh_journeys::{
    ServerProcess, TestDb,
    authenticator::SoftAuthenticator,
    client::{Client, Reply},
    databases, server_binary,
};
use dinhdanh_sdk::{
    holder::{DPOP_ALIAS, Wallet, WalletError},
    icao::dev::{CardFactory, CardHolder},
    jose::JwsSigner,
    openid4vci::{
        client::{
            self as oid4vci, ClientError, CredentialsRequest, HttpRequest, HttpResponse,
            ProtocolError, Transport, TransportError,
        },
        http::HttpTransport,
        offer::{OfferReference, parse_offer_uri},
    },
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
    status_list::Status,
    verifier::{
        IssuerTrustData, KeyBindingPolicy, StatusListCache, StatusPolicy, StatusTrust,
        VerificationError, VerificationPolicy, verify_presentation,
    },
    wallet::{CopyRecord, CredentialInfo, KeyStore, KeyStoreSigner, SoftwareKeyStore, WalletStore},
    x509::TrustAnchor,
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The last one-time code the development SMS sink wrote after `sent` messages.
async fn sms_code(data_dir: &Path, sent: usize) -> String {
    for _ in 0..500 {
        if let Some(line) = std::fs::read_to_string(data_dir.join("sms.log"))
            .ok()
            .and_then(|log| log.lines().nth(sent).map(str::to_owned))
        {
            let message: Value = serde_json::from_str(&line).unwrap();
            let text = message["text"].as_str().unwrap();
            return text.split("là ").nth(1).unwrap().chars().take(6).collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no SMS was sent");
}

fn ok(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.text);
}

/// Registers a passkey under a setup session (`started` is `{ceremony_id, options}`): the
/// citizen or staff session that follows.
async fn register(
    client: &Client,
    setup: &str,
    started: &Value,
    authenticator: &mut SoftAuthenticator,
) -> String {
    let credential = authenticator.create(&started["options"]);
    let ceremony = started["ceremony_id"].as_str().unwrap();
    let registered = client
        .json(
            Method::POST,
            &format!("/v1/passkeys/registrations/{ceremony}"),
            Some(setup),
            Some(&json!({ "credential": credential, "name": "Điện thoại" })),
        )
        .await;
    ok(&registered, StatusCode::CREATED);
    registered.body["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An officer account made with the operator command, activated with a passkey.
async fn officer_session(
    binary: &Path,
    db: &TestDb,
    server: &ServerProcess,
    client: &Client,
) -> String {
    let output = std::process::Command::new(binary)
        .arg("--data-dir")
        .arg(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("DINHDANH_LOG", "warn")
        .args(["officer", "add", "--name", "Cán bộ Trần Văn Bình"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let invitation: Value = serde_json::from_slice(&output.stdout).unwrap();
    let token = invitation["enrolment_link"]
        .as_str()
        .unwrap()
        .split('#')
        .nth(1)
        .unwrap();
    let redeemed = client
        .json(
            Method::POST,
            "/v1/staff/invitations/redeem",
            None,
            Some(&json!({ "token": token })),
        )
        .await;
    ok(&redeemed, StatusCode::CREATED);
    // The setup session is bound to the registration the redemption started.
    let setup = redeemed.body["token"].as_str().unwrap();
    let mut authenticator = SoftAuthenticator::new("localhost", &server.public_url);
    register(
        client,
        setup,
        &redeemed.body["passkey_registration"],
        &mut authenticator,
    )
    .await
}

/// The network as a phone on a bad connection sees it: credential requests reach the issuer,
/// which answers, but the answer never arrives.
struct LosesCredentialResponses<'t>(&'t HttpTransport);

impl Transport for LosesCredentialResponses<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let response = self.0.send(request)?;
        if request.method == "POST" && request.url.ends_with("/credential") {
            return Err(TransportError::Broken("connection reset by peer".into()));
        }
        Ok(response)
    }
}

/// Serves `body` (JSON) to one HTTP GET on a new local port; the URL.
fn serve_once(body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/offers/1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
    });
    url
}

/// The relying party: the issuer root as published, and the status list of a credential.
async fn status_lists(client: &Client, anchors: &[TrustAnchor], uri: &str) -> StatusListCache {
    let path = uri.split_once("://").unwrap().1.split_once('/').unwrap().1;
    let reply = client
        .json(Method::GET, &format!("/{path}"), None, None)
        .await;
    ok(&reply, StatusCode::OK);
    let mut cache = StatusListCache::new();
    cache
        .insert(
            uri,
            &reply.text,
            &StatusTrust::Anchors(anchors.to_vec()),
            now(),
        )
        .unwrap();
    cache
}

fn present_and_verify(
    credential: &str,
    holder: &dyn JwsSigner,
    anchors: &[TrustAnchor],
    status: &StatusListCache,
) -> Result<dinhdanh_sdk::verifier::Verification, VerificationError> {
    let presentation = SdJwt::parse(credential)
        .unwrap()
        .present(
            &[
                ClaimPath::root().child("family_name"),
                ClaimPath::root().child("given_name"),
                ClaimPath::root().child("birthdate"),
            ],
            Some(KeyBindingInput {
                signer: holder,
                aud: "https://bank.example.vn",
                nonce: "n-0001",
                iat: now(),
            }),
        )
        .unwrap();
    let policy = VerificationPolicy {
        accepted_vcts: vec!["urn:vn:dinhdanh:pid:1".into()],
        issuer_trust: IssuerTrustData::Anchors(anchors.to_vec()),
        trust_as_of: now(),
        max_trust_age: 86_400,
        skew: 60,
        key_binding: Some(KeyBindingPolicy {
            audience: "https://bank.example.vn".into(),
            nonce: "n-0001".into(),
            max_age: 300,
        }),
        status: StatusPolicy {
            max_age: 600,
            require_status: true,
        },
    };
    verify_presentation(&presentation, &policy, status, now())
}

#[tokio::test]
async fn enrol_level2_issue_verify_revoke() {
    let binary = server_binary();
    for db in databases().await {
        // The state's CSCA, trusted by the server for level 2.
        let factory = CardFactory::valid_at(now()).unwrap();
        let trust = db.dir.path().join("trust").join("csca");
        std::fs::create_dir_all(&trust).unwrap();
        std::fs::write(trust.join("vn.pem"), factory.csca_pem()).unwrap();
        let server = ServerProcess::start(&binary, &db, 200);
        let client = Client::new(&server.public_url);

        // The demo citizen the server printed.
        let banner = server
            .banner
            .first()
            .expect("the server names a demo citizen")
            .clone();
        let field = |name: &str| {
            banner
                .split(" · ")
                .find_map(|part| {
                    part.split_once(&format!("{name} "))
                        .map(|(_, v)| v.to_owned())
                })
                .unwrap()
        };
        let (id_number, full_name, date_of_birth) = (
            field("id_number"),
            field("full_name"),
            field("date_of_birth"),
        );
        // The code goes only to the phone the registry lists for the citizen.
        let phone = field("registered phone")
            .split(';')
            .next()
            .unwrap()
            .to_owned();

        // 1. Enrolment (level 1) and a passkey.
        let started = client
            .json(
                Method::POST,
                "/v1/enrolments",
                None,
                Some(&json!({ "id_number": id_number, "full_name": full_name,
                    "date_of_birth": date_of_birth, "phone": phone })),
            )
            .await;
        ok(&started, StatusCode::ACCEPTED);
        let code = sms_code(&server.data_dir, 0).await;
        let enrolment = started.body["enrolment_id"].as_str().unwrap();
        let confirmed = client
            .json(
                Method::POST,
                &format!("/v1/enrolments/{enrolment}/confirm"),
                None,
                Some(&json!({ "code": code })),
            )
            .await;
        ok(&confirmed, StatusCode::CREATED);
        let mut passkeys = SoftAuthenticator::new("localhost", &server.public_url);
        let session = register(
            &client,
            confirmed.body["token"].as_str().unwrap(),
            &confirmed.body["passkey_registration"],
            &mut passkeys,
        )
        .await;

        // 2. Level 2: the card's chip, then an officer in person.
        let card = factory
            .card(&CardHolder {
                id_number: &id_number,
                full_name: &full_name,
                date_of_birth: &date_of_birth,
                sex: "female",
                place_of_origin: "Hà Nội",
                place_of_residence: "Hà Nội",
            })
            .unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let submitted = client
            .json(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(&json!({ "dg1": b64(&card.dg1), "dg2": b64(&card.dg2),
                    "dg13": b64(&card.dg13), "sod": b64(&card.sod) })),
            )
            .await;
        ok(&submitted, StatusCode::ACCEPTED);
        assert_eq!(submitted.body["registry"]["all"], true, "{}", db.name);
        let officer = officer_session(&binary, &db, &server, &client).await;
        let pending = client
            .json(Method::GET, "/v1/level2-requests", Some(&officer), None)
            .await;
        let request = pending.body[0]["id"].as_str().unwrap().to_owned();
        let decision = client
            .json(
                Method::POST,
                &format!("/v1/level2-requests/{request}/approve"),
                Some(&officer),
                None,
            )
            .await;
        ok(&decision, StatusCode::OK);
        let offer_uri = decision.body["offer"]["offer_uri"].as_str().unwrap();
        let tx_code = decision.body["offer"]["tx_code"].as_str().unwrap();

        // 3-4. The wallet (the SDK's client, keystore and store): the offer, a DPoP-bound token,
        // a nonce, a batch of three copies each bound to its own keystore key, verified against
        // the agency root the phone ships with, kept encrypted.
        let root = client
            .json(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        let anchors = TrustAnchor::from_pem(&root.text).unwrap();
        let phone = tempfile::tempdir().unwrap();
        let keys = std::sync::Arc::new(
            SoftwareKeyStore::open_with_master_key(&phone.path().join("keys"), &[5; 32]).unwrap(),
        );
        let mut wallet =
            WalletStore::open(&phone.path().join("wallet.db"), keys.as_ref(), "wallet").unwrap();
        let transport = HttpTransport::new();
        let offer = oid4vci::resolve_offer(&transport, offer_uri).unwrap();
        assert_eq!(offer.issuer, server.public_url);
        assert_eq!(
            offer.offer.as_ref().unwrap().credential_configuration_ids,
            ["pid"]
        );
        keys.generate_signing_key("dpop").unwrap();
        let dpop = KeyStoreSigner::new(keys.as_ref(), "dpop").unwrap();
        // A wrong transaction code costs an attempt: the issuer's `invalid_grant`.
        let wrong =
            oid4vci::redeem_pre_authorized(&transport, &offer, Some("000000"), Some(&dpop), now());
        assert!(
            matches!(&wrong, Err(ClientError::Issuer { status: 400, code, .. }) if code == "invalid_grant"),
            "{}: {wrong:?}",
            db.name
        );
        let token =
            oid4vci::redeem_pre_authorized(&transport, &offer, Some(tx_code), Some(&dpop), now())
                .unwrap();
        assert_eq!(token.token_type, "DPoP");
        let aliases: Vec<String> = (0..3).map(|i| format!("pid/{i}")).collect();
        for alias in &aliases {
            keys.generate_signing_key(alias).unwrap();
        }
        let holders: Vec<KeyStoreSigner<'_>> = aliases
            .iter()
            .map(|alias| KeyStoreSigner::new(keys.as_ref(), alias).unwrap())
            .collect();
        let request = CredentialsRequest {
            configuration_id: "pid",
            keys: &holders,
            dpop: Some(&dpop),
            anchors: &anchors,
            now: now(),
        };
        let received = oid4vci::request_credentials(&transport, &offer, &token, &request).unwrap();
        assert_eq!(received.len(), 3);
        for (copy, holder) in received.iter().zip(&holders) {
            assert_eq!(
                copy.verified.claims["personal_identifier"],
                id_number.as_str()
            );
            assert_eq!(copy.verified.holder_key.as_ref(), Some(holder.public_key()));
        }
        // The offer was single use.
        let again =
            oid4vci::redeem_pre_authorized(&transport, &offer, Some(tx_code), Some(&dpop), now());
        assert!(
            matches!(again, Err(ClientError::Issuer { .. })),
            "{again:?}"
        );
        let first = &received[0].verified;
        let stored = wallet
            .add(
                &CredentialInfo {
                    id: String::new(),
                    configuration_id: Some("pid".into()),
                    vct: first.vct.clone(),
                    issuer: first.iss.clone().unwrap(),
                    issued_at: first.claims["iat"].as_u64().unwrap(),
                    expires_at: first.expires_at,
                    added_at: now(),
                },
                &received
                    .iter()
                    .zip(&aliases)
                    .map(|(c, alias)| CopyRecord {
                        sd_jwt: c.sd_jwt.clone(),
                        key_alias: alias.clone(),
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let raw = std::fs::read(phone.path().join("wallet.db")).unwrap();
        assert!(
            !raw.windows(id_number.len())
                .any(|w| w == id_number.as_bytes())
        );
        // Presentations take a copy never used, while one is left.
        let copies: Vec<String> = (0..3)
            .map(|left| {
                let taken = wallet.take_copy(&stored, now()).unwrap();
                assert!(taken.unused);
                assert_eq!(taken.unused_left, 2 - left);
                taken.copy.sd_jwt
            })
            .collect();
        let copies: Vec<String> = received
            .iter()
            .map(|r| {
                assert!(copies.contains(&r.sd_jwt));
                r.sd_jwt.clone()
            })
            .collect();

        // A first attempt loses the credential response on the way (the phone drops off the
        // network after the issuer answered the token request): the keys the wallet made for the
        // request must go with it, and nothing is stored.
        let lost_offer = client
            .json(
                Method::POST,
                "/v1/me/offers",
                Some(&session),
                Some(&json!({ "credential_configuration_ids": ["driving_licence"] })),
            )
            .await;
        ok(&lost_offer, StatusCode::CREATED);
        let key_files = || {
            std::fs::read_dir(phone.path().join("keys"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let keys_before = key_files();
        let had_dpop_key = keys.contains(DPOP_ALIAS).unwrap();
        let mut facade = Wallet::from_store(wallet, keys.clone(), anchors.clone(), Vec::new());
        let lost = facade.receive_offer(
            &LosesCredentialResponses(&transport),
            lost_offer.body["offer_uri"].as_str().unwrap(),
            lost_offer.body["tx_code"].as_str(),
            2,
            now(),
        );
        assert!(
            matches!(
                &lost,
                Err(WalletError::Issuance(ClientError::Transport(
                    TransportError::Broken(_)
                )))
            ),
            "{lost:?}"
        );
        assert_eq!(facade.credentials().unwrap().len(), 1);
        // Every key from before is still there, and the only new one is the wallet's DPoP key
        // (kept for the next request): the two made for the lost copies are gone.
        let keys_after = key_files();
        assert!(
            keys_after.is_superset(&keys_before),
            "a key from before was deleted"
        );
        assert!(keys.contains(DPOP_ALIAS).unwrap());
        assert_eq!(
            keys_after.len(),
            keys_before.len() + usize::from(!had_dpop_key),
            "keys left behind"
        );
        let wallet = facade.into_store();

        // The citizen asks for two more credentials from the app; the SDK's wallet facade
        // receives them (the offer by reference; two copies each, new keys, verified) into the
        // same store.
        let offered = client
            .json(
                Method::POST,
                "/v1/me/offers",
                Some(&session),
                Some(&json!({ "credential_configuration_ids": ["driving_licence", "health_insurance"] })),
            )
            .await;
        ok(&offered, StatusCode::CREATED);
        // The offer by reference: its JSON served at a URL (as a web page or an e-mail would
        // link it), which the wallet fetches.
        let OfferReference::Value(offer) =
            parse_offer_uri(offered.body["offer_uri"].as_str().unwrap()).unwrap()
        else {
            panic!("the server offers by value");
        };
        let by_reference = serve_once(serde_json::to_string(&offer).unwrap());
        let mut facade = Wallet::from_store(wallet, keys.clone(), anchors.clone(), Vec::new());
        let more = facade
            .receive_offer(
                &transport,
                &format!(
                    "openid-credential-offer://?credential_offer_uri={}",
                    percent_encoding::utf8_percent_encode(
                        &by_reference,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                ),
                offered.body["tx_code"].as_str(),
                2,
                now(),
            )
            .unwrap();
        assert_eq!(
            more.iter().map(|c| c.vct.as_str()).collect::<Vec<_>>(),
            [
                "urn:vn:dinhdanh:driving_licence:1",
                "urn:vn:dinhdanh:health_insurance:1"
            ]
        );
        assert_eq!(facade.credentials().unwrap().len(), 3);
        for credential in &more {
            assert_eq!(facade.copies_left(&credential.id).unwrap(), (2, 2));
        }

        // 3'. The wallet starts issuance itself (authorization code: PAR, PKCE, DPoP); the
        // citizen approves in the browser with a fresh passkey sign-in; the redirect completes it.
        let issuer = oid4vci::discover(&transport, &server.public_url, None).unwrap();
        let redirect_uri = "vn.dinhdanh.wallet:/callback";
        let start = oid4vci::start_authorization(
            &transport,
            &issuer,
            &["judicial_record"],
            "dinhdanh-wallet",
            redirect_uri,
            &dpop,
            now(),
        )
        .unwrap();
        let request_uri =
            percent_encoding::percent_decode_str(start.url.split("request_uri=").nth(1).unwrap())
                .decode_utf8()
                .unwrap()
                .into_owned();
        let page_path = start.url.trim_start_matches(&server.public_url).to_owned();
        let page = client.json(Method::GET, &page_path, None, None).await;
        ok(&page, StatusCode::OK);
        let begun = client
            .json(Method::POST, "/v1/sessions/passkey", None, None)
            .await;
        ok(&begun, StatusCode::OK);
        let assertion = passkeys.get(&begun.body["options"]);
        let signed_in = client
            .json(
                Method::POST,
                &format!(
                    "/v1/sessions/passkey/{}",
                    begun.body["ceremony_id"].as_str().unwrap()
                ),
                None,
                Some(&json!({ "credential": assertion })),
            )
            .await;
        ok(&signed_in, StatusCode::CREATED);
        let approved = client
            .json(
                Method::POST,
                &format!(
                    "/v1/authorizations/{}/approve",
                    request_uri.rsplit(':').next().unwrap()
                ),
                signed_in.body["token"].as_str(),
                None,
            )
            .await;
        ok(&approved, StatusCode::OK);
        let redirect = approved.body["redirect_to"].as_str().unwrap();
        // A redirect with another state is refused; the real one gives a DPoP-bound token.
        let forged = redirect.replace("state=", "state=x");
        assert!(matches!(
            oid4vci::finish_authorization(&transport, &issuer, &start, &forged, &dpop, now()),
            Err(ClientError::Protocol(ProtocolError::StateMismatch))
        ));
        let token =
            oid4vci::finish_authorization(&transport, &issuer, &start, redirect, &dpop, now())
                .unwrap();
        assert_eq!(token.token_type, "DPoP");
        let again =
            oid4vci::finish_authorization(&transport, &issuer, &start, redirect, &dpop, now());
        assert!(
            matches!(&again, Err(ClientError::Issuer { code, .. }) if code == "invalid_grant"),
            "{again:?}"
        );
        keys.generate_signing_key("judicial/0").unwrap();
        let holder = KeyStoreSigner::new(keys.as_ref(), "judicial/0").unwrap();
        let judicial = oid4vci::request_credentials(
            &transport,
            &issuer,
            &token,
            &CredentialsRequest {
                configuration_id: "judicial_record",
                keys: std::slice::from_ref(&holder),
                dpop: Some(&dpop),
                anchors: &anchors,
                now: now(),
            },
        )
        .unwrap();
        assert_eq!(
            judicial[0].verified.vct,
            "urn:vn:dinhdanh:judicial_record:1"
        );

        // 6. A relying party verifies every copy offline (trust anchor and status list fetched
        // beforehand).
        let status_uri = |credential: &str| {
            SdJwt::parse(credential).unwrap().claims()["status"]["status_list"]["uri"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let uri = status_uri(&copies[0]);
        let status = status_lists(&client, &anchors, &uri).await;
        for (copy, holder) in copies.iter().zip(&holders) {
            assert_eq!(status_uri(copy), uri);
            let verified = present_and_verify(copy, holder, &anchors, &status).unwrap();
            assert_eq!(verified.status, Some(Status::Valid));
            let (family, given) = full_name.split_once(' ').unwrap();
            assert_eq!(verified.claims["given_name"], given);
            assert_eq!(verified.claims["family_name"], family);
            assert!(!verified.claims.contains_key("personal_identifier"));
        }

        // 9. An officer revokes one copy: the status list says so, the others stay valid.
        let mine = client
            .json(Method::GET, "/v1/me/credentials", Some(&session), None)
            .await;
        let idx = SdJwt::parse(&copies[0]).unwrap().claims()["status"]["status_list"]["idx"]
            .as_u64()
            .unwrap();
        let copy_id = mine
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["idx"] == idx)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let revoked = client
            .json(
                Method::POST,
                &format!("/v1/credentials/{copy_id}/revoke"),
                Some(&officer),
                Some(&json!({ "reason": "phone reported lost" })),
            )
            .await;
        ok(&revoked, StatusCode::OK);
        let status = status_lists(&client, &anchors, &uri).await;
        assert_eq!(
            present_and_verify(&copies[0], &holders[0], &anchors, &status).unwrap_err(),
            VerificationError::NotValid(Status::Invalid)
        );
        assert!(present_and_verify(&copies[1], &holders[1], &anchors, &status).is_ok());

        // The audit log is intact after all of it.
        let output = std::process::Command::new(&binary)
            .arg("--data-dir")
            .arg(db.dir.path())
            .env("DATABASE_URL", &db.url)
            .env("DINHDANH_LOG", "warn")
            .args(["audit", "verify"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        drop(server);
    }
}
