//! `dinhdanh-verifier` benchmark: verified presentations per second through the service,
//! beside the bound of its signature work measured in the same run (ADR 0003).
//!
//! ```text
//! cargo bench -p dinhdanh-server --bench verifier               # SQLite
//! cargo bench -p dinhdanh-server --bench verifier -- --quick
//! TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p dinhdanh-server --bench verifier            # SQLite, then PostgreSQL
//! ```
//!
//! The service runs in process on a real TCP listener (its router, store, trust and sealing as
//! deployed; issuer roots pinned, the status list served by a local HTTP endpoint and cached).
//! Each of 16 client tasks, over keep-alive connections, walks a whole presentation:
//! `POST /requests` (preset `pid-basic`: the service signs a request object and stores the
//! request), `GET` of the request object, the wallet's presentation of a PID (SD-JWT with three
//! disclosures and a KB-JWT: one ES256 signature, client side), `POST` of the answer to the
//! `response_uri` (the service reads the request back, verifies issuer signature, chain,
//! disclosures, key binding and status, takes the request once and seals the claims), and
//! `GET /requests/{id}`. A presentation counts when that last read says `verified`.
//!
//! The bound, measured in rounds interleaved with the service's (medians of the per-round
//! ratios are printed): the bare signature work of one presentation on every core — two ES256
//! verifications (issuer, key binding) and one ES256 signature (the request object) — and the
//! same plus the wallet's KB-JWT signature, which the clients do on the same two cores.

use std::{
    error::Error,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, header},
};
use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader, PublicKey, UnverifiedJws},
    openid4vp::{
        request::{REGISTRAR_URI, RegisteredCredential, Registration, RequestReference},
        response::{direct_post_body, vp_token},
    },
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
    status_list::{StatusList, StatusListToken, StatusReference},
    vc::{self, CredentialKind, VcIssuance},
    x509::{
        self,
        dev::{DevCa, LeafProfile},
    },
};
use dinhdanh_server::verifier::{self, config::VerifierConfig};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Map, Value, json};

type Result<T> = std::result::Result<T, Box<dyn Error>>;
type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

const HOST: &str = "verifier.bank.example.vn";
const ISS: &str = "https://id.dinhdanh.example";
const API_KEY: &str = "bench-backend-key-0123456789abcdef";
const TASKS: usize = 16;
const CREDENTIALS: usize = 64;

fn now() -> u64 {
    dinhdanh_server::platform::clock::now() as u64
}

struct World {
    dir: tempfile::TempDir,
    credentials: Vec<(String, Es256KeyPair)>,
}

fn pem_key(key: &Es256KeyPair) -> Result<String> {
    use base64::Engine;
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let body = base64::engine::general_purpose::STANDARD.encode(&*der);
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    ))
}

