#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod audit;
pub mod clock;
pub mod config;
pub mod dev;
pub mod devices;
pub mod enrolment;
pub mod error;
pub mod http;
pub mod issuance;
pub mod kyc;
pub mod metrics;
pub mod net;
pub mod passkeys;
pub mod pki;
pub mod portal;
pub mod recovery;
pub mod registry;
pub mod routes;
pub mod secrets;
pub mod sessions;
pub mod setup;
pub mod sms;
pub mod staff;
pub mod status;
pub mod store;

use std::sync::Arc;

pub use http::serve;

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::{config::Config, secrets::ServerKey, sms::SmsGateway, store::Store};

/// What the domain modules work with: storage, keys, the SMS gateway, the WebAuthn relying
/// party and the configuration. No HTTP types: the same services back the API, the portal and
/// the operator commands.
pub struct Services {
    /// The database.
    pub store: Store,
    /// The server's HMAC key.
    pub key: ServerKey,
    /// Where one-time codes go.
    pub sms: Arc<dyn SmsGateway>,
    /// Configuration.
    pub config: Config,
    /// The public URL (no trailing slash).
    pub public_url: String,
    /// The WebAuthn relying party.
    pub webauthn: Webauthn,
    /// The issuing key and its certificates.
    pub issuer: pki::IssuerKeys,
    /// Status-list positions for new credential copies.
    pub status: status::Allocator,
    /// The CSCAs chip data must chain to (level 2).
    pub cscas: Vec<dinhdanh_sdk::x509::TrustAnchor>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("store", &self.store)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The WebAuthn relying party could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("WebAuthn configuration: {0}")]
pub struct RelyingPartyError(String);

impl Services {
    /// Assembles the services. The relying-party id defaults to the public URL's host; the
    /// public URL is always an allowed origin, plus `config.rp_origins`.
    pub fn new(
        store: Store,
        key: ServerKey,
        sms: Arc<dyn SmsGateway>,
        config: Config,
        public_url: String,
        issuer: pki::IssuerKeys,
        cscas: Vec<dinhdanh_sdk::x509::TrustAnchor>,
    ) -> Result<Self, RelyingPartyError> {
        let origin = Url::parse(&public_url).map_err(|e| RelyingPartyError(e.to_string()))?;
        let rp_id = match &config.rp_id {
            Some(id) => id.clone(),
            None => origin
                .host_str()
                .ok_or_else(|| RelyingPartyError("the public URL has no host".into()))?
                .to_owned(),
        };
        let mut builder = WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|e| RelyingPartyError(e.to_string()))?
            .rp_name("dinhdanh");
        let extra: Vec<Url> = config
            .rp_origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| RelyingPartyError(format!("{o}: {e}"))))
            .collect::<Result<_, _>>()?;
        for url in &extra {
            builder = builder.append_allowed_origin(url);
        }
        let webauthn = builder
            .build()
            .map_err(|e| RelyingPartyError(e.to_string()))?;
        let status = status::Allocator::new(config.issuance.status_list_size_log2);
        Ok(Self {
            store,
            key,
            sms,
            config,
            public_url,
            webauthn,
            issuer,
            status,
            cscas,
        })
    }
}

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
