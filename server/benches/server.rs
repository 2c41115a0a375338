//! Server benchmark: registry import, registry lookups and enrolment start over HTTP, on SQLite
//! and, when `TEST_DATABASE_URL` is set, on PostgreSQL.
//!
//! ```text
//! cargo bench -p dinhdanh-server --bench server                  # 1,000,000 citizens
//! cargo bench -p dinhdanh-server --bench server -- --quick       # 100,000 citizens
//! cargo bench -p dinhdanh-server --bench server -- --rows 250000
//! cargo bench -p dinhdanh-server --bench server -- --signing     # signing certificates, CRL
//! TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p dinhdanh-server --bench server               # SQLite, then PostgreSQL
//! ```
//!
//! The registry is generated once (NDJSON, fixed seed); then, on each backend, in a fresh
//! database:
//!
//! 1. **Registry import**: `import_file` of the whole file, validation included: rows/s.
//! 2. **Lookup by ID number**: one at a time from 32 concurrent tasks (lookups/s), beside the rate
//!    of `ping` (one trivial statement) under the same concurrency, the bound the pool and the
//!    driver allow; then in batches of 1,000 ids (one statement each) from 1 and 4 tasks: ids/s.
//! 3. **Enrolment start over HTTP**: the real router on a real TCP listener, 32 keep-alive
//!    connections posting `/v1/enrolments` for living citizens of the registry (registry match,
//!    code, SMS sink), rate limits lifted: requests/s, p50 and p99 latency.
//!
//! Figures are printed beside their targets; nothing is asserted on time. With
//! `TEST_DATABASE_URL` (a URL to an admin database), a database `dinhdanh_bench_<random>` is
//! created for the run and dropped afterwards.

use std::{
    error::Error,
    fs::File,
    future::Future,
    io::{BufRead, BufReader, BufWriter},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    http::{Method, Request, StatusCode, Uri, header},
};
use dinhdanh_server::{
    app::setup,
    domain::registry::{generate, import},
    platform::config::{Config, EnrolmentLimits},
    store::{Citizen, Store},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The registry's seed: the same citizens on every run.
const SEED: u64 = 0x6265_6e63_6800_0001;
const DEFAULT_ROWS: u64 = 1_000_000;
const QUICK_ROWS: u64 = 100_000;
const ISSUANCE_ONLY_ROWS: u64 = 10_000;

fn issuance_only() -> bool {
    std::env::args().any(|a| a == "--issuance")
}
/// Concurrent tasks (and HTTP connections) of the single lookups and the enrolment starts.
const TASKS: usize = 32;
/// ID numbers per batch lookup.
const BATCH: usize = 1_000;
/// Concurrent tasks of the parallel batch lookup.
const BATCH_TASKS: usize = 4;
const LOOKUP_WARM_UP: Duration = Duration::from_millis(500);
const LOOKUP_TIME: Duration = Duration::from_secs(3);
const HTTP_WARM_UP: Duration = Duration::from_secs(1);
const HTTP_TIME: Duration = Duration::from_secs(5);
/// Living citizens kept in memory to enrol as.
const ENROLMENT_SAMPLE: usize = 100_000;
/// Errors quoted per measurement (all are counted).
const QUOTED_ERRORS: usize = 5;

/// Lower bounds of the figures, per backend.
struct Targets {
    import_rows_per_s: f64,
    batch_ids_per_s: f64,
    issuance_requests_per_s: f64,
    /// Credentials/s at batch 10 (no target on SQLite).
    issuance_batch_credentials_per_s: Option<f64>,
}

const SQLITE_TARGETS: Targets = Targets {
    import_rows_per_s: 100_000.0,
    batch_ids_per_s: 100_000.0,
    issuance_requests_per_s: 1_500.0,
    issuance_batch_credentials_per_s: None,
};
const POSTGRES_TARGETS: Targets = Targets {
    import_rows_per_s: 50_000.0,
    batch_ids_per_s: 75_000.0,
    issuance_requests_per_s: 2_000.0,
    issuance_batch_credentials_per_s: Some(7_500.0),
};

#[path = "server/issuance.rs"]
mod issuance;
#[path = "server/signing.rs"]
mod signing;

fn signing_only() -> bool {
    std::env::args().any(|a| a == "--signing")
}

#[tokio::main]
async fn main() -> Result<()> {
    let rows = rows_from_args()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "dinhdanh-server benchmark: {} citizens, {cores} cores",
        thousands(rows)
    );

    let work = tempfile::tempdir()?;
    let started = Instant::now();
    let population = generate_population(work.path(), rows)?;
    println!(
        "registry generated: {} MB of NDJSON in {:.1} s",
        std::fs::metadata(&population.file)?.len() / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    let sqlite = tempfile::tempdir()?;
    let url = format!("sqlite://{}", sqlite.path().join("bench.db").display());
    bench_backend("SQLite (fresh file)", &url, &population, &SQLITE_TARGETS).await?;

    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => bench_postgres(&admin_url, &population).await?,
        _ => println!("\n!!! PostgreSQL: skipped (TEST_DATABASE_URL not set) !!!"),
    }
    Ok(())
}

