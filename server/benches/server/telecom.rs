//! 6. **Telecom operators over HTTP** (`--telecom`): the real router on a real TCP listener, 32
//!    keep-alive connections of one operator (a relying party of kind telecom with an access
//!    certificate from a relying-party CA under the development agency root):
//!    - `POST /token` with a fresh `private_key_jwt` client assertion per request (signed by the
//!      client): tokens/s, beside the bound of the same run's signature checks (one assertion
//!      signature and two certificate signatures, ES256, bare);
//!    - `POST /v1/telecom/subscriptions` by four fields for random living citizens, a new number
//!      each: bindings/s, beside enrolment starts in the same run (the same work shape: one
//!      registry match, one insert with its audit entry).

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, Uri, header},
};
use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader, sign_compact},
    x509::{self, ChainPolicy, TrustAnchor},
};
use dinhdanh_server::{
    app::setup,
    domain::rp,
    platform::config::Config,
    store::{RelyingPartyKind, Store},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::json;

use super::{
    HTTP_TIME, HTTP_WARM_UP, Population, Result, TASKS, enrolment_start, errors, latency_row,
    per_s, pick, row, run_concurrently, thousands,
};

/// A telecom operator registered through the relying-party registry (what `rp register`
/// runs): its key, chain (access certificate, relying-party CA) and client id.
pub(super) async fn register_operator(
    services: &dinhdanh_server::Services,
    dns: &str,
) -> Result<(Es256KeyPair, Vec<Vec<u8>>, String)> {
    let key = Es256KeyPair::generate()?;
    let pkcs8 = key.to_pkcs8_der()?;
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())?
        .serialize_request(&rcgen::KeyPair::try_from(pkcs8.as_slice())?)?
        .der()
        .to_vec();
    let request = rp::RegisterRequest {
        name: "Nhà mạng benchmark".into(),
        kind: RelyingPartyKind::Telecom,
        dns: dns.into(),
        csr,
        allow: vec!["pid:/personal_identifier".into()],
        purpose: Some("SIM registration".into()),
        registration_number: None,
    };
    let registered = rp::register(services, &request, dinhdanh_server::domain::audit::OPERATOR)
        .await
        .map_err(|e| format!("rp register: {e}"))?;
    let chain = x509::pem_to_der_chain(&registered.certificate_chain)?;
    Ok((key, chain, registered.client_id))
}

/// A fresh client assertion for the token endpoint at `public_url`.
fn assertion(key: &Es256KeyPair, x5c: &[String], client_id: &str, public_url: &str) -> String {
    let now = dinhdanh_server::platform::clock::now();
    let header = JwsHeader {
        x5c: Some(x5c.to_vec()),
        ..JwsHeader::es256("JWT")
    };
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": format!("{public_url}/token"),
        "iat": now, "exp": now + 120, "jti": uuid::Uuid::new_v4().to_string(),
    });
    sign_compact(&header, claims.to_string().as_bytes(), key).unwrap_or_default()
}

