//! The assembly of the services from the configuration.

use std::sync::Arc;

use webauthn_rs::prelude::{Url, WebauthnBuilder};

use crate::{
    domain::{Services, pki, status},
    platform::{config::Config, secrets::ServerKey, sms::SmsGateway},
    store::Store,
};

/// The WebAuthn relying party could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("WebAuthn configuration: {0}")]
pub struct RelyingPartyError(String);

impl Services {
    /// Assembles the services. The relying-party id defaults to the public URL's host; the
    /// public URL is always an allowed origin, plus `config.rp_origins`.
    // One argument per service: the wiring is read in one place (`setup::services`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        key: ServerKey,
        sms: Arc<dyn SmsGateway>,
        config: Config,
        public_url: String,
        issuer: pki::IssuerKeys,
        signing: crate::domain::ca::SigningAuthority,
        cscas: Vec<dinhdanh_sdk::x509::TrustAnchor>,
        rp: crate::domain::rp::ca::RpAuthority,
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
            signing,
            status,
            cscas,
            rp,
        })
    }
}