/// `--rows N` (default 1,000,000) or `--quick` (100,000); `--issuance` runs only the issuance
/// measurements, `--signing` only the signing certificate and CRL ones (over a registry of
/// 10,000); `--bench`, which cargo passes, is ignored.
fn rows_from_args() -> Result<u64> {
    let mut rows = DEFAULT_ROWS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => rows = QUICK_ROWS,
            "--issuance" | "--signing" => rows = ISSUANCE_ONLY_ROWS,
            "--rows" => {
                let value = args.next().ok_or("--rows needs a number")?;
                rows = value.replace(['_', ','], "").parse()?;
            }
            "--bench" => {}
            other => {
                return Err(
                    format!("unknown argument {other:?}: expected --rows N or --quick").into(),
                );
            }
        }
    }
    if rows == 0 {
        return Err("--rows must be at least 1".into());
    }
    Ok(rows)
}

// --- The registry ---------------------------------------------------------------------------

/// The generated registry: its NDJSON file, every ID number in generation order (which is random
/// in the key space) and living citizens to enrol as.
struct Population {
    rows: u64,
    file: PathBuf,
    ids: Arc<Vec<String>>,
    living: Arc<Vec<Citizen>>,
}

fn generate_population(dir: &Path, rows: u64) -> Result<Population> {
    let file = dir.join("registry.ndjson");
    let mut out = BufWriter::new(File::create(&file)?);
    generate::write_ndjson(&mut out, SEED, rows, false)?;
    // On disk before the import starts: no write-back of the file competing with it.
    out.into_inner()?.sync_all()?;

    // The same seed gives the same citizens in the same order as the file.
    let mut generator = generate::Generator::new(SEED);
    let mut ids = Vec::with_capacity(usize::try_from(rows)?);
    let mut living = Vec::new();
    for _ in 0..rows {
        let citizen = generator.citizen();
        ids.push(citizen.id_number.clone());
        if living.len() < ENROLMENT_SAMPLE
            && citizen.status == dinhdanh_server::store::CitizenStatus::Living
        {
            living.push(citizen);
        }
    }
    if living.is_empty() {
        return Err("the generated registry has no living citizen to enrol as".into());
    }
    Ok(Population {
        rows,
        file,
        ids: Arc::new(ids),
        living: Arc::new(living),
    })
}

// --- One backend ----------------------------------------------------------------------------

/// Runs the three measurements on a fresh database at `url` and prints them.
async fn bench_backend(
    title: &str,
    url: &str,
    population: &Population,
    targets: &Targets,
) -> Result<()> {
    println!("\n{title}");
    println!("  {:<46} {:<24} target / bound", "measure", "figure");
    let dir = tempfile::tempdir()?;
    setup::data_dir(dir.path())?;
    let config = Config {
        database_url: Some(url.to_owned()),
        // Lifted: every request of the benchmark comes from one address.
        enrolment: EnrolmentLimits {
            per_ip: i64::MAX / 2,
            per_phone: i64::MAX / 2,
            ..EnrolmentLimits::default()
        },
        ..Config::default()
    };
    let store = setup::store(&config, dir.path()).await?;
    let outcome = measure_backend(&store, config, dir.path(), population, targets).await;
    store.close().await;
    outcome
}

