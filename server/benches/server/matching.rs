//! Telecom bulk matching: 1,000,000 records against the imported registry, beside its bound,
//! the bare batched lookup measured in the same run.
//!
//! 1. **Batched lookup** (the bound): `Store::citizen_identities` for batches of
//!    `matching::BATCH` ids from `matching::IN_FLIGHT` tasks (the pipeline's shape), and the
//!    wider `Store::citizens` the same way for comparison: ids/s. Measured before and after the
//!    matching runs; the bound is their mean.
//! 2. **The engine in process**: `matching::start` over the records held in memory: records/s.
//! 3. **Over HTTP**: the real router on a real listener; one `POST /v1/telecom/match` whose body
//!    is streamed in 64 KiB chunks while the answer is read as it comes: records/s. The client
//!    runs on the same cores.
//!
//! The records are the registry's citizens in generation order (random in the key space),
//! wrapped around when the registry is smaller: mostly copied as they are, some with the name
//! in capitals (still `match`), without diacritics (`weak_match`), another date of birth
//! (`mismatch`), or an ID number nobody has (`not_found`); deceased citizens answer `deceased`.
//! Every answer is counted by kind, and both runs must count the same.

use std::{
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, header},
};
use dinhdanh_server::{
    app::setup,
    domain::{registry::generate, telecom::matching},
    platform::config::{BulkMatchLimits, Config},
    store::Store,
};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use super::{
    LOOKUP_TIME, LOOKUP_WARM_UP, Population, Result, SEED, Targets, against, errors, per_s, pick,
    row, run_concurrently, thousands,
};

/// Records matched per run.
const RECORDS: usize = 1_000_000;
/// Request body chunks.
const CHUNK: usize = 64 * 1024;
/// The operator the benchmark matches as over HTTP.
const OPERATOR_DNS: &str = "bench-operator.example.vn";

/// The records as the body's chunks.
struct Input {
    chunks: Vec<Bytes>,
    bytes: usize,
}

/// Answers counted by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counts {
    /// The end of the last chunk after its last line end (a line can span chunks).
    carry: Vec<u8>,
    lines: u64,
    matched: u64,
    weak_match: u64,
    mismatch: u64,
    not_found: u64,
    deceased: u64,
    errors: u64,
}

impl Counts {
    /// Counts the complete lines of `chunk` (with what the last chunk left).
    fn add(&mut self, chunk: &[u8]) {
        let Some(last) = memchr::memrchr(b'\n', chunk) else {
            self.carry.extend_from_slice(chunk);
            return;
        };
        let mut text = std::mem::take(&mut self.carry);
        text.extend_from_slice(&chunk[..=last]);
        self.count_lines(&text);
        self.carry.extend_from_slice(&chunk[last + 1..]);
    }

    fn count_lines(&mut self, text: &[u8]) {
        let count = |needle: &[u8]| memchr::memmem::find_iter(text, needle).count() as u64;
        self.lines += memchr::memchr_iter(b'\n', text).count() as u64;
        self.matched += count(b"\"result\":\"match\"");
        self.weak_match += count(b"\"result\":\"weak_match\"");
        self.mismatch += count(b"\"result\":\"mismatch\"");
        self.not_found += count(b"\"result\":\"not_found\"");
        self.deceased += count(b"\"result\":\"deceased\"");
        self.errors += count(b"{\"line\":");
    }

    fn describe(&self) -> String {
        format!(
            "{} match, {} weak, {} mismatch, {} not found, {} deceased, {} errors",
            thousands(self.matched),
            thousands(self.weak_match),
            thousands(self.mismatch),
            thousands(self.not_found),
            thousands(self.deceased),
            thousands(self.errors)
        )
    }
}

