//! Serving the router on a TCP listener: HTTP/1.1 with keep-alive, a deadline on request
//! headers, the peer's address for [`axum::extract::ConnectInfo`], and graceful shutdown.
//!
//! `axum::serve` cannot bound the time a client takes to send its headers, so a client that
//! trickles a byte a second would hold a connection (and a task) forever; the request timeout
//! only starts once the headers are in. This accept loop drives hyper's HTTP/1 connections
//! itself, with `header_read_timeout` set.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower::Service;

use crate::platform::config::Config;

/// Serves `router` on `listener` until `shutdown` resolves; then accepts no more connections,
/// closes idle ones and returns once in-flight requests have been answered.
///
/// A connection whose request headers are not complete within
/// `config.header_read_timeout_seconds` is closed. The same deadline bounds how long an idle
/// keep-alive connection is kept: it starts when the server waits for the next request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let timeout = Duration::from_secs(config.header_read_timeout_seconds);
    serve_with_header_timeout(listener, router, timeout, shutdown).await
}

/// As [`serve`], with the header deadline given (the verifier service has its own
/// configuration).
pub async fn serve_with_header_timeout(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    // hyper's HTTP/1 connection directly, not hyper-util's `auto` builder: `auto` first sniffs
    // for an HTTP/2 preface with no deadline (a silent client would never meet the header
    // timeout), and its graceful shutdown needs HTTP/2 compiled in.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let mut connections = router.into_make_service_with_connect_info::<SocketAddr>();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are written whole by hyper; Nagle would only delay their last segment.
        let _ = stream.set_nodelay(true);
        let service = match connections.call(peer).await {
            Ok(service) => service,
            Err(infallible) => match infallible {},
        };
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Closed by the client, timed out headers, malformed requests: the client's
                // business, not an operator's.
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: nothing for an error of the one connection (it is gone); a short
/// pause when the process is out of file descriptors or memory, so the loop does not spin while
/// other connections close.
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::warn!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