async fn measure_backend(
    store: &Store,
    config: Config,
    dir: &Path,
    population: &Population,
    targets: &Targets,
) -> Result<()> {
    let (rate, elapsed) = registry_import(store, population).await?;
    if signing_only() {
        return signing::measure(store, config, dir, population).await;
    }
    if issuance_only() {
        return issuance::measure(store, config, dir, population, targets).await;
    }
    row(
        &format!("registry import, {} rows", thousands(population.rows)),
        &format!("{} rows/s ({:.1} s)", per_s(rate), elapsed.as_secs_f64()),
        &against(rate, targets.import_rows_per_s, "rows/s"),
    );

    let single = lookup_one_at_a_time(store, &population.ids).await?;
    let ping = ping(store).await?;
    row(
        &format!("lookup by id, one per statement, {TASKS} tasks"),
        &format!("{} lookups/s", per_s(single.rate())),
        &format!(
            "bound: ping {}/s ({:.0} % of it)",
            per_s(ping.rate()),
            100.0 * single.rate() / ping.rate().max(f64::MIN_POSITIVE)
        ),
    );
    latency_row(&single);
    errors(&single);
    errors(&ping);

    for tasks in [1, BATCH_TASKS] {
        let batches = lookup_batches(store, &population.ids, tasks).await?;
        let noun = if tasks == 1 { "task" } else { "tasks" };
        row(
            &format!(
                "lookup by id, batches of {}, {tasks} {noun}",
                thousands(BATCH as u64)
            ),
            &format!("{} ids/s", per_s(batches.item_rate())),
            &against(batches.item_rate(), targets.batch_ids_per_s, "ids/s"),
        );
        latency_row(&batches);
        errors(&batches);
    }

    let enrolments =
        enrolment_start(store.clone(), config.clone(), dir, &population.living).await?;
    let run = &enrolments.run;
    row(
        &format!("enrolment start, HTTP, {TASKS} connections"),
        &format!("{} requests/s", per_s(run.rate())),
        "no target",
    );
    latency_row(run);
    row(
        "  non-202 answers and failures",
        &thousands(run.tally.errors),
        "0 expected",
    );
    errors(run);
    row(
        "  codes in sms.log (one per registry match)",
        &thousands(enrolments.sms_lines),
        &format!("{} requests sent", thousands(enrolments.requests)),
    );
    issuance::measure(store, config.clone(), dir, population, targets).await?;
    signing::measure(store, config, dir, population).await
}

/// Imports the generated file; the rate and the time it took.
async fn registry_import(store: &Store, population: &Population) -> Result<(f64, Duration)> {
    let started = Instant::now();
    let report = import::import_file(
        store,
        &dinhdanh_server::platform::config::IssuanceSettings::default(),
        &population.file,
        None,
    )
    .await?;
    let elapsed = started.elapsed();
    let expected = i64::try_from(population.rows)?;
    if report.rejected != 0 || report.counts.inserted != expected {
        return Err(format!(
            "import: {} rejected (first: {:?}), {} inserted of {expected}",
            report.rejected,
            report.rejections.first(),
            report.counts.inserted
        )
        .into());
    }
    Ok((population.rows as f64 / elapsed.as_secs_f64(), elapsed))
}

/// `store.citizen` for random ids from the registry.
async fn lookup_one_at_a_time(store: &Store, ids: &Arc<Vec<String>>) -> Result<Run> {
    let (store, ids) = (store.clone(), Arc::clone(ids));
    run_concurrently(TASKS, LOOKUP_WARM_UP, LOOKUP_TIME, move |random| {
        let store = store.clone();
        let id = ids[pick(random, ids.len())].clone();
        async move {
            match store.citizen(&id).await {
                Ok(Some(_)) => Ok(1),
                Ok(None) => Err(format!("{id}: not found")),
                Err(error) => Err(error.to_string()),
            }
        }
    })
    .await
}

