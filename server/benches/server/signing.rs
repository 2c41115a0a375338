//! 6. **Signing certificates over HTTP**: the real router on a real TCP listener, 32 keep-alive
//!    connections posting `POST /v1/me/signing-certificates` (JSON `{"csr": PEM}`, each with a
//!    P-256 key never certified before, made ahead of the run) for 64 level-2 citizens signed in
//!    with a passkey: certificates/s, p50 and p99; beside the bound measured in the same run,
//!    the CSR check and the certificate's signature alone (no HTTP, no database) on every core.
//! 7. **CRL of 1,000,000 revoked certificates**: building and signing the DER list.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, Uri, header},
};
use dinhdanh_server::{
    app::setup,
    domain::ca::{certificates, crl},
    platform::{config::Config, secrets},
    store::{RevokedSerial, Session, SessionRole, Store},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

use super::{
    HTTP_TIME, HTTP_WARM_UP, Population, Result, TASKS, errors, latency_row, per_s,
    run_concurrently, thousands,
};

/// Level-2 citizens asking for certificates.
const ACCOUNTS: usize = 64;
/// Certificate requests made ahead (each key is certified once).
const REQUESTS: usize = 60_000;
/// Revoked entries of the CRL measurement.
const CRL_ENTRIES: usize = 1_000_000;

pub(super) async fn measure(
    store: &Store,
    config: Config,
    dir: &Path,
    population: &Population,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let public_url = format!("http://localhost:{port}");
    let services = setup::services(store.clone(), config, dir, public_url)?;

    // Level-2 citizens, each with a session from a passkey sign-in just now.
    let mut tokens = Vec::with_capacity(ACCOUNTS);
    for citizen in population.living.iter().take(ACCOUNTS) {
        let account = dinhdanh_server::app::dev::level2(&services, &citizen.id_number).await?;
        let token = secrets::token();
        let now = dinhdanh_server::platform::clock::now();
        let session = Session {
            token_hash: secrets::token_hash(&token),
            account_id: account.account_id.clone(),
            role: SessionRole::Citizen,
            created_at: now,
            expires_at: now + 3_600,
            ceremony_id: None,
            recovery_id: None,
            passkey_at: Some(now),
        };
        let event = dinhdanh_server::domain::audit::event(
            &account.account_id,
            "session.signed_in",
            &account.account_id,
            serde_json::json!({ "method": "passkey" }),
        );
        store.insert_session(&session, &event).await?;
        tokens.push(token);
    }
    let tokens = Arc::new(tokens);

    let started = Instant::now();
    let requests = Arc::new(make_requests(REQUESTS)?);
    println!(
        "  ({} certificate requests made in {:.1} s)",
        thousands(REQUESTS as u64),
        started.elapsed().as_secs_f64()
    );

    let bound = signing_bound(&services, &requests[..2_000])?;
    super::row(
        "bound: CSR check + certificate signature",
        &format!("{} certs/s", per_s(bound)),
        "every core, no HTTP, no DB",
    );

    let app = dinhdanh_server::router(services);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });

    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(TASKS)
        .build_http::<Full<Bytes>>();
    let uri: Uri = format!("http://127.0.0.1:{port}/v1/me/signing-certificates").parse()?;
    // Past the bound's requests, which were checked but not stored.
    let next = Arc::new(AtomicUsize::new(2_000));
    let run = run_concurrently(TASKS, HTTP_WARM_UP, HTTP_TIME, move |random| {
        let (client, uri) = (client.clone(), uri.clone());
        let token = tokens[super::pick(random, tokens.len())].clone();
        let index = next.fetch_add(1, Ordering::Relaxed);
        let body = requests
            .get(index)
            .map(|pem| serde_json::json!({ "csr": pem }).to_string().into_bytes());
        async move {
            let body = body.ok_or("out of certificate requests (raise REQUESTS)")?;
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| e.to_string())?;
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if status == StatusCode::CREATED {
                Ok(1)
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)))
            }
        }
    })
    .await?;
    super::row(
        &format!("signing certificates, HTTP, {TASKS} conns"),
        &format!("{} certs/s", per_s(run.rate())),
        &format!(
            "{:.2} of the bound",
            run.rate() / bound.max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&run);
    errors(&run);
    let _ = stop.send(());
    server.await??;

    crl_of_a_million(dir)?;
    Ok(())
}

/// `count` P-256 certificate requests (PEM), made on every core.
fn make_requests(count: usize) -> Result<Vec<String>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_core = count.div_ceil(cores);
    let made: Vec<std::result::Result<Vec<String>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(move || {
                    (0..per_core)
                        .map(|_| {
                            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                                .map_err(|e| e.to_string())?;
                            rcgen::CertificateParams::default()
                                .serialize_request(&key)
                                .and_then(|r| r.pem())
                                .map_err(|e| e.to_string())
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a worker failed".into())))
            .collect()
    });
    let mut all = Vec::with_capacity(count);
    for part in made {
        all.extend(part?);
    }
    all.truncate(count);
    Ok(all)
}

/// Certificates per second from the CSR check and signing alone, on every core.
fn signing_bound(services: &dinhdanh_server::Services, requests: &[String]) -> Result<f64> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let subject = certificates::Subject {
        full_name: "Nguyễn Văn An".into(),
        id_number: "001090012345".into(),
    };
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = requests
            .chunks(requests.len().div_ceil(cores))
            .map(|chunk| {
                let subject = &subject;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter(|pem| {
                            certificates::request_der(pem.as_bytes())
                                .and_then(|der| certificates::check_request(&der))
                                .ok()
                                .and_then(|checked| {
                                    certificates::issue_certificate(
                                        &services.signing,
                                        &checked,
                                        subject,
                                        &certificates::new_serial(),
                                        0,
                                        86_400,
                                    )
                                    .ok()
                                })
                                .is_some()
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    if done != requests.len() {
        return Err("the bound's certificates failed".into());
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Builds and signs a CRL of 1,000,000 revoked certificates (16-byte serials, a reason each).
fn crl_of_a_million(dir: &Path) -> Result<()> {
    // The development signing CA of the data directory (made by `setup::services`).
    let keys = dinhdanh_server::domain::pki::signing_keys(
        &Config::default(),
        dir,
        &std::fs::read_to_string(dir.join("keys/agency-root.pem"))?,
    )?;
    let authority =
        dinhdanh_server::domain::ca::SigningAuthority::new(keys, "http://localhost", "1.2.3.4")?;
    let now = dinhdanh_server::platform::clock::now();
    let entries: Vec<RevokedSerial> = (0..CRL_ENTRIES)
        .map(|i| RevokedSerial {
            serial: certificates::serial_hex(&certificates::new_serial()),
            revoked_at: now - (i as i64 % 86_400),
            revocation_reason: Some([0, 1, 5, 9][i % 4]),
        })
        .collect();
    let started = Instant::now();
    let der = crl::build(&authority, &entries, 2, now, now + 86_400)?;
    let elapsed = started.elapsed();
    super::row(
        &format!(
            "CRL build + sign, {} revoked",
            thousands(CRL_ENTRIES as u64)
        ),
        &format!(
            "{:.2} s, {:.1} MB",
            elapsed.as_secs_f64(),
            der.len() as f64 / 1e6
        ),
        &format!(
            "{} entries/s",
            per_s(CRL_ENTRIES as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE))
        ),
    );
    Ok(())
}