/// The records (see the module's documentation), as NDJSON chunks.
fn records(rows: u64, count: usize) -> Input {
    let mut chunks = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK + 512);
    let mut bytes = 0;
    let mut generator = generate::Generator::new(SEED);
    let mut produced = 0u64;
    for i in 0..count {
        if produced == rows {
            generator = generate::Generator::new(SEED);
            produced = 0;
        }
        let citizen = generator.citizen();
        produced += 1;
        let mut id = citizen.id_number;
        let mut name = citizen.full_name;
        let mut date = citizen.date_of_birth;
        match i % 100 {
            0..=2 => name = name.to_uppercase(),
            3 | 4 => {
                name = name
                    .nfd()
                    .filter(|c| !is_combining_mark(*c))
                    .map(|c| match c {
                        'đ' => 'd',
                        'Đ' => 'D',
                        c => c,
                    })
                    .collect()
            }
            5 | 6 => {
                let day: u32 = date[8..].parse().unwrap_or(1);
                let other = if day <= 27 { day + 1 } else { day - 1 };
                date = format!("{}{other:02}", &date[..8]);
            }
            7 => {
                let serial: u32 = id[6..].parse().unwrap_or(0);
                id = format!("{}{:06}", &id[..6], (serial + 500_000) % 1_000_000);
            }
            _ => {}
        }
        let line = serde_json::json!({
            "ref": i, "id_number": id, "full_name": name, "date_of_birth": date,
        })
        .to_string();
        chunk.extend_from_slice(line.as_bytes());
        chunk.push(b'\n');
        if chunk.len() >= CHUNK {
            bytes += chunk.len();
            chunks.push(Bytes::from(std::mem::replace(
                &mut chunk,
                Vec::with_capacity(CHUNK + 512),
            )));
        }
    }
    if !chunk.is_empty() {
        bytes += chunk.len();
        chunks.push(Bytes::from(chunk));
    }
    Input { chunks, bytes }
}

/// Limits lifted: the benchmark matches more than an hour's default allowance, many times.
fn lifted() -> BulkMatchLimits {
    BulkMatchLimits {
        records_per_window: i64::MAX / 4,
        ..BulkMatchLimits::default()
    }
}

/// Runs the measurements and prints them.
pub(super) async fn measure(
    store: &Store,
    config: Config,
    dir: &Path,
    population: &Population,
    targets: &Targets,
) -> Result<()> {
    let started = Instant::now();
    let input = records(population.rows, RECORDS);
    println!(
        "  ({} records, {} MB of NDJSON, made in {:.1} s)",
        thousands(RECORDS as u64),
        input.bytes / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    // The two lookups alternate (the machine's speed drifts); the lean one, the bound, is
    // measured again after the matching runs.
    let wide_1 = batches(store, &population.ids, false).await?;
    let lean_before = batches(store, &population.ids, true).await?;
    let wide_2 = batches(store, &population.ids, false).await?;
    let lean_2 = batches(store, &population.ids, true).await?;
    let engine = in_process(store, &input).await?;
    let http = over_http(store.clone(), config, dir, &input).await?;
    let lean_after = batches(store, &population.ids, true).await?;
    let wide_rate = (wide_1.item_rate() + wide_2.item_rate()) / 2.0;
    let bound = (lean_before.item_rate() + lean_2.item_rate() + lean_after.item_rate()) / 3.0;

    let batch = format!(
        "batches of {}, {} tasks",
        thousands(matching::BATCH as u64),
        matching::IN_FLIGHT
    );
    row(
        &format!("lookup, all columns ({batch})"),
        &format!("{} ids/s", per_s(wide_rate)),
        "Store::citizens, for comparison",
    );
    errors(&wide_1);
    errors(&wide_2);
    row(
        &format!("lookup, matching's columns ({batch})"),
        &format!("{} ids/s", per_s(bound)),
        &format!(
            "the bound (runs: {}, {}, after {})",
            per_s(lean_before.item_rate()),
            per_s(lean_2.item_rate()),
            per_s(lean_after.item_rate())
        ),
    );
    errors(&lean_before);
    errors(&lean_2);
    errors(&lean_after);
    let (rate, elapsed) = engine.0;
    row(
        &format!(
            "bulk match in process, {} records",
            thousands(RECORDS as u64)
        ),
        &format!("{} records/s ({:.1} s)", per_s(rate), elapsed.as_secs_f64()),
        &format!("{:.2} of the bound", rate / bound.max(f64::MIN_POSITIVE)),
    );
    let (rate, elapsed) = http.0;
    row(
        &format!(
            "bulk match over HTTP, {} records",
            thousands(RECORDS as u64)
        ),
        &format!("{} records/s ({:.1} s)", per_s(rate), elapsed.as_secs_f64()),
        &format!(
            "{}; {:.2} of the bound",
            against(rate, targets.match_records_per_s, "records/s"),
            rate / bound.max(f64::MIN_POSITIVE)
        ),
    );
    row("  answers", &http.1.describe(), "");
    if engine.1 != http.1
        || http.1.lines != RECORDS as u64
        || http.1.errors != 0
        || !http.1.carry.is_empty()
    {
        return Err(format!(
            "the answers differ: in process {:?}, over HTTP {:?}",
            engine.1, http.1
        )
        .into());
    }
    Ok(())
}

/// Batches of `matching::BATCH` consecutive ids of the generation order from
/// `matching::IN_FLIGHT` tasks: `citizen_identities` (`lean`) or `citizens`.
async fn batches(store: &Store, ids: &Arc<Vec<String>>, lean: bool) -> Result<super::Run> {
    let (store, ids) = (store.clone(), Arc::clone(ids));
    let size = matching::BATCH.min(ids.len());
    run_concurrently(
        matching::IN_FLIGHT,
        LOOKUP_WARM_UP,
        LOOKUP_TIME,
        move |random| {
            let store = store.clone();
            let start = pick(random, ids.len() - size + 1);
            let batch = ids[start..start + size].to_vec();
            async move {
                let found = if lean {
                    store.citizen_identities(&batch).await.map(|r| r.len())
                } else {
                    store.citizens(&batch).await.map(|r| r.len())
                }
                .map_err(|e| e.to_string())?;
                if found == batch.len() {
                    Ok(found as u64)
                } else {
                    Err(format!("{found} of {} ids found", batch.len()))
                }
            }
        },
    )
    .await
}

/// `matching::start` over the records in memory.
async fn in_process(store: &Store, input: &Input) -> Result<((f64, Duration), Counts)> {
    let chunks: Vec<std::result::Result<Bytes, std::io::Error>> =
        input.chunks.iter().cloned().map(Ok).collect();
    let started = Instant::now();
    let mut answer = matching::start(
        store,
        &lifted(),
        &matching::Operator {
            id: "bench-in-process".into(),
            actor: "rp:bench-in-process".into(),
        },
        tokio_stream::iter(chunks),
    )
    .await?;
    let mut counts = Counts::default();
    while let Some(chunk) = answer.recv().await {
        counts.add(&chunk?);
    }
    let elapsed = started.elapsed();
    Ok(((RECORDS as f64 / elapsed.as_secs_f64(), elapsed), counts))
}

/// One streamed request to the real router on a real listener.
async fn over_http(
    store: Store,
    mut config: Config,
    dir: &Path,
    input: &Input,
) -> Result<((f64, Duration), Counts)> {
    config.bulk_match = lifted();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let services = setup::services(store, config, dir, format!("http://localhost:{port}"))?;
    let authorization = operator_token(&services, port).await?;
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

    let client = Client::builder(TokioExecutor::new()).build_http();
    let frames: Vec<std::result::Result<Frame<Bytes>, std::io::Error>> = input
        .chunks
        .iter()
        .cloned()
        .map(|c| Ok(Frame::data(c)))
        .collect();
    let body = StreamBody::new(tokio_stream::iter(frames));
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://127.0.0.1:{port}/v1/telecom/match"))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .header(header::AUTHORIZATION, authorization)
        .body(body)?;
    let started = Instant::now();
    let response = client.request(request).await?;
    if response.status() != StatusCode::OK {
        let status = response.status();
        let text = response.into_body().collect().await?.to_bytes();
        return Err(format!("{status}: {}", String::from_utf8_lossy(&text)).into());
    }
    let mut body = response.into_body();
    let mut counts = Counts::default();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            counts.add(&data);
        }
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    server.await??;
    Ok(((RECORDS as f64 / elapsed.as_secs_f64(), elapsed), counts))
}

