//! `dinhdanh-verifier` end to end, on SQLite and PostgreSQL, against the real agency: a
//! `dinhdanh-server` process registers the bank from its CSR (`rp register --json`, the printed
//! JSON the verifier's `registration_file`) and issues a PID to a wallet (the SDK's `Wallet`,
//! trusting the agency's bundle and relying-party status list); the verifier service, as a
//! process, trusts the agency's `GET /trust/bundle` pinned to `/trust/issuer-root.pem`, makes
//! requests for an RP backend; the wallet fetches each request object by reference and answers
//! (`direct_post` and `direct_post.jwt`); the backend reads the verified claims. A replayed
//! answer is refused, a pending request survives a restart and is answered once, a revoked
//! credential fails as `revoked`, a wrong API key is a 401 problem, and once the agency revokes
//! the bank new requests are refused (403 `rp-revoked`), a late answer fails as `rp_revoked`,
//! health says why and the wallet refuses the bank as a revoked verifier.

use std::{
    io::BufRead,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::http::{Method, StatusCode};
use dinhdanh_journeys::{
    ServerProcess, TestDb,
    client::{Client, Reply},
    databases, server_binary,
};
use dinhdanh_sdk::{
    holder::{Wallet, WalletError},
    jose::Es256KeyPair,
    openid4vci::{
        client::{HttpRequest, HttpResponse, Transport, TransportError},
        http::HttpTransport,
    },
    trust::TrustBundle,
    wallet::SoftwareKeyStore,
    x509::TrustAnchor,
};
use serde_json::{Value, json};

use crate::support::{
    TestApp, approve_level2,
    operator::{JWT_BEARER, Operator},
    signed_in_citizen,
};

const AN: &str = "001090012345";
const HOST: &str = "verifier.bank.example.vn";
const API_KEY: &str = "bank-backend-key-0123456789abcdef";
const OLD_KEY: &str = "bank-backend-old-key-0123456789ab";

fn now() -> u64 {
    dinhdanh_server::platform::clock::now() as u64
}

/// The service as a process on a free port.
struct VerifierProcess {
    child: std::process::Child,
    origin: String,
}

impl VerifierProcess {
    fn start(data_dir: &Path, config: &Path) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dinhdanh-verifier"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("DINHDANH_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let line = lines
            .next()
            .expect("the verifier prints where it listens")
            .unwrap();
        let origin = line
            .split("listening on ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        Self { child, origin }
    }

    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for VerifierProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The phone's network: the verifier's public https origin reaches the service's process (as a
/// TLS-terminating proxy would), everything else goes out as it is.
struct PhoneNetwork {
    verifier: String,
    inner: HttpTransport,
    /// The verifier's public host name.
    host: &'static str,
}

impl Transport for PhoneNetwork {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let public = format!("https://{}", self.host);
        let mut request = request.clone();
        if let Some(rest) = request.url.strip_prefix(&public) {
            request.url = format!("{}{rest}", self.verifier);
        }
        self.inner.send(&request)
    }
}

fn operator(binary: &Path, db: &TestDb, server: &ServerProcess, args: &[&str]) -> Value {
    let output = dinhdanh_journeys::server_command(binary, db)
        .env("DINHDANH_PUBLIC_URL", &server.public_url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// A relying party as the agency registers it and the wallet shows it.
struct RpSpec {
    host: &'static str,
    name: &'static str,
    kind: &'static str,
    allow: &'static str,
    purpose: &'static str,
}

const BANK: RpSpec = RpSpec {
    host: HOST,
    name: "Ngân hàng Ví dụ",
    kind: "bank",
    allow: "pid:/family_name,/given_name,/birthdate,/age_equal_or_over",
    purpose: "Mở tài khoản thanh toán (eKYC)",
};

/// The bank registered by the agency: its own key (a private JWK, as `dinhdanh keygen` writes
/// it) and a PKCS#10 request for it (as `dinhdanh x509 csr --key` makes one; the server's tests
/// build the SDK without its `signatures` feature, so rcgen signs it here), certified by `dinhdanh-server rp register … --json`, whose output is
/// written as the verifier's `registration_file`. What the command printed.
fn register_bank(binary: &Path, db: &TestDb, server: &ServerProcess, dir: &Path) -> Value {
    register_rp(binary, db, server, dir, &BANK).0
}

/// Registers `rp` as [`register_bank`] does: what the command printed, and the key.
fn register_rp(
    binary: &Path,
    db: &TestDb,
    server: &ServerProcess,
    dir: &Path,
    rp: &RpSpec,
) -> (Value, Es256KeyPair) {
    let key = Es256KeyPair::generate().unwrap();
    std::fs::write(dir.join("rp-key.jwk"), key.to_private_jwk().as_bytes()).unwrap();
    // A PKCS#10 request signed by the key (DER; the command reads PEM or DER).
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let request = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&rcgen::KeyPair::try_from(pkcs8.as_slice()).unwrap())
        .unwrap();
    let csr = dir.join("rp.csr");
    std::fs::write(&csr, request.der()).unwrap();
    let printed = operator(
        binary,
        db,
        server,
        &[
            "rp",
            "register",
            "--name",
            rp.name,
            "--kind",
            rp.kind,
            "--dns",
            rp.host,
            "--csr",
            csr.to_str().unwrap(),
            "--allow",
            rp.allow,
            "--purpose",
            rp.purpose,
            "--json",
        ],
    );
    assert_eq!(printed["client_id"], format!("x509_san_dns:{}", rp.host));
    std::fs::write(dir.join("rp.json"), printed.to_string()).unwrap();
    (printed, key)
}

/// The wallet's trust, as an app refreshes it: the agency's bundle verified under the pinned
/// agency root, then the relying parties' status list the bundle names.
async fn refresh_wallet_trust(
    wallet: &mut Wallet,
    agency: &Client,
    public_url: &str,
    root: &[TrustAnchor],
) -> TrustBundle {
    let jwt = agency.json(Method::GET, "/trust/bundle", None, None).await;
    assert_eq!(jwt.status, StatusCode::OK, "{}", jwt.text);
    let bundle = wallet
        .apply_trust_bundle(jwt.text.trim(), root, now())
        .unwrap();
    let list = bundle.status_lists.relying_parties.clone().unwrap();
    let list = agency
        .json(
            Method::GET,
            list.strip_prefix(public_url).unwrap(),
            None,
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    wallet
        .refresh_rp_status_list(list.text.trim(), now())
        .unwrap();
    bundle
}

/// The wallet's side: the request fetched by reference, consent, the answer posted to the
/// service's `response_uri`; the service's reply.
fn present(wallet: &mut Wallet, network: &PhoneNetwork, uri: &str) -> (HttpResponse, String) {
    present_to(wallet, network, uri, &BANK)
}

/// As [`present`], to the relying party `rp`.
fn present_to(
    wallet: &mut Wallet,
    network: &PhoneNetwork,
    uri: &str,
    rp: &RpSpec,
) -> (HttpResponse, String) {
    let pending = wallet
        .prepare_presentation(uri, Some(network), now())
        .unwrap();
    assert!(pending.consent.registered);
    assert_eq!(pending.consent.verifier_name, rp.name);
    assert_eq!(pending.consent.purpose.as_deref(), Some(rp.purpose));
    let response = wallet.respond(&pending, now()).unwrap();
    assert!(
        response
            .response_uri
            .starts_with(&format!("https://{}/", rp.host))
    );
    let reply = post_answer(network, &response.response_uri, &response.body);
    (reply, response.body)
}

fn post_answer(network: &PhoneNetwork, uri: &str, body: &str) -> HttpResponse {
    network
        .send(&HttpRequest {
            method: "POST".into(),
            url: uri.into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.as_bytes().to_vec(),
        })
        .unwrap()
}

async fn create(client: &Client, body: Value) -> Reply {
    client
        .json(Method::POST, "/requests", Some(API_KEY), Some(&body))
        .await
}

async fn result(client: &Client, id: &str) -> Value {
    let reply = client
        .json(Method::GET, &format!("/requests/{id}"), Some(API_KEY), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

fn write_config(dir: &Path, database_url: &str, bundle_url: &str, agency_root: &Path) -> PathBuf {
    write_config_with(
        dir,
        "verifier.toml",
        HOST,
        database_url,
        &format!(
            "bundle_url = \"{bundle_url}\"\nagency_root = \"{}\"\n",
            agency_root.display()
        ),
    )
}

/// A configuration with the `[trust]` section `trust`.
fn write_config_with(
    dir: &Path,
    name: &str,
    host: &str,
    database_url: &str,
    trust: &str,
) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"public_url = "https://{host}"
database_url = "{database_url}"
api_keys = ["{API_KEY}", "{OLD_KEY}"]

[relying_party]
key_file = "rp-key.jwk"
registration_file = "rp.json"

[trust]
{trust}refresh_seconds = 0
status_refresh_seconds = 0
"#
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn a_bank_verifies_a_citizen_through_the_verifier_service() {
    let binary = server_binary();
    let verifier_dbs = databases().await;
    for (db, verifier_db) in databases().await.into_iter().zip(verifier_dbs) {
        assert_eq!(db.name, verifier_db.name);
        // The agency: a real server process, the test registry imported, the citizen at level 2
        // (the development shortcut, run in-process on the same database), a PID offer.
        let server = ServerProcess::start(&binary, &db, 10);
        operator(
            &binary,
            &db,
            &server,
            &[
                "registry",
                "import",
                crate::support::data("citizens.ndjson").to_str().unwrap(),
            ],
        );
        {
            let config = dinhdanh_server::platform::config::Config::load(
                None,
                db.dir.path(),
                [("DATABASE_URL".to_owned(), db.url.clone())],
            )
            .unwrap();
            let store = dinhdanh_server::app::setup::store(&config, db.dir.path())
                .await
                .unwrap();
            let services = dinhdanh_server::app::setup::services(
                store,
                config,
                db.dir.path(),
                server.public_url.clone(),
            )
            .unwrap();
            dinhdanh_server::app::dev::level2(&services, AN)
                .await
                .unwrap();
        }
        let offer = operator(
            &binary,
            &db,
            &server,
            &[
                "offer",
                "create",
                "--id-number",
                AN,
                "--config",
                "pid",
                "--json",
            ],
        );

        // The bank: registered by the agency from its CSR; its verifier trusts the agency's
        // bundle (`GET /trust/bundle`) under the pinned agency root.
        let bank_dir = tempfile::tempdir().unwrap();
        let registered = register_bank(&binary, &db, &server, bank_dir.path());
        let agency = Client::new(&server.public_url);
        let root_pem = agency
            .json(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        assert_eq!(root_pem.status, StatusCode::OK);
        let agency_root = bank_dir.path().join("agency-root.pem");
        std::fs::write(&agency_root, &root_pem.text).unwrap();
        let root = TrustAnchor::from_pem(&root_pem.text).unwrap();
        let bundle_url = format!("{}/trust/bundle", server.public_url);
        let config = write_config(bank_dir.path(), &verifier_db.url, &bundle_url, &agency_root);
        let service = VerifierProcess::start(&bank_dir.path().join("data"), &config);
        let backend = Client::new(&service.origin);

        // The wallet: trust from the same bundle and relying-party status list; its PID from
        // the agency.
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
        let bundle = refresh_wallet_trust(&mut wallet, &agency, &server.public_url, &root).await;
        let network = PhoneNetwork {
            verifier: service.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        wallet
            .receive_offer(
                &network,
                offer["offer_uri"].as_str().unwrap(),
                offer["tx_code"].as_str(),
                6,
                now(),
            )
            .unwrap();

        // The backend's API key is required: none, or a wrong one, is a 401 problem.
        for key in [None, Some("not-the-bank-key-0123456789abcdef")] {
            let refused = backend
                .json(
                    Method::POST,
                    "/requests",
                    key,
                    Some(&json!({ "preset": "pid-basic" })),
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", db.name);
            assert_eq!(
                refused.headers["content-type"], "application/problem+json",
                "{}",
                refused.text
            );
            assert_eq!(refused.body["type"], "urn:dinhdanh:problem:unauthenticated");
        }
        // Bad requests: an unknown preset, both a query and a preset, a malformed query.
        for body in [
            json!({ "preset": "everything" }),
            json!({ "preset": "pid-basic", "dcql_query": { "credentials": [] } }),
            json!({ "dcql_query": { "credentials": "none" } }),
        ] {
            let refused = create(&backend, body).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
            assert_eq!(refused.headers["content-type"], "application/problem+json");
        }

        // 1. direct_post, the pid-basic preset; the rotated-out key still works.
        let created = backend
            .json(
                Method::POST,
                "/requests",
                Some(OLD_KEY),
                Some(&json!({ "preset": "pid-basic" })),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let uri = created.body["authorization_request"].as_str().unwrap();
        assert!(
            uri.starts_with("openid4vp://?client_id=x509_san_dns%3A"),
            "{uri}"
        );
        assert!(uri.contains("request_uri=https"), "{uri}");
        assert!(created.body["expires_at"].as_str().is_some());
        assert_eq!(result(&backend, &id).await, json!({ "state": "pending" }));
        let (reply, body) = present(&mut wallet, &network, uri);
        assert_eq!(
            reply.status,
            200,
            "{}: {}",
            db.name,
            String::from_utf8_lossy(&reply.body)
        );
        let verified = result(&backend, &id).await;
        assert_eq!(verified["state"], "verified", "{verified}");
        assert_eq!(verified["claims"]["pid"]["family_name"], "Nguyễn");
        assert_eq!(verified["claims"]["pid"]["given_name"], "Văn An");
        assert_eq!(verified["claims"]["pid"]["birthdate"], "1990-02-28");
        assert!(
            verified["claims"]["pid"]
                .get("personal_identifier")
                .is_none()
        );
        // The same answer again: replayed, refused; the result stands.
        let replay = post_answer(
            &network,
            &format!("https://{HOST}/wallet/responses/{id}"),
            &body,
        );
        assert_eq!(replay.status, 400);
        let replay: Value = serde_json::from_slice(&replay.body).unwrap();
        assert_eq!(replay["error"], "invalid_request");
        assert!(
            replay["error_description"]
                .as_str()
                .unwrap()
                .starts_with("replayed"),
            "{replay}"
        );
        assert_eq!(result(&backend, &id).await, verified);
        // That answer posted to a new request (whose id and state are public; the answer's
        // state is not its own): a stranger's, refused, and the new request stays pending for
        // the citizen's wallet.
        let fresh = create(&backend, json!({ "preset": "pid-basic" })).await;
        let fresh_id = fresh.body["request_id"].as_str().unwrap().to_owned();
        let stranger = post_answer(
            &network,
            &format!("https://{HOST}/wallet/responses/{fresh_id}"),
            &body,
        );
        assert_eq!(stranger.status, 400, "{}", db.name);
        assert_eq!(
            result(&backend, &fresh_id).await,
            json!({ "state": "pending" })
        );
        // The request object is no longer served.
        let gone = network
            .send(&HttpRequest {
                method: "GET".into(),
                url: format!("https://{HOST}/wallet/requests/{id}"),
                headers: Vec::new(),
                body: Vec::new(),
            })
            .unwrap();
        assert_eq!(gone.status, 404);

        // 2. direct_post.jwt, the age preset: the answer encrypted to the request's own key.
        let created = create(
            &backend,
            json!({ "preset": "pid-age-over-18", "response_mode": "direct_post.jwt" }),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let (reply, body) = present(
            &mut wallet,
            &network,
            created.body["authorization_request"].as_str().unwrap(),
        );
        assert!(body.starts_with("response="));
        assert_eq!(reply.status, 200);
        let verified = result(&backend, &id).await;
        assert_eq!(
            verified["claims"]["pid"],
            json!({ "age_equal_or_over": { "18": true } }),
            "{verified}"
        );

        // 3. A pending request survives a restart of the service, and is answered once.
        let created = create(&backend, json!({ "preset": "pid-basic" })).await;
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let uri = created.body["authorization_request"]
            .as_str()
            .unwrap()
            .to_owned();
        service.terminate();
        let service = VerifierProcess::start(&bank_dir.path().join("data"), &config);
        let backend = Client::new(&service.origin);
        let network = PhoneNetwork {
            verifier: service.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        assert_eq!(result(&backend, &id).await, json!({ "state": "pending" }));
        let (reply, body) = present(&mut wallet, &network, &uri);
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(result(&backend, &id).await["state"], "verified");
        let replay = post_answer(
            &network,
            &format!("https://{HOST}/wallet/responses/{id}"),
            &body,
        );
        assert_eq!(replay.status, 400);

        // 3'. The agency's bundle endpoint is unreachable: the service verifies on from the
        // bundle it cached on disk.
        service.terminate();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let unreachable = format!("http://{}/trust/bundle", closed.local_addr().unwrap());
        drop(closed);
        let offline_config = bank_dir.path().join("offline.toml");
        std::fs::write(
            &offline_config,
            std::fs::read_to_string(&config)
                .unwrap()
                .replace(&bundle_url, &unreachable),
        )
        .unwrap();
        let service = VerifierProcess::start(&bank_dir.path().join("data"), &offline_config);
        let backend = Client::new(&service.origin);
        let network = PhoneNetwork {
            verifier: service.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        let created = create(&backend, json!({ "preset": "pid-basic" })).await;
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let (reply, _) = present(
            &mut wallet,
            &network,
            created.body["authorization_request"].as_str().unwrap(),
        );
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(result(&backend, &id).await["state"], "verified");

        // 3''. A second instance on the same database, trusting pinned issuer roots instead of
        // a bundle: a request made through one is served and answered through the other.
        let pinned_config = write_config_with(
            bank_dir.path(),
            "pinned.toml",
            HOST,
            &verifier_db.url,
            &format!(
                "issuer_roots = \"{}\"\nstatus_list_prefixes = [\"{}/\"]\n",
                server
                    .data_dir
                    .join("keys")
                    .join("agency-root.pem")
                    .display(),
                server.public_url
            ),
        );
        let pinned_dir = tempfile::tempdir().unwrap();
        let second = VerifierProcess::start(pinned_dir.path(), &pinned_config);
        let created = create(&backend, json!({ "preset": "pid-basic" })).await;
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let via_second = PhoneNetwork {
            verifier: second.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        let (reply, body) = present(
            &mut wallet,
            &via_second,
            created.body["authorization_request"].as_str().unwrap(),
        );
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(result(&backend, &id).await["state"], "verified");
        // Replayed at the first instance: refused there too.
        let replay = post_answer(
            &network,
            &format!("https://{HOST}/wallet/responses/{id}"),
            &body,
        );
        assert_eq!(replay.status, 400);
        drop(second);

        // 4. The citizen's death is registered: every credential revoked; the next answer
        // fails as revoked (the status list fetched again).
        let mut record: Value = std::fs::read_to_string(crate::support::data("citizens.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|c| c["id_number"] == AN)
            .unwrap();
        record["status"] = json!("deceased");
        let deaths = bank_dir.path().join("deaths.ndjson");
        std::fs::write(&deaths, format!("{record}\n")).unwrap();
        operator(
            &binary,
            &db,
            &server,
            &["registry", "import", deaths.to_str().unwrap()],
        );
        let created = create(&backend, json!({ "preset": "pid-basic" })).await;
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let (reply, _) = present(
            &mut wallet,
            &network,
            created.body["authorization_request"].as_str().unwrap(),
        );
        assert_eq!(reply.status, 400);
        let failed = result(&backend, &id).await;
        assert_eq!(
            failed,
            json!({ "state": "failed", "reason": "revoked" }),
            "{}",
            db.name
        );

        // Health, metrics and the API description.
        let health = backend.json(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::OK, "{}", health.text);
        assert_eq!(health.body["trust_bundle_version"], bundle.version);
        assert_eq!(health.body["relying_party"], "registered");
        let metrics = backend.json(Method::GET, "/metrics", None, None).await;
        assert!(
            metrics.text.contains(
                "dinhdanh_verifier_answers_total{outcome=\"failed\",reason=\"revoked\"} 1"
            ),
            "{}",
            metrics.text
        );
        let openapi = backend.json(Method::GET, "/openapi.json", None, None).await;
        assert!(openapi.body["paths"].get("/requests").is_some());
        // Another instance whose agency is unreachable and which has no cached bundle: it
        // still makes and serves requests, but refuses answers as stale trust data, and its
        // health says why.
        let offline_dir = tempfile::tempdir().unwrap();
        let offline = VerifierProcess::start(offline_dir.path(), &offline_config);
        let backend = Client::new(&offline.origin);
        let network = PhoneNetwork {
            verifier: offline.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        let health = backend.json(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health.body["type"], "urn:dinhdanh:problem:stale-trust-data");
        let created = create(&backend, json!({ "preset": "pid-basic" })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let id = created.body["request_id"].as_str().unwrap().to_owned();
        let (reply, _) = present(
            &mut wallet,
            &network,
            created.body["authorization_request"].as_str().unwrap(),
        );
        assert_eq!(reply.status, 400);
        assert_eq!(
            result(&backend, &id).await,
            json!({ "state": "failed", "reason": "stale_trust_data" })
        );
        drop(offline);

        service.terminate();

        // 5. The agency revokes the bank. Before: a request the wallet answered (its answer not
        // yet posted), another it has not fetched. Once the service's trust data is refreshed
        // (the bundle, and the relying parties' status list it names), new requests are
        // refused, the late answer fails as `rp_revoked`, health says why; the wallet, its
        // trust refreshed, refuses the bank's pending request as a revoked verifier.
        let service = VerifierProcess::start(&bank_dir.path().join("data"), &config);
        let backend = Client::new(&service.origin);
        let network = PhoneNetwork {
            verifier: service.origin.clone(),
            inner: HttpTransport::new(),
            host: HOST,
        };
        let answered = create(&backend, json!({ "preset": "pid-age-over-18" })).await;
        assert_eq!(answered.status, StatusCode::CREATED, "{}", answered.text);
        let answered_id = answered.body["request_id"].as_str().unwrap().to_owned();
        let prepared = wallet
            .prepare_presentation(
                answered.body["authorization_request"].as_str().unwrap(),
                Some(&network),
                now(),
            )
            .unwrap();
        let late = wallet.respond(&prepared, now()).unwrap();
        let unanswered = create(&backend, json!({ "preset": "pid-basic" })).await;
        assert_eq!(unanswered.status, StatusCode::CREATED);
        operator(
            &binary,
            &db,
            &server,
            &[
                "rp",
                "revoke",
                "--rp-id",
                registered["rp_id"].as_str().unwrap(),
            ],
        );
        let refused = create(&backend, json!({ "preset": "pid-basic" })).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{}: {}",
            db.name,
            refused.text
        );
        assert_eq!(refused.headers["content-type"], "application/problem+json");
        assert_eq!(refused.body["type"], "urn:dinhdanh:problem:rp-revoked");
        let reply = post_answer(&network, &late.response_uri, &late.body);
        assert_eq!(reply.status, 400);
        assert_eq!(
            result(&backend, &answered_id).await,
            json!({ "state": "failed", "reason": "rp_revoked" })
        );
        let health = backend.json(Method::GET, "/health", None, None).await;
        assert_eq!(
            health.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            health.text
        );
        assert_eq!(health.body["type"], "urn:dinhdanh:problem:rp-revoked");
        let newer = refresh_wallet_trust(&mut wallet, &agency, &server.public_url, &root).await;
        assert!(newer.version > bundle.version);
        let refused = wallet.prepare_presentation(
            unanswered.body["authorization_request"].as_str().unwrap(),
            Some(&network),
            now(),
        );
        assert!(
            matches!(&refused, Err(WalletError::RevokedVerifier { verifier }) if *verifier == format!("x509_san_dns:{HOST}")),
            "{}: {refused:?}",
            db.name
        );
        drop(service);

        drop(server);
    }
}

#[tokio::test]
async fn a_request_row_is_taken_once_by_concurrent_answers() {
    use dinhdanh_server::verifier::store::{RequestRow, RequestStatus, VerifierStore};
    for db in databases().await {
        let store = VerifierStore::connect(&db.url).await.unwrap();
        // Connecting again (another instance) finds the migrations applied.
        let again = VerifierStore::connect(&db.url).await.unwrap();
        let t = now() as i64;
        let row = |id: &str, expires_at: i64| RequestRow {
            id: id.into(),
            oid4vp_state: format!("state-{id}"),
            status: RequestStatus::Pending,
            pending: "{}".into(),
            request_object: Some("jwt".into()),
            encryption_key: Some(vec![1, 2, 3]),
            reason: None,
            result: None,
            created_at: t,
            expires_at,
            updated_at: t,
        };
        store.insert(&row("r1", t + 300)).await.unwrap();
        // A failure is recorded, and leaves it answerable.
        assert!(store.record_failure("r1", "forged", t).await.unwrap());
        let failed = again.get("r1").await.unwrap().unwrap();
        assert_eq!(failed.status, RequestStatus::Failed);
        assert_eq!(failed.reason.as_deref(), Some("forged"));
        // Eight answers at once, from two instances: exactly one takes it.
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                again.clone()
            };
            tasks.push(tokio::spawn(async move {
                store.take_verified("r1", &[i], t + 1).await.unwrap()
            }));
        }
        let mut taken = 0;
        for task in tasks {
            taken += usize::from(task.await.unwrap());
        }
        assert_eq!(taken, 1, "{}", db.name);
        let verified = store.get("r1").await.unwrap().unwrap();
        assert_eq!(verified.status, RequestStatus::Verified);
        assert_eq!(verified.reason, None);
        assert_eq!(verified.encryption_key, None, "the key goes once verified");
        assert_eq!(verified.request_object, None);
        // A verified request is final: no failure overwrites it.
        assert!(!store.record_failure("r1", "forged", t + 2).await.unwrap());
        assert!(!store.take_verified("r1", &[9], t + 2).await.unwrap());
        // An expired request is not taken.
        store.insert(&row("r2", t - 1)).await.unwrap();
        assert!(!store.take_verified("r2", &[1], t).await.unwrap());
        // Pruning deletes what expired before the cut.
        assert_eq!(store.prune(t).await.unwrap(), 1);
        assert!(store.get("r2").await.unwrap().is_none());
        assert!(store.get("r1").await.unwrap().is_some());
    }
}

const TELECOM: RpSpec = RpSpec {
    host: "verifier.nhamang.example.vn",
    name: "Nhà mạng Ví dụ",
    kind: "telecom",
    allow: "pid:/personal_identifier",
    purpose: "Đăng ký thuê bao di động",
};

/// The operator's backend: a token at the agency's `/token` with a `private_key_jwt` assertion
/// (audience the agency's token endpoint).
async fn operator_token_request(agency: &Client, op: &Operator, public_url: &str) -> Reply {
    let mut claims = op.claims();
    claims["aud"] = json!(format!("{public_url}/token"));
    let assertion = op.assertion_with(&op.key, &claims);
    let body = [
        ("grant_type", "client_credentials"),
        ("scope", "telecom"),
        ("client_id", op.client_id.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A")))
    .collect::<Vec<_>>()
    .join("&");
    agency
        .send(
            Method::POST,
            "/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            body.into_bytes(),
        )
        .await
}

/// A verifier request for the PID's ID number, answered by the wallet; what the operator's
/// backend reads with `?include=presentation`.
async fn verified_presentation(
    backend: &Client,
    wallet: &mut Wallet,
    network: &PhoneNetwork,
) -> Value {
    let query = json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [dinhdanh_server::verifier::service::PID_VCT] },
            "claims": [{ "path": ["personal_identifier"] }]
        }]
    });
    let created = create(backend, json!({ "dcql_query": query })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["request_id"].as_str().unwrap().to_owned();
    let (reply, _) = present_to(
        wallet,
        network,
        created.body["authorization_request"].as_str().unwrap(),
        &TELECOM,
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // Without asking, the claims only; asked, the presentation as the wallet bound it.
    let plain = result(backend, &id).await;
    assert_eq!(plain["claims"]["pid"]["personal_identifier"], AN, "{plain}");
    assert!(plain.get("presentation").is_none());
    let read = backend
        .json(
            Method::GET,
            &format!("/requests/{id}?include=presentation"),
            Some(API_KEY),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["claims"], plain["claims"]);
    let presentation = read.body["presentation"].clone();
    assert!(
        presentation["vp_token"]["pid"][0].is_string(),
        "{presentation}"
    );
    assert!(!presentation["nonce"].as_str().unwrap().is_empty());
    presentation
}

/// The issue's telecom journey on both engines: an operator registered from its CSR
/// (`rp register --kind telecom`) runs `dinhdanh-verifier`; a citizen's wallet presents its PID
/// there; the operator's backend reads the verified presentation and binds an MSISDN with it at
/// the agency (a token by `private_key_jwt`); the citizen lists it and disputes it, the
/// operator reads the dispute; a device change requires a new verification, which a new
/// presentation gives; once the agency revokes the operator, its verifier refuses new requests
/// and the token endpoint refuses it.
#[tokio::test]
async fn an_operator_binds_a_sim_with_a_presentation_from_its_verifier() {
    let binary = server_binary();
    let verifier_dbs = databases().await;
    for (db, verifier_db) in databases().await.into_iter().zip(verifier_dbs) {
        // The agency (started first: it seeds its registry and says so), then the citizen,
        // enrolled and signed in (in-process on the same database), level 2.
        let server = ServerProcess::start(&binary, &db, 10);
        let app = TestApp::new(&db).await;
        let (session, _) = signed_in_citizen(&app).await;
        approve_level2(&app, AN).await;
        let agency = Client::new(&server.public_url);
        let offer = operator(
            &binary,
            &db,
            &server,
            &[
                "offer",
                "create",
                "--id-number",
                AN,
                "--config",
                "pid",
                "--json",
            ],
        );

        // The operator: registered from its CSR; its verifier trusts the agency's bundle.
        let op_dir = tempfile::tempdir().unwrap();
        let (registered, key) = register_rp(&binary, &db, &server, op_dir.path(), &TELECOM);
        let op = Operator {
            rp_id: registered["rp_id"].as_str().unwrap().to_owned(),
            client_id: registered["client_id"].as_str().unwrap().to_owned(),
            key,
            chain: dinhdanh_sdk::x509::pem_to_der_chain(
                registered["certificate_chain"].as_str().unwrap(),
            )
            .unwrap(),
        };
        let root_pem = agency
            .json(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        assert_eq!(root_pem.status, StatusCode::OK);
        let agency_root = op_dir.path().join("agency-root.pem");
        std::fs::write(&agency_root, &root_pem.text).unwrap();
        let root = TrustAnchor::from_pem(&root_pem.text).unwrap();
        let config = write_config_with(
            op_dir.path(),
            "verifier.toml",
            TELECOM.host,
            &verifier_db.url,
            &format!(
                "bundle_url = \"{}/trust/bundle\"\nagency_root = \"{}\"\n",
                server.public_url,
                agency_root.display()
            ),
        );
        let service = VerifierProcess::start(&op_dir.path().join("data"), &config);
        let backend = Client::new(&service.origin);

        // The wallet, its trust from the agency, its PID.
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
        refresh_wallet_trust(&mut wallet, &agency, &server.public_url, &root).await;
        let network = PhoneNetwork {
            verifier: service.origin.clone(),
            inner: HttpTransport::new(),
            host: TELECOM.host,
        };
        wallet
            .receive_offer(
                &network,
                offer["offer_uri"].as_str().unwrap(),
                offer["tx_code"].as_str(),
                6,
                now(),
            )
            .unwrap();

        // The presentation, read from the verifier, binds the number at the agency.
        let presentation = verified_presentation(&backend, &mut wallet, &network).await;
        let token = operator_token_request(&agency, &op, &server.public_url).await;
        assert_eq!(token.status, StatusCode::OK, "{}: {}", db.name, token.text);
        let token = token.body["access_token"].as_str().unwrap().to_owned();
        let bind = |msisdn: &str, device: &str, presentation: &Value| {
            let body = json!({
                "msisdn": msisdn,
                "presentation": presentation,
                "device_id": device,
            });
            let (agency, token) = (&agency, token.clone());
            async move {
                agency
                    .json(
                        Method::POST,
                        "/v1/telecom/subscriptions",
                        Some(&token),
                        Some(&body),
                    )
                    .await
            }
        };
        let bound = bind("0912 300 001", "imei-1", &presentation).await;
        assert_eq!(
            bound.status,
            StatusCode::CREATED,
            "{}: {}",
            db.name,
            bound.text
        );
        assert_eq!(bound.body["state"], "active");
        let subscription = bound.body["subscription_id"].as_str().unwrap().to_owned();
        // The same presentation again: its nonce is used up.
        let replayed = bind("0912 300 002", "imei-1", &presentation).await;
        assert_eq!(
            replayed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            replayed.text
        );
        assert!(replayed.text.contains("nonce_used"), "{}", replayed.text);

        // The citizen lists it and marks it `not_mine`; the operator reads the dispute.
        let mine = app
            .call(Method::GET, "/v1/me/subscriptions", Some(&session), None)
            .await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.text);
        assert_eq!(mine.body[0]["operator"], TELECOM.name);
        assert_eq!(mine.body[0]["subscription_id"], subscription.as_str());
        let marked = app
            .call(
                Method::POST,
                &format!("/v1/me/subscriptions/{subscription}/mark"),
                Some(&session),
                Some(json!({ "mark": "not_mine" })),
            )
            .await;
        assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
        let disputes = agency
            .json(Method::GET, "/v1/telecom/disputes", Some(&token), None)
            .await;
        assert_eq!(disputes.status, StatusCode::OK, "{}", disputes.text);
        assert_eq!(
            disputes.body.as_array().unwrap().len(),
            1,
            "{}",
            disputes.text
        );
        assert_eq!(disputes.body[0]["msisdn"], "+84912300001");
        assert_eq!(disputes.body[0]["dispute_id"], marked.body["dispute_id"]);

        // A device change requires a new verification; a new presentation gives it.
        let changed = agency
            .json(
                Method::POST,
                &format!("/v1/telecom/subscriptions/{subscription}/device-change"),
                Some(&token),
                Some(&json!({ "device_id": "imei-2" })),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["state"], "reverification_required");
        assert_eq!(changed.body["reverification"]["reason"], "device_change");
        let presentation = verified_presentation(&backend, &mut wallet, &network).await;
        let reverified = bind("+84 912 300 001", "imei-2", &presentation).await;
        assert_eq!(reverified.status, StatusCode::OK, "{}", reverified.text);
        assert_eq!(reverified.body["state"], "active");
        assert_eq!(reverified.body["subscription_id"], subscription.as_str());

        // The agency revokes the operator: its verifier refuses new requests, the token
        // endpoint refuses it.
        operator(
            &binary,
            &db,
            &server,
            &["rp", "revoke", "--rp-id", &op.rp_id],
        );
        let refused = create(&backend, json!({ "preset": "pid-basic" })).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{}: {}",
            db.name,
            refused.text
        );
        assert_eq!(refused.body["type"], "urn:dinhdanh:problem:rp-revoked");
        let refused = operator_token_request(&agency, &op, &server.public_url).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
        assert_eq!(refused.body["error"], "invalid_client");
        drop(service);
        drop(server);
    }
}
