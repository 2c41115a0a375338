//! `dinhdanh-server`: serve the identity server, or run an operator command.

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dinhdanh_server::{
    app::setup,
    domain::audit,
    domain::registry::{
        generate,
        import::{self, Format},
    },
    domain::staff,
    platform::{
        config::Config,
        progress::{Progress, Unit},
    },
    store::AccountRole,
};

#[derive(Debug, Parser)]
#[command(name = "dinhdanh-server", version, about = "dinhdanh identity server")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct Global {
    /// Data directory: SQLite database, keys, development SMS log.
    #[arg(
        long,
        global = true,
        default_value = "./data",
        env = "DINHDANH_DATA_DIR"
    )]
    data_dir: PathBuf,
    /// Public URL (offers, metadata, WebAuthn origin). Default: http://localhost:<port>.
    #[arg(long, global = true, env = "DINHDANH_PUBLIC_URL")]
    public_url: Option<String>,
    /// Configuration file. Default: <data dir>/config.toml when present.
    #[arg(long, global = true, env = "DINHDANH_CONFIG")]
    config_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the portal (the default).
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Population registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Officer accounts.
    #[command(subcommand)]
    Officer(StaffCommand),
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(StaffCommand),
    /// Audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Credential offers.
    #[command(subcommand)]
    Offer(OfferCommand),
    /// Development shortcuts (only in a data directory made by the zero-config start).
    #[command(subcommand)]
    Dev(DevCommand),
    /// The relying-party registry: register a relying party (access certificate and
    /// registration), revoke one.
    #[command(subcommand)]
    Rp(RpCommand),
}