/// One POST; the count of items when the status is `expected`, else the status and body.
async fn post(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    request: std::result::Result<Request<Full<Bytes>>, axum::http::Error>,
    expected: StatusCode,
) -> std::result::Result<u64, String> {
    let response = client
        .request(request.map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status == expected {
        Ok(1)
    } else {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        Err(format!("{status}: {text}"))
    }
}

pub(super) async fn measure(
    store: &Store,
    config: Config,
    dir: &Path,
    population: &Population,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let public_url = format!("http://localhost:{port}");
    let services = setup::services(store.clone(), config.clone(), dir, public_url.clone())?;
    let (key, chain, client_id) = register_operator(&services, "api.operator.bench").await?;
    let x5c = x509::der_chain_to_x5c(&chain);
    let anchor = services.rp.anchor()?;
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

    // The bound of a token: the server's signature checks alone (the assertion, the leaf's
    // certificate, the relying-party CA's), one core.
    let token = assertion(&key, &x5c, &client_id, &public_url);
    let rounds = 2_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let jws = dinhdanh_sdk::jose::UnverifiedJws::parse(&token)?;
        let validated = x509::validate_chain(
            &chain,
            std::slice::from_ref::<TrustAnchor>(&anchor),
            &ChainPolicy::at(dinhdanh_server::platform::clock::now().max(0) as u64),
        )?;
        let public =
            dinhdanh_sdk::jose::PublicKey::from_sec1(validated.leaf_public_key_sec1().ok_or("")?)?;
        jws.verify(&public)?;
    }
    let bound = f64::from(rounds) / started.elapsed().as_secs_f64();

    let uri: Uri = format!("http://127.0.0.1:{port}/token").parse()?;
    let key = Arc::new(key);
    let x5c = Arc::new(x5c);
    let (tokens_client, form_key, form_x5c) = (client.clone(), Arc::clone(&key), Arc::clone(&x5c));
    let (form_client_id, url) = (Arc::new(client_id.clone()), Arc::new(public_url.clone()));
    let run = run_concurrently(TASKS, HTTP_WARM_UP, HTTP_TIME, move |_| {
        let client = tokens_client.clone();
        let body = format!(
            "grant_type=client_credentials&scope=telecom&client_id={}\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={}",
            form_client_id.replace(':', "%3A"),
            assertion(&form_key, &form_x5c, &form_client_id, &url)
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)));
        async move { post(&client, request, StatusCode::OK).await }
    })
    .await?;
    row(
        &format!("operator token (private_key_jwt), {TASKS} conns"),
        &format!("{} tokens/s", per_s(run.rate())),
        &format!(
            "bound: 3 ES256 checks {}/s, 1 core ({:.0} %)",
            per_s(bound),
            100.0 * run.rate() / bound.max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&run);
    errors(&run);

    // One token for the bindings.
    let token = {
        let body = format!(
            "grant_type=client_credentials&scope=telecom&client_id={}\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={}",
            client_id.replace(':', "%3A"),
            assertion(&key, &x5c, &client_id, &public_url)
        );
        let response = client
            .request(
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("http://127.0.0.1:{port}/token"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(body)))?,
            )
            .await?;
        let body = response.into_body().collect().await?.to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        value["access_token"]
            .as_str()
            .ok_or("no access token")?
            .to_owned()
    };
    let uri: Uri = format!("http://127.0.0.1:{port}/v1/telecom/subscriptions").parse()?;
    let numbers = Arc::new(AtomicU64::new(0));
    let (living, bind_client, authorization) = (
        Arc::clone(&population.living),
        client.clone(),
        Arc::new(format!("Bearer {token}")),
    );
    let run = run_concurrently(TASKS, HTTP_WARM_UP, HTTP_TIME, move |random| {
        let client = bind_client.clone();
        let citizen = &living[pick(random, living.len())];
        let n = numbers.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "msisdn": format!("09{:08}", n % 100_000_000),
            "four_fields": {
                "id_number": citizen.id_number,
                "full_name": citizen.full_name,
                "date_of_birth": citizen.date_of_birth,
                "face_match": { "result": "match", "method": "bench", "performed_by": "bench" },
            },
        })
        .to_string();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, authorization.as_str())
            .body(Full::new(Bytes::from(body)));
        async move { post(&client, request, StatusCode::CREATED).await }
    })
    .await?;
    let _ = stop.send(());
    server.await??;

    let enrolments = enrolment_start(store.clone(), config, dir, &population.living).await?;
    row(
        &format!("SIM binding, four fields, HTTP, {TASKS} conns"),
        &format!("{} bindings/s", per_s(run.rate())),
        &format!(
            "beside: enrolment start {}/s ({:.0} %)",
            per_s(enrolments.run.rate()),
            100.0 * run.rate() / enrolments.run.rate().max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&run);
    row(
        "  non-201 answers and failures",
        &thousands(run.tally.errors),
        "0 expected",
    );
    errors(&run);
    Ok(())
}