/// The agency (issuer root, issuing key, a status list), the bank (RP CA, access certificate,
/// registration) written as the service reads them, and a wallet's PIDs.
fn world() -> Result<World> {
    let t = now();
    let dir = tempfile::tempdir()?;
    let ca = |name: &str| {
        DevCa::generate(&Es256KeyPair::generate()?, name, t - 600, t + 86_400)
            .map_err(|e| -> Box<dyn Error> { e.to_string().into() })
    };
    let leaf = |ca: &DevCa, key: &Es256KeyPair, name: &str, dns: &[&str], uris: &[&str]| {
        ca.issue(
            key.public_key(),
            &LeafProfile {
                common_name: name,
                dns_names: dns,
                uris,
                not_before: t - 600,
                not_after: t + 86_400,
            },
        )
        .map_err(|e| -> Box<dyn Error> { e.to_string().into() })
    };
    let root = ca("agency root")?;
    let issuer = Es256KeyPair::generate()?;
    let issuer_x5c = x509::der_chain_to_x5c(&[leaf(&root, &issuer, "PID issuer", &[], &[ISS])?]);
    std::fs::write(dir.path().join("issuer-roots.pem"), root.certificate_pem())?;

    // A status list of 2^20 entries, served locally and cached by the service.
    // The URL is known once the port is: bind first, then sign the list for that URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let status_prefix = format!("http://{}/", listener.local_addr()?);
    let status_uri = format!("{status_prefix}status/1");
    let token = StatusListToken::new(status_uri.clone(), t - 60, StatusList::new(2, 1 << 20)?)
        .sign(
            &JwsHeader {
                x5c: Some(issuer_x5c.clone()),
                ..JwsHeader::default()
            },
            &issuer,
        )?;
    serve(listener, token);

    let rp_ca = ca("relying-party CA")?;
    let bank = Es256KeyPair::generate()?;
    let certificate = leaf(&rp_ca, &bank, "Ngân hàng Ví dụ", &[HOST], &[])?;
    let registry = Es256KeyPair::generate()?;
    let registry_chain = vec![leaf(&rp_ca, &registry, "registry", &[], &[REGISTRAR_URI])?];
    let client_id = format!("x509_san_dns:{HOST}");
    let registration = Registration {
        iss: "https://rp-registry.dinhdanh.example".into(),
        sub: client_id.clone(),
        name: "Ngân hàng Ví dụ".into(),
        purpose: "eKYC".into(),
        credentials: vec![RegisteredCredential {
            vct: "urn:vn:dinhdanh:pid:1".into(),
            claims: vec![
                "/family_name".into(),
                "/given_name".into(),
                "/birthdate".into(),
            ],
        }],
        iat: t - 60,
        exp: t + 86_400,
        status: None,
    }
    .sign(&registry, &registry_chain)?;
    std::fs::write(
        dir.path().join("rp.json"),
        json!({ "rp_id": "rp-1", "client_id": client_id,
            "certificate_chain": x509::dev::der_to_pem(&certificate),
            "registration": registration })
        .to_string(),
    )?;
    std::fs::write(dir.path().join("rp-key.pem"), pem_key(&bank)?)?;
    std::fs::write(
        dir.path().join("verifier.toml"),
        format!(
            "public_url = \"https://{HOST}\"\napi_keys = [\"{API_KEY}\"]\n[relying_party]\nkey_file = \"rp-key.pem\"\nregistration_file = \"rp.json\"\n[trust]\nissuer_roots = \"issuer-roots.pem\"\nstatus_list_prefixes = [\"{status_prefix}\"]\n"
        ),
    )?;

    let mut pid: Map<String, Value> =
        serde_json::from_str(include_str!("../../sdk/tests/vectors/pid-sample.json"))?;
    pid.remove("age_equal_or_over");
    let credentials = (0..CREDENTIALS)
        .map(|i| {
            let holder = Es256KeyPair::generate()?;
            let reference = StatusReference::new(status_uri.clone(), i as u64 * 13);
            let sd_jwt = vc::issue_vc(
                &issuer,
                &VcIssuance {
                    vct: "urn:vn:dinhdanh:pid:1",
                    iss: Some(ISS),
                    iat: t - 86_400,
                    exp: Some(t + 86_400 * 365),
                    holder_key: Some(holder.public_key()),
                    status: Some(&reference),
                    x5c: Some(issuer_x5c.clone()),
                    ..VcIssuance::default()
                },
                &pid,
                &CredentialKind::Pid.disclosable_paths(&pid),
            )?;
            Ok((sd_jwt, holder))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(World { dir, credentials })
}

/// Serves `body` to every GET on `listener` (the agency's status list endpoint).
fn serve(listener: std::net::TcpListener, body: String) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/statuslist+jwt\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
}

async fn send(
    client: &Http,
    method: Method,
    uri: &str,
    content_type: &str,
    body: String,
) -> std::result::Result<(StatusCode, Bytes), String> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {API_KEY}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// One whole presentation through the service.
async fn presentation(
    client: &Http,
    origin: &str,
    credential: &(String, Es256KeyPair),
) -> std::result::Result<(), String> {
    let local = |url: &str| url.replace(&format!("https://{HOST}"), origin);
    let (status, body) = send(
        client,
        Method::POST,
        &format!("{origin}/requests"),
        "application/json",
        json!({ "preset": "pid-basic" }).to_string(),
    )
    .await?;
    if status != StatusCode::CREATED {
        return Err(format!("create: {status}"));
    }
    let created: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let id = created["request_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let RequestReference::Uri {
        client_id,
        request_uri,
    } = RequestReference::parse(
        created["authorization_request"]
            .as_str()
            .unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?
    else {
        return Err("a request by value".into());
    };
    let (status, object) = send(
        client,
        Method::GET,
        &local(&request_uri),
        "text/plain",
        String::new(),
    )
    .await?;
    if status != StatusCode::OK {
        return Err(format!("request object: {status}"));
    }
    let object = String::from_utf8_lossy(&object).into_owned();
    let jws = UnverifiedJws::parse(&object).map_err(|e| e.to_string())?;
    let request: Value =
        serde_json::from_slice(jws.unverified_payload()).map_err(|e| e.to_string())?;
    let nonce = request["nonce"].as_str().unwrap_or_default();
    let presentation = SdJwt::parse(&credential.0)
        .map_err(|e| e.to_string())?
        .present(
            &[
                ClaimPath::root().child("family_name"),
                ClaimPath::root().child("given_name"),
                ClaimPath::root().child("birthdate"),
            ],
            Some(KeyBindingInput {
                signer: &credential.1,
                aud: &client_id,
                nonce,
                iat: now(),
            }),
        )
        .map_err(|e| e.to_string())?;
    let answer = direct_post_body(
        &vp_token(&[("pid".to_owned(), presentation)]),
        request["state"].as_str(),
    );
    let (status, reply) = send(
        client,
        Method::POST,
        &local(request["response_uri"].as_str().unwrap_or_default()),
        "application/x-www-form-urlencoded",
        answer,
    )
    .await?;
    if status != StatusCode::OK {
        return Err(format!(
            "answer: {status} {}",
            String::from_utf8_lossy(&reply)
        ));
    }
    let (status, result) = send(
        client,
        Method::GET,
        &format!("{origin}/requests/{id}"),
        "text/plain",
        String::new(),
    )
    .await?;
    let result: Value = serde_json::from_slice(&result).map_err(|e| e.to_string())?;
    if status != StatusCode::OK || result["state"] != "verified" {
        return Err(format!("result: {status} {result}"));
    }
    Ok(())
}

/// Presentations per second through the service over `window`.
async fn service_round(
    client: &Http,
    origin: &str,
    world: &Arc<World>,
    window: Duration,
) -> Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (client, origin, world) = (client.clone(), origin.to_owned(), world.clone());
            let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = task;
                while !stop.load(Ordering::Relaxed) {
                    let credential = &world.credentials[i % world.credentials.len()];
                    match presentation(&client, &origin, credential).await {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(error) => {
                            if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("  a presentation failed: {error}");
                            }
                            0
                        }
                    };
                    i += TASKS;
                }
            })
        })
        .collect();
    tokio::time::sleep(window).await;
    let counted = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    Ok((
        counted as f64 / elapsed.as_secs_f64(),
        failed.load(Ordering::Relaxed),
    ))
}