#[derive(Debug, Subcommand)]
enum RpCommand {
    /// Register a relying party (audited): certifies the key of its PKCS#10 request and mints
    /// its registration; prints `{"rp_id", "client_id", "certificate_chain", "registration"}`.
    Register {
        /// Legal name (shown to citizens; the certificate's CN and O).
        #[arg(long)]
        name: String,
        /// `telecom`, `bank`, `public_service` or `other`.
        #[arg(long)]
        kind: String,
        /// Its DNS name: the client id is `x509_san_dns:<dns>`.
        #[arg(long)]
        dns: String,
        /// Its PKCS#10 certificate signing request (PEM or DER), for a P-256 key of its own.
        #[arg(long)]
        csr: PathBuf,
        /// What it may ask for: `KIND:PATH[,PATH…]`, KIND a credential configuration id (`pid`,
        /// …), PATH a claim path written with `/` (`/given_name`, `/address/locality`).
        /// Repeatable.
        #[arg(long = "allow", required = true)]
        allow: Vec<String>,
        /// Why it asks (shown to citizens).
        #[arg(long)]
        purpose: Option<String>,
        /// Business registration number (the certificate's subject serialNumber).
        #[arg(long)]
        registration_number: Option<String>,
        /// Print the JSON object only (the default output is the same object, pretty-printed).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a relying party (audited): its certificate goes on the CRL and its registration
    /// is set invalid in the registrations' status list.
    Revoke {
        /// The `rp_id` that `rp register` printed.
        #[arg(long)]
        rp_id: String,
        /// Why (kept in the registry).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum OfferCommand {
    /// Make a credential offer for a level-2 citizen at a counter (audited): prints the
    /// `openid-credential-offer://` URI and its transaction code.
    Create {
        /// The citizen's ID number.
        #[arg(long)]
        id_number: String,
        /// The credential configuration (`pid`, `driving_licence`, `health_insurance`,
        /// `vehicle_registration`, `judicial_record`).
        #[arg(long)]
        config: String,
        /// Print exactly `{"offer_uri": "...", "tx_code": "..."}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Make a registry citizen a level-2 account as if enrolled and approved by an officer.
    Level2 {
        /// The citizen's ID number.
        #[arg(long)]
        id_number: String,
    },
    /// Issue a citizen signing certificate for a PKCS#10 request (PEM or DER), making the
    /// citizen a level-2 account first; prints the chain PEM, leaf first, without the agency
    /// root.
    SigningCert {
        /// The citizen's ID number.
        #[arg(long)]
        id_number: String,
        /// The certificate request file.
        #[arg(long)]
        csr: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Import citizens from NDJSON or CSV; all accepted rows commit together or none do.
    Import {
        /// The file (`.csv` is CSV, anything else NDJSON).
        file: PathBuf,
        /// Override the format the extension implies.
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        progress: ProgressArgs,
    },
    /// Generate synthetic citizens as NDJSON.
    Generate {
        /// How many.
        #[arg(long)]
        count: u64,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed (the same seed gives the same citizens).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write each citizen's synthetic documents (driving licence, ...) as document rows.
        #[arg(long)]
        documents: bool,
        #[command(flatten)]
        progress: ProgressArgs,
    },
}

#[derive(Debug, Args)]
struct ProgressArgs {
    /// Seconds between progress lines on stderr when it is not a terminal (a terminal shows a
    /// progress bar instead).
    #[arg(long, default_value_t = 10, env = "DINHDANH_PROGRESS_SECONDS")]
    progress_seconds: u64,
}

impl ProgressArgs {
    fn interval(&self) -> Duration {
        Duration::from_secs(self.progress_seconds.max(1))
    }
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Create the account and print its one-time passkey enrolment link.
    Add {
        /// The staff member's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every hash chain and the anchors; exit 1 if any entry was edited, deleted or
    /// reordered.
    Verify,
    /// Record the heads of all chains as a new anchor now (the server does it every minute).
    Anchor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DINHDANH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dinhdanh-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dinhdanh-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(global: &Global) -> anyhow::Result<Config> {
    setup::data_dir(&global.data_dir)?;
    let mut config = Config::load(
        global.config_file.as_deref(),
        &global.data_dir,
        std::env::vars(),
    )?;
    if global.public_url.is_some() {
        config.public_url.clone_from(&global.public_url);
    }
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    let config = load_config(global)?;
    let dir = &global.data_dir;
    match cli.command.unwrap_or(Command::Serve { listen: None }) {
        Command::Serve { listen } => serve(config, dir, listen).await?,
        Command::Migrate => {
            let store = dinhdanh_server::store::Store::connect(&config.database_url(dir)).await?;
            let applied = store.migrate().await?;
            println!("{}", serde_json::json!({ "applied": applied }));
        }
        Command::Registry(RegistryCommand::Import {
            file,
            format,
            progress,
        }) => {
            let store = setup::store(&config, dir).await?;
            let code = import_registry(&store, &config, &file, format, progress.interval()).await;
            store.close().await;
            return code;
        }
        Command::Registry(RegistryCommand::Generate {
            count,
            out,
            seed,
            documents,
            progress,
        }) => {
            let progress = Progress::start("generating", Unit::Rows, count, progress.interval());
            match out {
                Some(path) => {
                    let file =
                        std::fs::File::create(&path).with_context(|| path.display().to_string())?;
                    generate::write_ndjson_watched(
                        &mut std::io::BufWriter::new(file),
                        seed,
                        count,
                        documents,
                        &progress,
                    )?;
                }
                None => generate::write_ndjson_watched(
                    &mut std::io::BufWriter::new(std::io::stdout().lock()),
                    seed,
                    count,
                    documents,
                    &progress,
                )?,
            }
            progress.finish("done");
        }
        Command::Officer(StaffCommand::Add { name }) => {
            add_staff(config, dir, AccountRole::Officer, &name).await?
        }
        Command::Admin(StaffCommand::Add { name }) => {
            add_staff(config, dir, AccountRole::Admin, &name).await?
        }
        Command::Audit(AuditCommand::Anchor) => {
            let store = setup::store(&config, dir).await?;
            let anchor = store
                .anchor_audit(dinhdanh_server::platform::clock::now())
                .await?;
            let hash = anchor.map(|a| dinhdanh_server::store::hex(&a.hash));
            println!(
                "{}",
                serde_json::json!({ "anchored": hash.is_some(), "hash": hash })
            );
        }
        Command::Offer(OfferCommand::Create {
            id_number,
            config: configuration,
            json,
        }) => {
            let services = command_services(config, dir).await?;
            let Some(account) = services.store.account_by_id_number(&id_number).await? else {
                anyhow::bail!("no citizen account for this ID number");
            };
            let offer = dinhdanh_server::domain::issuance::create_offer(
                &services,
                &account.id,
                &[configuration],
                dinhdanh_server::domain::audit::OPERATOR,
                "counter",
            )
            .await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "offer_uri": offer.offer_uri, "tx_code": offer.tx_code })
                );
            } else {
                println!(
                    "credential offer (scan or open in the wallet):\n{}\ntransaction code: {}\nexpires: {}",
                    offer.offer_uri, offer.tx_code, offer.expires_at
                );
            }
        }
        Command::Dev(DevCommand::Level2 { id_number }) => {
            if !dinhdanh_server::domain::pki::is_development_data_dir(&config, dir) {
                anyhow::bail!(dinhdanh_server::app::dev::DevError::NotDevelopment);
            }
            let services = command_services(config, dir).await?;
            let account = dinhdanh_server::app::dev::level2(&services, &id_number).await?;
            println!("{}", serde_json::to_string_pretty(&account)?);
        }
        Command::Rp(RpCommand::Register {
            name,
            kind,
            dns,
            csr,
            allow,
            purpose,
            registration_number,
            json,
        }) => {
            let kind = dinhdanh_server::store::RelyingPartyKind::parse(&kind).ok_or_else(|| {
                anyhow::anyhow!("--kind {kind:?}: expected telecom, bank, public_service or other")
            })?;
            let csr = std::fs::read(&csr).with_context(|| csr.display().to_string())?;
            let services = command_services(config, dir).await?;
            let registered = dinhdanh_server::domain::rp::register(
                &services,
                &dinhdanh_server::domain::rp::RegisterRequest {
                    name,
                    kind,
                    dns,
                    csr,
                    allow,
                    purpose,
                    registration_number,
                },
                audit::OPERATOR,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string(&registered)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&registered)?);
            }
        }
        Command::Rp(RpCommand::Revoke { rp_id, reason }) => {
            let services = command_services(config, dir).await?;
            let party = dinhdanh_server::domain::rp::revoke(
                &services,
                &rp_id,
                reason.as_deref(),
                audit::OPERATOR,
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({
                    "rp_id": party.id,
                    "client_id": party.client_id,
                    "revoked_at": party.revoked_at,
                })
            );
        }
        Command::Dev(DevCommand::SigningCert { id_number, csr }) => {
            if !dinhdanh_server::domain::pki::is_development_data_dir(&config, dir) {
                anyhow::bail!(dinhdanh_server::app::dev::DevError::NotDevelopment);
            }
            let request =
                std::fs::read(&csr).map_err(|e| anyhow::anyhow!("{}: {e}", csr.display()))?;
            let services = command_services(config, dir).await?;
            let chain =
                dinhdanh_server::app::dev::signing_certificate(&services, &id_number, &request)
                    .await?;
            print!("{chain}");
        }
        Command::Audit(AuditCommand::Verify) => {
            let store = setup::store(&config, dir).await?;
            let report = audit::verify(&store).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.intact() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `registry import`: a progress display on stderr, the report on stdout. The first SIGINT or
/// SIGTERM stops the import before its commit (nothing written, exit 128 + the signal's number);
/// a second one exits at once, which like `kill -9` leaves the registry with all of the import
/// or none of it.
async fn import_registry(
    store: &dinhdanh_server::store::Store,
    config: &Config,
    file: &std::path::Path,
    format: Option<Format>,
    interval: Duration,
) -> anyhow::Result<ExitCode> {
    // An unreadable file is reported by the import itself.
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let progress = Progress::start("importing", Unit::Bytes, size, interval);
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU8::new(0));
    let signals = watch_signals(stop.clone(), received.clone(), progress.clone())?;
    let result =
        import::import_file_watched(store, &config.issuance, file, format, &progress, &stop).await;
    signals.abort();
    progress.finish(match &result {
        Ok(_) => "done",
        Err(import::ImportError::Interrupted) => "interrupted",
        Err(_) => "failed",
    });
    match result {
        Ok(report) => {
            if received.load(Ordering::Relaxed) != 0 {
                eprintln!(
                    "dinhdanh-server: the signal came after the import was committed: it is complete"
                );
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(import::ImportError::Interrupted) => {
            let signal = received.load(Ordering::Relaxed);
            eprintln!(
                "dinhdanh-server: importing {} interrupted by {}: nothing was imported, the registry is as it was",
                file.display(),
                if signal == SIGTERM {
                    "SIGTERM"
                } else {
                    "SIGINT"
                }
            );
            Ok(ExitCode::from(128 + signal))
        }
        Err(error) => Err(error).with_context(|| format!("importing {}", file.display())),
    }
}

const SIGINT: u8 = 2;
const SIGTERM: u8 = 15;

/// Listens for SIGINT and SIGTERM from now on (instead of their dying at once): the first sets
/// `stop` and records its number in `received`, a second exits.
#[cfg(unix)]
fn watch_signals(
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU8>,
    progress: Progress,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(tokio::spawn(async move {
        loop {
            let number = tokio::select! {
                Some(()) = interrupt.recv() => SIGINT,
                Some(()) = terminate.recv() => SIGTERM,
                else => return,
            };
            if received.swap(number, Ordering::Relaxed) == 0 {
                stop.store(true, Ordering::Relaxed);
                progress.note(
                    "dinhdanh-server: stopping the import, nothing will be committed (a second interrupt exits at once)",
                );
            } else {
                progress.note(
                    "dinhdanh-server: exiting at once: as after kill -9, the registry holds all of this import or none of it",
                );
                std::process::exit(128 + i32::from(number));
            }
        }
    }))
}

/// Elsewhere Ctrl-C alone, told as SIGINT.
#[cfg(not(unix))]
fn watch_signals(
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU8>,
    progress: Progress,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    Ok(tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if received.swap(SIGINT, Ordering::Relaxed) == 0 {
                stop.store(true, Ordering::Relaxed);
                progress.note("dinhdanh-server: stopping the import, nothing will be committed");
            } else {
                std::process::exit(128 + i32::from(SIGINT));
            }
        }
    }))
}

/// The services for an operator command: the public URL from the flag, the configuration, or
/// the configured listen port.
async fn command_services(
    config: Config,
    dir: &std::path::Path,
) -> anyhow::Result<dinhdanh_server::Services> {
    let store = setup::store(&config, dir).await?;
    let port = config
        .listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let public_url = config.public_url(port);
    Ok(setup::services(store, config, dir, public_url)?)
}

async fn add_staff(
    config: Config,
    dir: &std::path::Path,
    role: AccountRole,
    name: &str,
) -> anyhow::Result<()> {
    let services = command_services(config, dir).await?;
    let invitation = staff::add(&services, role, name).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "account_id": invitation.account.id,
            "role": role.as_str(),
            "enrolment_link": invitation.link,
            "expires_at": dinhdanh_server::platform::clock::rfc3339(invitation.expires_at),
        }))?
    );
    Ok(())
}

