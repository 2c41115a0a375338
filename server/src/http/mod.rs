//! The HTTP layer: routes (thin handlers), the portal, the session extractor, problem+json and
//! every mapping of a domain error to a response, OpenAPI, and the serve loop.

pub mod error;
pub mod portal;
pub mod routes;
mod serve;

use std::sync::Arc;

pub use serve::{serve, serve_with_header_timeout};

use crate::{domain::Services, platform::metrics};

/// The HTTP application's shared state.
pub type AppState = Arc<App>;

/// The HTTP application: the services plus the per-process request metrics.
#[derive(Debug)]
pub struct App {
    /// Domain services.
    pub services: Services,
    /// Request counters and latency histograms (per process, for `/metrics`).
    pub metrics: metrics::Metrics,
}

/// The whole HTTP surface (API, portal, well-known documents, health, metrics), for `serve` and
/// for in-process tests.
pub fn router(services: Services) -> axum::Router {
    routes::router(Arc::new(App {
        services,
        metrics: metrics::Metrics::default(),
    }))
}