/// The bare signature work per presentation, on every core: (2 verifies + 1 sign)/s and
/// (2 verifies + 2 signs)/s.
fn bound_round(window: Duration) -> (f64, f64) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let run = |signs: usize| {
        let stop = Instant::now() + window;
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                std::thread::spawn(move || {
                    let Ok(key) = Es256KeyPair::generate() else {
                        return 0;
                    };
                    let public: PublicKey = key.public_key().clone();
                    let message = [7u8; 200];
                    let signature = key.sign_es256(&message).unwrap_or_default();
                    let mut n = 0u64;
                    while Instant::now() < stop {
                        for _ in 0..2 {
                            let _ = public.verify_es256(&message, &signature);
                        }
                        for _ in 0..signs {
                            let _ = key.sign_es256(&message);
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
        total as f64 / window.as_secs_f64()
    };
    (run(1), run(2))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

async fn bench(name: &str, database_url: &str, world: &Arc<World>, quick: bool) -> Result<()> {
    let data = world.dir.path().join(format!("data-{name}"));
    let mut config = VerifierConfig::load(
        Some(&world.dir.path().join("verifier.toml")),
        &data,
        [(
            "DINHDANH_VERIFIER_DATABASE_URL".to_owned(),
            database_url.to_owned(),
        )],
    )?;
    config.listen = "127.0.0.1:0".into();
    let app = verifier::build(&config, &data).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dinhdanh_server::http::serve_with_header_timeout(
        listener,
        verifier::http::router(app),
        Duration::from_secs(10),
        async {
            let _ = stopped.await;
        },
    ));
    let client: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(TASKS)
        .build_http();
    // Warm-up: connections, the status list fetched and cached, the database's pages.
    service_round(&client, &origin, world, Duration::from_millis(500)).await?;
    let (rounds, window) = if quick {
        (3, Duration::from_secs(1))
    } else {
        (5, Duration::from_secs(3))
    };
    let (mut rates, mut ratios, mut ratios_client) = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = 0;
    let (mut bounds, mut bounds_client) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (rate, failed) = service_round(&client, &origin, world, window).await?;
        let (bound, bound_client) =
            tokio::task::spawn_blocking(move || bound_round(window)).await?;
        failures += failed;
        rates.push(rate);
        bounds.push(bound);
        bounds_client.push(bound_client);
        ratios.push(rate / bound);
        ratios_client.push(rate / bound_client);
    }
    println!(
        "dinhdanh-verifier on {name} ({TASKS} client tasks, {rounds} rounds of {} s)",
        window.as_secs_f64()
    );
    println!(
        "  {:<62} {:>10.0}/s",
        "verified presentations through the service (median)",
        median(&mut rates)
    );
    println!(
        "  {:<62} {:>10.0}/s",
        "bound: 2 ES256 verifies + 1 sign, all cores (median)",
        median(&mut bounds)
    );
    println!(
        "  {:<62} {:>10.0}/s",
        "bound with the wallet's KB-JWT sign (2 verifies + 2 signs)",
        median(&mut bounds_client)
    );
    println!(
        "  {:<62} {:>10.2}",
        "ratio to the service's signature bound (median)",
        median(&mut ratios)
    );
    println!(
        "  {:<62} {:>10.2}",
        "ratio to the bound with the client's signature (median)",
        median(&mut ratios_client)
    );
    println!("  {:<62} {:>10}", "failed presentations", failures);
    let _ = stop.send(());
    server.await??;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let world = Arc::new(world()?);
    let sqlite = format!(
        "sqlite://{}",
        world.dir.path().join("verifier.db").display()
    );
    bench("SQLite", &sqlite, &world, quick).await?;
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        let pool = sqlx::PgPool::connect(&admin).await?;
        let database = format!("dinhdanh_vbench_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&pool)
            .await?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let outcome = bench("PostgreSQL", &format!("{base}/{database}"), &world, quick).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&pool)
        .await?;
        outcome?;
    }
    Ok(())
}
