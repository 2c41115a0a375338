//! 4. **Credential issuance over HTTP**: the real router on a real TCP listener, 32 keep-alive
//!    connections, each issuance a `POST /nonce` then a `POST /credential` with one key proof
//!    (batch 1) or ten (batch 10) signed by the client, a fresh Bearer token (one of 256 level-2
//!    citizens) per request:
//!    credential requests/s, credentials/s, p50 and p99 of the pair; beside the bound measured
//!    in the same run, the same exchange against a handler that checks the proof and issues one
//!    SD-JWT VC without any database.
//! 5. **Status list regeneration**: building and signing the token of a 2^20-entry list with
//!    1 % of its entries revoked at random positions.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Instant};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, Uri, header},
};
use dinhdanh_sdk::{
    jose::Es256KeyPair,
    openid4vci::proof::{self, ProofExpectation, ProofInput},
    status_list::StatusReference,
    vc::{self, CredentialKind, VcIssuance},
};
use dinhdanh_server::{
    Services,
    app::setup,
    domain::issuance::{self, AccessGrant, claims},
    domain::status,
    platform::config::Config,
    store::{CredentialStatus, StatusListRow, Store},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Value, json};

use super::{
    HTTP_TIME, HTTP_WARM_UP, Population, Result, Run, TASKS, Targets, against, errors, latency_row,
    millis, per_s, pick, row, run_concurrently, thousands,
};

/// Level-2 citizens whose tokens the clients use.
const ACCOUNTS: usize = 256;
/// Client keys (each proof is signed by one of them).
const CLIENT_KEYS: usize = 64;

