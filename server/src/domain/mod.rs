//! The domain: what the server decides (enrolment, recovery, passkeys, sessions, devices, staff,
//! level 2, issuance and lifecycle, the registry, audit, status lists, issuing keys). No axum
//! types and no SQL: the domain reads and writes through the store's repository API, and the
//! same functions back the API, the portal and the operator commands.

pub mod audit;
pub mod ca;
pub mod consequences;
pub mod devices;
pub mod enrolment;
pub mod issuance;
pub mod kyc;
pub mod passkeys;
pub mod pki;
pub mod recovery;
pub mod registry;
pub mod rp;
pub mod sessions;
pub mod staff;
pub mod status;

use std::sync::Arc;

use webauthn_rs::prelude::Webauthn;

use crate::{
    platform::config::Config, platform::secrets::ServerKey, platform::sms::SmsGateway, store::Store,
};

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
    /// The citizen signing CA, its OCSP responder and the time-stamp authority.
    pub signing: ca::SigningAuthority,
    /// Status-list positions for new credential copies.
    pub status: status::Allocator,
    /// The CSCAs chip data must chain to (level 2).
    pub cscas: Vec<dinhdanh_sdk::x509::TrustAnchor>,
    /// The relying-party CA and the registrar.
    pub rp: rp::ca::RpAuthority,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("store", &self.store)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}