async fn serve(
    config: Config,
    dir: &std::path::Path,
    listen: Option<String>,
) -> anyhow::Result<()> {
    let listen = listen.unwrap_or_else(|| config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let address = listener.local_addr()?;
    let public_url = config.public_url(address.port());
    let store = setup::store(&config, dir).await?;
    let seeded = setup::seed_registry(&store, config.seed_citizens).await?;
    if seeded > 0 {
        tracing::info!(
            citizens = seeded,
            "seeded an empty registry with synthetic citizens"
        );
    }
    let demo = setup::demo_citizen(&store).await?;
    let serving = config.clone();
    let services = setup::services(store.clone(), config, dir, public_url.clone())?;
    let app = dinhdanh_server::router(services);

    let pruner = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                let now = dinhdanh_server::platform::clock::now();
                if let Err(error) = store.prune_expired(now).await {
                    tracing::warn!(%error, "pruning expired state failed");
                }
                // Several server processes may race for the same anchor number: one wins.
                match store.anchor_audit(now).await {
                    Err(error) if !error.is_unique_violation() => {
                        tracing::warn!(%error, "anchoring the audit log failed");
                    }
                    _ => {}
                }
            }
        })
    };

    tracing::info!(%address, %public_url, backend = ?store.backend(), "listening");
    println!("dinhdanh-server listening on http://{address} (public URL {public_url})");
    if let Some(c) = demo {
        println!(
            "demo citizen (synthetic): id_number {} · full_name {} · date_of_birth {} · registered phone {}; the code is written to {}",
            c.id_number,
            c.full_name,
            c.date_of_birth,
            c.phones
                .as_deref()
                .and_then(|p| p.split(' ').next())
                .map_or_else(String::new, national),
            dir.join("sms.log").display()
        );
    }
    dinhdanh_server::serve(listener, app, &serving, shutdown()).await?;
    pruner.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `+84912345678` as a citizen types it: `0912345678`.
fn national(e164: &str) -> String {
    e164.strip_prefix("+84")
        .map_or_else(|| e164.to_owned(), |rest| format!("0{rest}"))
}

/// Resolves on SIGTERM or Ctrl-C: new connections stop, in-flight requests finish.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