/// One trivial statement per operation: what the pool and the driver allow at best.
async fn ping(store: &Store) -> Result<Run> {
    let store = store.clone();
    run_concurrently(TASKS, LOOKUP_WARM_UP, LOOKUP_TIME, move |_| {
        let store = store.clone();
        async move { store.ping().await.map(|()| 1).map_err(|e| e.to_string()) }
    })
    .await
}

/// `store.citizens` for windows of `BATCH` consecutive ids of the generation order: distinct ids
/// spread over the whole key space.
async fn lookup_batches(store: &Store, ids: &Arc<Vec<String>>, tasks: usize) -> Result<Run> {
    let (store, ids) = (store.clone(), Arc::clone(ids));
    let size = BATCH.min(ids.len());
    run_concurrently(tasks, LOOKUP_WARM_UP, LOOKUP_TIME, move |random| {
        let store = store.clone();
        let start = pick(random, ids.len() - size + 1);
        let batch = ids[start..start + size].to_vec();
        async move {
            let found = store.citizens(&batch).await.map_err(|e| e.to_string())?;
            if found.len() == batch.len() {
                Ok(found.len() as u64)
            } else {
                Err(format!("{} of {} ids found", found.len(), batch.len()))
            }
        }
    })
    .await
}

/// What the enrolment run did.
struct Enrolments {
    run: Run,
    /// Requests sent, warm-up included.
    requests: u64,
    /// Codes the SMS sink wrote.
    sms_lines: u64,
}

/// Serves the router on `127.0.0.1:0` and posts enrolment starts to it over 32 connections.
async fn enrolment_start(
    store: Store,
    config: Config,
    dir: &Path,
    living: &Arc<Vec<Citizen>>,
) -> Result<Enrolments> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let services = setup::services(store, config, dir, format!("http://localhost:{port}"))?;
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
    let uri: Uri = format!("http://127.0.0.1:{port}/v1/enrolments").parse()?;
    let sent = Arc::new(AtomicU64::new(0));
    let (living, counter) = (Arc::clone(living), Arc::clone(&sent));
    let run = run_concurrently(TASKS, HTTP_WARM_UP, HTTP_TIME, move |random| {
        let client = client.clone();
        let citizen = &living[pick(random, living.len())];
        counter.fetch_add(1, Ordering::Relaxed);
        // The citizen's registered phone: a code goes to no other.
        let body = serde_json::json!({
            "id_number": citizen.id_number,
            "full_name": citizen.full_name,
            "date_of_birth": citizen.date_of_birth,
            "phone": citizen.phones.as_deref().unwrap_or_default(),
        })
        .to_string();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)));
        async move {
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
            if status == StatusCode::ACCEPTED {
                Ok(1)
            } else {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                Err(format!("{status}: {text}"))
            }
        }
    })
    .await?;

    let _ = stop.send(());
    server.await??;
    // Codes are sent off the request path: give the last ones a moment to reach the file.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(Enrolments {
        run,
        requests: sent.load(Ordering::Relaxed),
        sms_lines: count_lines(&dir.join("sms.log"))?,
    })
}

fn count_lines(path: &Path) -> Result<u64> {
    if !path.exists() {
        return Ok(0);
    }
    let mut lines = 0;
    for line in BufReader::new(File::open(path)?).split(b'\n') {
        line?;
        lines += 1;
    }
    Ok(lines)
}

// --- PostgreSQL -----------------------------------------------------------------------------

/// Creates `dinhdanh_bench_<random>` through the admin database, benchmarks it, drops it.
async fn bench_postgres(admin_url: &str, population: &Population) -> Result<()> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let name = format!(
        "dinhdanh_bench_{:012x}",
        Rng::new(nanos ^ u64::from(std::process::id())).next_u64() >> 16
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let outcome = match database_url(admin_url, &name) {
        Ok(url) => {
            let title = format!("PostgreSQL (fresh database {name})");
            bench_backend(&title, &url, population, &POSTGRES_TARGETS).await
        }
        Err(error) => Err(error),
    };
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
    outcome?;
    dropped?;
    Ok(())
}

/// `url` with its database replaced by `database` (query parameters kept).
fn database_url(url: &str, database: &str) -> Result<String> {
    let authority = url
        .find("://")
        .ok_or("TEST_DATABASE_URL: expected postgres://user:password@host:port/database")?
        + 3;
    let (scheme, rest) = url.split_at(authority);
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let query = path.find('?').map_or("", |i| &path[i..]);
    Ok(format!("{scheme}{host}/{database}{query}"))
}

