//! `dinhdanh-verifier`: the OpenID4VP verifier service for relying-party backends.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dinhdanh_server::verifier::{self, config::VerifierConfig};

#[derive(Debug, Parser)]
#[command(
    name = "dinhdanh-verifier",
    version,
    about = "OpenID4VP verifier service for relying-party backends"
)]
struct Cli {
    /// Data directory: the default SQLite database and the trust cache.
    #[arg(
        long,
        default_value = "./verifier-data",
        env = "DINHDANH_VERIFIER_DATA_DIR"
    )]
    data_dir: PathBuf,
    /// Configuration file. Default: <data dir>/verifier.toml when present.
    #[arg(long, env = "DINHDANH_VERIFIER_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the configuration); port 0 picks a free port.
    #[arg(long)]
    listen: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DINHDANH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = VerifierConfig::load(cli.config.as_deref(), &cli.data_dir, std::env::vars())
        .context("configuration")?;
    if let Some(listen) = cli.listen {
        config.listen = listen;
    }
    let app = verifier::build(&config, &cli.data_dir).await?;
    verifier::spawn_pruning(app.clone(), config.result_ttl_seconds);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!(
        "dinhdanh-verifier listening on http://{address} (public URL {})",
        config.base_url()
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let shutdown = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = shutdown => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => shutdown.await,
        }
    };
    dinhdanh_server::http::serve_with_header_timeout(
        listener,
        verifier::http::router(app),
        std::time::Duration::from_secs(config.header_read_timeout_seconds),
        shutdown,
    )
    .await?;
    Ok(())
}