/// `Bearer <token>` of a telecom operator registered for the run through the relying-party
/// registry, and a token from the client credentials grant with a `private_key_jwt` assertion
/// signed by its key.
async fn operator_token(services: &dinhdanh_server::Services, port: u16) -> Result<String> {
    use dinhdanh_sdk::{
        jose::{JwsHeader, sign_compact},
        x509,
    };
    use dinhdanh_server::domain::telecom::client_auth;
    let (key, chain, client_id) = super::telecom::register_operator(services, OPERATOR_DNS).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let header = JwsHeader {
        x5c: Some(x509::der_chain_to_x5c(&chain)),
        ..JwsHeader::es256("JWT")
    };
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id,
        "aud": format!("http://localhost:{port}/token"),
        "iat": now, "exp": now + 120, "jti": uuid::Uuid::new_v4().to_string(),
    });
    let assertion = sign_compact(&header, claims.to_string().as_bytes(), &key)?;
    let response = client_auth::token(
        services,
        &client_auth::ClientCredentialsRequest {
            grant_type: Some(client_auth::CLIENT_CREDENTIALS.into()),
            scope: Some("telecom".into()),
            client_id: Some(client_id),
            client_assertion_type: Some(client_auth::JWT_BEARER.into()),
            client_assertion: Some(assertion),
        },
    )
    .await
    .map_err(|e| format!("operator token: {e}"))?;
    Ok(format!("Bearer {}", response.access_token))
}