pub(super) async fn measure(
    store: &Store,
    config: Config,
    dir: &Path,
    population: &Population,
    targets: &Targets,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let public_url = format!("http://localhost:{port}");
    let services = setup::services(store.clone(), config.clone(), dir, public_url.clone())?;

    // Level-2 accounts; each credential request gets a fresh access token for one of them (a
    // token makes one credential request).
    let mut accounts = Vec::with_capacity(ACCOUNTS);
    for citizen in population.living.iter().take(ACCOUNTS) {
        let account = dinhdanh_server::app::dev::level2(&services, &citizen.id_number).await?;
        accounts.push(account.account_id);
    }
    let accounts = Arc::new(accounts);
    let keys: Arc<Vec<Es256KeyPair>> = Arc::new(
        (0..CLIENT_KEYS)
            .map(|_| Es256KeyPair::generate())
            .collect::<std::result::Result<_, _>>()?,
    );

    // The bound: the same exchange, no database behind it.
    let bound_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bound_port = bound_listener.local_addr()?.port();
    let bound_services = Arc::new(setup::services(
        store.clone(),
        config,
        dir,
        public_url.clone(),
    )?);
    let pid_claims = Arc::new(claims::pid(
        &population.living[0],
        claims::Date::of_unix(dinhdanh_server::platform::clock::now()),
        claims::Date::of_unix(dinhdanh_server::platform::clock::now() + 365 * 86_400),
    ));
    // The bound's services share the server key (same data directory): they mint the tokens.
    let minter = Arc::clone(&bound_services);
    let bound_app = bound_router(bound_services, pid_claims);
    let (stop_bound, bound_stopped) = tokio::sync::oneshot::channel::<()>();
    let bound_server = tokio::spawn(async move {
        axum::serve(bound_listener, bound_app)
            .with_graceful_shutdown(async {
                let _ = bound_stopped.await;
            })
            .await
    });

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

    let bound = exchange(bound_port, &public_url, &minter, &accounts, &keys, 1).await?;
    row(
        &format!("bound: proof check + 1 issue, no DB, {TASKS} conns"),
        &format!("{} requests/s", per_s(bound.rate())),
        "the bound",
    );
    latency_row(&bound);
    errors(&bound);

    let groups_before = group_figures(store);
    let single = exchange(port, &public_url, &minter, &accounts, &keys, 1).await?;
    let groups_single = group_figures(store);
    row(
        &format!("issuance, batch 1, HTTP, {TASKS} connections"),
        &format!("{} requests/s", per_s(single.rate())),
        &format!(
            "{}; {:.2} of the bound",
            against(single.rate(), targets.issuance_requests_per_s, "req/s"),
            single.rate() / bound.rate().max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&single);
    group_row(groups_before, groups_single);
    errors(&single);

    let batch = exchange(port, &public_url, &minter, &accounts, &keys, 10).await?;
    row(
        &format!("issuance, batch 10, HTTP, {TASKS} connections"),
        &format!(
            "{} credentials/s ({} req/s)",
            per_s(batch.item_rate()),
            per_s(batch.rate())
        ),
        &format!(
            "{}; {:.2}x the bound's rate",
            match targets.issuance_batch_credentials_per_s {
                Some(target) => against(batch.item_rate(), target, "credentials/s"),
                None => "no target".to_owned(),
            },
            batch.item_rate() / bound.rate().max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&batch);
    group_row(groups_single, group_figures(store));
    errors(&batch);

    let _ = stop.send(());
    let _ = stop_bound.send(());
    server.await??;
    bound_server.await??;

    status_list_regeneration()?;
    Ok(())
}

/// `POST /nonce` then `POST /credential` with `copies` proofs (each for another key), from
/// `TASKS` connections, each request with a fresh token (minting one is an HMAC, negligible
/// beside the request).
async fn exchange(
    port: u16,
    public_url: &str,
    minter: &Arc<Services>,
    accounts: &Arc<Vec<String>>,
    keys: &Arc<Vec<Es256KeyPair>>,
    copies: usize,
) -> Result<Run> {
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(TASKS)
        .build_http::<Full<Bytes>>();
    let nonce_uri: Uri = format!("http://127.0.0.1:{port}/nonce").parse()?;
    let credential_uri: Uri = format!("http://127.0.0.1:{port}/credential").parse()?;
    let (minter, accounts, keys, aud) = (
        Arc::clone(minter),
        Arc::clone(accounts),
        Arc::clone(keys),
        public_url.to_owned(),
    );
    run_concurrently(TASKS, HTTP_WARM_UP, HTTP_TIME, move |random| {
        let client = client.clone();
        let (nonce_uri, credential_uri) = (nonce_uri.clone(), credential_uri.clone());
        let token = issuance::access_token(
            &minter,
            &AccessGrant {
                account_id: accounts[pick(random, accounts.len())].clone(),
                configuration_ids: vec!["pid".into()],
                jkt: None,
                expires_at: dinhdanh_server::platform::clock::now() + 3600,
                random: dinhdanh_server::platform::secrets::token(),
            },
        );
        let (keys, aud) = (Arc::clone(&keys), aud.clone());
        async move {
            let nonce = call(&client, nonce_uri, None, Vec::new()).await?;
            let c_nonce = nonce["c_nonce"].as_str().ok_or("no c_nonce")?.to_owned();
            let now = dinhdanh_server::platform::clock::now() as u64;
            let mut proofs = Vec::with_capacity(copies);
            // Consecutive keys: a batch may not repeat a key.
            let first = pick(random.rotate_left(7), keys.len());
            for i in 0..copies {
                let key = &keys[(first + i) % keys.len()];
                proofs.push(
                    proof::build(&ProofInput {
                        signer: key,
                        public_key: key.public_key(),
                        aud: &aud,
                        nonce: Some(&c_nonce),
                        iss: None,
                        iat: now,
                    })
                    .map_err(|e| e.to_string())?,
                );
            }
            let body = json!({ "credential_configuration_id": "pid", "proofs": { "jwt": proofs } });
            let issued = call(
                &client,
                credential_uri,
                Some(&token),
                body.to_string().into_bytes(),
            )
            .await?;
            let n = issued["credentials"].as_array().map_or(0, Vec::len);
            if n == copies {
                Ok(n as u64)
            } else {
                Err(format!("{n} credentials for {copies} proofs"))
            }
        }
    })
    .await
}

async fn call(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    uri: Uri,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> std::result::Result<Value, String> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
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
    if status != StatusCode::OK {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// The bound's server: a nonce endpoint, and a credential endpoint that checks the proof and
/// issues one PID with its key, touching no database.
fn bound_router(
    services: Arc<Services>,
    claims: Arc<serde_json::Map<String, Value>>,
) -> axum::Router {
    use axum::routing::post;
    let for_nonce = Arc::clone(&services);
    axum::Router::new()
        .route(
            "/nonce",
            post(move || {
                let services = Arc::clone(&for_nonce);
                async move { axum::Json(json!({ "c_nonce": issuance::nonce(&services) })) }
            }),
        )
        .route(
            "/credential",
            post(move |body: axum::Json<Value>| {
                let (services, claims) = (Arc::clone(&services), Arc::clone(&claims));
                async move {
                    let jwt = body.0["proofs"]["jwt"][0]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let now = dinhdanh_server::platform::clock::now() as u64;
                    let verified = proof::verify(
                        &jwt,
                        &ProofExpectation {
                            issuer: &services.public_url,
                            now,
                            max_age: 300,
                            skew: 30,
                        },
                    )
                    .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
                    let reference = StatusReference::new(
                        format!("{}/status-lists/1", services.public_url),
                        4242,
                    );
                    let kind = CredentialKind::Pid;
                    let credential = vc::issue_vc(
                        &services.issuer.signer,
                        &VcIssuance {
                            vct: kind.vct(),
                            iss: Some(&services.public_url),
                            iat: now,
                            exp: Some(now + 365 * 86_400),
                            holder_key: Some(&verified.key),
                            status: Some(&reference),
                            x5c: Some(services.issuer.x5c.clone()),
                            ..VcIssuance::default()
                        },
                        &claims,
                        &kind.disclosable_paths(&claims),
                    )
                    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
                    Ok::<_, (StatusCode, String)>(axum::Json(
                        json!({ "credentials": [{ "credential": credential }] }),
                    ))
                }
            }),
        )
}

/// Builds and signs the token of a 2^20-entry list with 1 % revoked entries at random
/// positions: time and size.
fn status_list_regeneration() -> Result<()> {
    let dir = tempfile::tempdir()?;
    setup::data_dir(dir.path())?;
    let config = Config::default();
    let keys = dinhdanh_server::domain::pki::issuer_keys(
        &config,
        dir.path(),
        "https://id.dinhdanh.example",
    )?;
    let size = 1i64 << 20;
    let mut rng = super::Rng::new(7);
    let entries: Vec<(i64, CredentialStatus)> = (0..size / 100)
        .map(|_| {
            (
                (rng.next_u64() % size as u64) as i64,
                CredentialStatus::Invalid,
            )
        })
        .collect();
    let row_data = StatusListRow {
        id: 1,
        bits: i64::from(status::BITS),
        size,
        version: 1,
        token: None,
        token_version: None,
        token_exp: None,
    };
    let settings = dinhdanh_server::platform::config::IssuanceSettings::default();
    let started = Instant::now();
    let mut token = String::new();
    let rounds = 5;
    for _ in 0..rounds {
        token = status::build(
            &keys,
            "https://id.dinhdanh.example",
            &row_data,
            &entries,
            dinhdanh_server::platform::clock::now(),
            &settings,
        )?;
    }
    let each = started.elapsed() / rounds;
    row(
        &format!(
            "status list token, {} entries, 1 % revoked",
            thousands(size as u64)
        ),
        &format!("{} per build+sign", millis(each)),
        &format!("token {} bytes", thousands(token.len() as u64)),
    );
    Ok(())
}

/// (groups, issuances, busy µs) so far.
fn group_figures(store: &Store) -> (u64, u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = store.group_stats();
    (
        stats.groups.load(Relaxed),
        stats.issuances.load(Relaxed),
        stats.busy_micros.load(Relaxed),
    )
}

fn group_row(before: (u64, u64, u64), after: (u64, u64, u64)) {
    let groups = (after.0 - before.0).max(1);
    row(
        "  group commit: issuances per group, time each",
        &format!(
            "{:.1}, {:.2} ms",
            (after.1 - before.1) as f64 / groups as f64,
            (after.2 - before.2) as f64 / groups as f64 / 1e3
        ),
        "",
    );
}