// --- Running operations concurrently --------------------------------------------------------

/// Counts of one run: operations, items (ids, requests) and errors, with latencies.
#[derive(Default)]
struct Tally {
    ops: u64,
    items: u64,
    errors: u64,
    quoted: Vec<String>,
    latencies: Vec<Duration>,
}

impl Tally {
    fn record(&mut self, latency: Duration, outcome: std::result::Result<u64, String>) {
        match outcome {
            Ok(items) => {
                self.ops += 1;
                self.items += items;
                self.latencies.push(latency);
            }
            Err(error) => {
                self.errors += 1;
                if self.quoted.len() < QUOTED_ERRORS {
                    self.quoted.push(error);
                }
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.ops += other.ops;
        self.items += other.items;
        self.errors += other.errors;
        let room = QUOTED_ERRORS.saturating_sub(self.quoted.len());
        self.quoted.extend(other.quoted.into_iter().take(room));
        self.latencies.extend(other.latencies);
    }
}

/// A finished run: what completed within the measured window.
struct Run {
    window: Duration,
    tally: Tally,
}

impl Run {
    /// Successful operations per second.
    fn rate(&self) -> f64 {
        self.tally.ops as f64 / self.window.as_secs_f64()
    }

    /// Items of the successful operations per second.
    fn item_rate(&self) -> f64 {
        self.tally.items as f64 / self.window.as_secs_f64()
    }

    /// The latency at quantile `q` (0 to 1) of the successful operations.
    fn latency(&self, q: f64) -> Duration {
        let latencies = &self.tally.latencies;
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[index.min(latencies.len() - 1)]
    }
}

/// Runs `op` in a loop on `tasks` concurrent tokio tasks for `warm_up` then `measure`, and
/// keeps the operations that complete within the measured window. `op` gets a random number
/// (to pick its input with) and returns how many items it handled, or why it failed.
async fn run_concurrently<F, Fut>(
    tasks: usize,
    warm_up: Duration,
    measure: Duration,
    op: F,
) -> Result<Run>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<u64, String>> + Send + 'static,
{
    let op = Arc::new(op);
    let from = Instant::now() + warm_up;
    let until = from + measure;
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut rng = Rng::new(task as u64 + 1);
                let mut tally = Tally::default();
                while Instant::now() < until {
                    let began = Instant::now();
                    let outcome = op(rng.next_u64()).await;
                    let done = Instant::now();
                    if (from..=until).contains(&done) {
                        tally.record(done - began, outcome);
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await?);
    }
    tally.latencies.sort_unstable();
    Ok(Run {
        window: measure,
        tally,
    })
}

/// xorshift64*: random enough to pick inputs with.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// An index below `len` (> 0) from a random number.
fn pick(random: u64, len: usize) -> usize {
    (random % len as u64) as usize
}

// --- Printing -------------------------------------------------------------------------------

fn row(measure: &str, figure: &str, target: &str) {
    let line = format!("  {measure:<46} {figure:<24} {target}");
    println!("{}", line.trim_end());
}

fn latency_row(run: &Run) {
    row(
        "  latency p50 / p99",
        &format!(
            "{} / {}",
            millis(run.latency(0.5)),
            millis(run.latency(0.99))
        ),
        "",
    );
}

fn errors(run: &Run) {
    if run.tally.errors > 0 {
        println!("  !! {} errors, for example:", thousands(run.tally.errors));
        for error in &run.tally.quoted {
            println!("  !!   {error}");
        }
    }
}

/// "≥ target unit", and whether the figure meets it.
fn against(figure: f64, target: f64, unit: &str) -> String {
    let goal = format!("≥ {} {unit}", per_s(target));
    if figure >= target {
        format!("{goal}: met")
    } else {
        format!("{goal}: MISSED by {:.0} %", 100.0 * (1.0 - figure / target))
    }
}

fn per_s(rate: f64) -> String {
    thousands(rate.round() as u64)
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
