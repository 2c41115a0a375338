//! The citizen's [`Wallet`], and the [`PendingPresentation`] it makes of a request: over the
//! SDK's wallet facade (`holder::Wallet`), which this object holds for as long as the app runs.

use std::sync::{Arc, Mutex};

use dinhdanh_sdk::{
    holder::{self, WalletError},
    openid4vci::client as oid4vci,
};

use crate::{
    anchors,
    error::DinhdanhError,
    platform::{HostKeys, HostTransport, KeyStore, Transport},
    trust::TrustBundleSummary,
};

/// A credential in the wallet.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CredentialSummary {
    /// The wallet's id for it.
    pub id: String,
    /// Its type (`vct`).
    pub vct: String,
    /// Its issuer.
    pub issuer: String,
    /// The OpenID4VCI configuration it was issued under.
    pub configuration_id: Option<String>,
    /// Issued at, Unix seconds.
    pub issued_at: u64,
    /// Expiry, Unix seconds.
    pub expires_at: Option<u64>,
    /// Copies never presented (0: refresh it).
    pub unused_copies: u32,
    /// All copies.
    pub copies: u32,
}

/// One credential of a consent.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConsentItem {
    /// The verifier's credential query.
    pub query: String,
    /// The credential that answers it.
    pub credential_id: String,
    /// Its type.
    pub vct: String,
    /// Claims to disclose (JSON Pointers).
    pub claims: Vec<String>,
    /// Claims asked for beyond the verifier's registration: refused.
    pub refused: Vec<String>,
}

/// What the citizen is asked to approve.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Consent {
    /// The verifier's client identifier.
    pub verifier: String,
    /// Its registered name, else its certificate's subject.
    pub verifier_name: String,
    /// Whether it is registered with the agency.
    pub registered: bool,
    /// Its registered purpose.
    pub purpose: Option<String>,
    /// Per credential to present. Empty: nothing can be presented, and responding tells the
    /// verifier `access_denied`.
    pub items: Vec<ConsentItem>,
    /// Credentials asked for but withheld whole, with the refused claims they would need.
    pub withheld: Vec<ConsentItem>,
}

/// The wallet's answer, for the host to POST.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PresentationAnswer {
    /// Where to POST it.
    pub response_uri: String,
    /// The `application/x-www-form-urlencoded` body.
    pub body: String,
}

/// An entry of the presentation log.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PresentationLogEntry {
    /// When, Unix seconds.
    pub at: u64,
    /// The verifier's client identifier.
    pub verifier: String,
    /// Its name.
    pub verifier_name: Option<String>,
    /// Its purpose.
    pub purpose: Option<String>,
    /// The credential presented.
    pub credential_id: String,
    /// The claims disclosed.
    pub claims: Vec<String>,
}

/// A presentation request checked and evaluated, waiting for consent. It is answered once:
/// [`Wallet::respond`], [`Wallet::respond_qr`] or [`Wallet::decline`] take it, and a second
/// answer is refused (each answer would use a copy and disclose again).
#[derive(uniffi::Object)]
pub struct PendingPresentation {
    consent: Consent,
    inner: Mutex<Option<holder::PendingPresentation>>,
}

impl PendingPresentation {
    fn new(inner: holder::PendingPresentation) -> Self {
        let consent = &inner.consent;
        let item = |item: &dinhdanh_sdk::openid4vp::request::ConsentItem| ConsentItem {
            query: item.query.clone(),
            credential_id: inner
                .credential_id(item.candidate)
                .unwrap_or_default()
                .to_owned(),
            vct: item.vct.clone(),
            claims: item.claims.iter().map(ToString::to_string).collect(),
            refused: item.refused.iter().map(ToString::to_string).collect(),
        };
        let consent = Consent {
            verifier: consent.verifier.clone(),
            verifier_name: consent.verifier_name.clone(),
            registered: consent.registered,
            purpose: consent.purpose.clone(),
            items: consent.credentials.iter().map(item).collect(),
            withheld: consent.withheld.iter().map(item).collect(),
        };
        Self {
            consent,
            inner: Mutex::new(Some(inner)),
        }
    }

    /// Reads the request while it is still unanswered.
    pub(crate) fn peek<T>(
        &self,
        f: impl FnOnce(&holder::PendingPresentation) -> T,
    ) -> Result<T, DinhdanhError> {
        let inner = self.inner.lock().map_err(|_| answered())?;
        inner.as_ref().map(f).ok_or_else(answered)
    }

    /// Takes the request for its one answer.
    pub(crate) fn take(&self) -> Result<holder::PendingPresentation, DinhdanhError> {
        let mut inner = self.inner.lock().map_err(|_| answered())?;
        inner.take().ok_or_else(answered)
    }
}

fn answered() -> DinhdanhError {
    DinhdanhError::InvalidInput {
        reason: "this presentation request was already answered".into(),
    }
}

#[uniffi::export]
impl PendingPresentation {
    /// What to show the citizen.
    pub fn consent(&self) -> Consent {
        self.consent.clone()
    }
}

/// The citizen's wallet: credentials encrypted at rest, keys in the platform keystore.
#[derive(uniffi::Object)]
pub struct Wallet {
    // The SDK's wallet takes `&mut self` to change the store; the host may call from any thread.
    inner: Mutex<holder::Wallet>,
}

impl Wallet {
    /// Runs `f` on the SDK's wallet.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut holder::Wallet) -> Result<T, WalletError>,
    ) -> Result<T, DinhdanhError> {
        let mut wallet = self.inner.lock().map_err(|_| DinhdanhError::Storage {
            reason: "the wallet is poisoned by an earlier failure".into(),
        })?;
        Ok(f(&mut wallet)?)
    }
}

#[uniffi::export]
impl Wallet {
    /// Opens (or creates) the wallet file at `path`, its data key wrapped by the keystore key
    /// `wrapping_alias`, trusting credentials chained to `issuer_anchors_pem` and requests from
    /// verifiers chained to `verifier_anchors_pem` (the agency's roots, PEM).
    #[uniffi::constructor]
    pub fn open(
        path: String,
        keystore: Arc<dyn KeyStore>,
        wrapping_alias: String,
        issuer_anchors_pem: String,
        verifier_anchors_pem: String,
    ) -> Result<Arc<Self>, DinhdanhError> {
        let issuer_anchors = anchors(&issuer_anchors_pem)?;
        let verifier_anchors = anchors(&verifier_anchors_pem)?;
        let wallet = holder::Wallet::open(
            std::path::Path::new(&path),
            Arc::new(HostKeys(keystore)),
            &wrapping_alias,
            issuer_anchors,
            verifier_anchors,
        )?;
        Ok(Arc::new(Self {
            inner: Mutex::new(wallet),
        }))
    }

    /// The credentials held, oldest first.
    pub fn credentials(&self) -> Result<Vec<CredentialSummary>, DinhdanhError> {
        self.with(|wallet| {
            wallet
                .credentials()?
                .into_iter()
                .map(|info| {
                    let (unused, total) = wallet.copies_left(&info.id)?;
                    Ok(CredentialSummary {
                        id: info.id,
                        vct: info.vct,
                        issuer: info.issuer,
                        configuration_id: info.configuration_id,
                        issued_at: info.issued_at,
                        expires_at: info.expires_at,
                        unused_copies: unused,
                        copies: total,
                    })
                })
                .collect()
        })
    }

    /// Receives the credentials of an `openid-credential-offer://` URI (with the transaction
    /// code the citizen typed): `copies` of each, each bound to a new keystore key. Returns the
    /// ids of the credentials stored.
    pub fn receive_offer(
        &self,
        transport: Arc<dyn Transport>,
        offer_uri: String,
        tx_code: Option<String>,
        copies: u32,
        now: u64,
    ) -> Result<Vec<String>, DinhdanhError> {
        let transport = HostTransport(transport);
        self.with(|wallet| {
            Ok(wallet
                .receive_offer(&transport, &offer_uri, tx_code.as_deref(), copies, now)?
                .into_iter()
                .map(|info| info.id)
                .collect())
        })
    }

    /// Checks a presentation request (`openid4vp://…`; `request_uri` fetched through
    /// `transport`) and evaluates it against the wallet: the consent to show.
    pub fn prepare_presentation(
        &self,
        uri: String,
        transport: Option<Arc<dyn Transport>>,
        now: u64,
    ) -> Result<Arc<PendingPresentation>, DinhdanhError> {
        let transport = transport.map(HostTransport);
        self.with(|wallet| {
            let inner = wallet.prepare_presentation(
                &uri,
                transport.as_ref().map(|t| t as &dyn oid4vci::Transport),
                now,
            )?;
            Ok(Arc::new(PendingPresentation::new(inner)))
        })
    }

    /// Presents what the consent shows (the citizen approved): the body to POST.
    pub fn respond(
        &self,
        pending: Arc<PendingPresentation>,
        now: u64,
    ) -> Result<PresentationAnswer, DinhdanhError> {
        let pending = pending.take()?;
        self.with(|wallet| {
            let response = wallet.respond(&pending, now)?;
            Ok(PresentationAnswer {
                response_uri: response.response_uri,
                body: response.body,
            })
        })
    }

    /// Declines (the citizen said no): the `access_denied` answer to POST.
    pub fn decline(
        &self,
        pending: Arc<PendingPresentation>,
    ) -> Result<PresentationAnswer, DinhdanhError> {
        let pending = pending.take()?;
        self.with(|wallet| {
            let response = wallet.decline(&pending)?;
            Ok(PresentationAnswer {
                response_uri: response.response_uri,
                body: response.body,
            })
        })
    }

    /// The presentation log, oldest first.
    pub fn presentations(&self) -> Result<Vec<PresentationLogEntry>, DinhdanhError> {
        self.with(|wallet| {
            Ok(wallet
                .presentations()?
                .into_iter()
                .map(|p| PresentationLogEntry {
                    at: p.at,
                    verifier: p.verifier,
                    verifier_name: p.verifier_name,
                    purpose: p.purpose,
                    credential_id: p.credential_id,
                    claims: p.claims,
                })
                .collect())
        })
    }

    /// Deletes a credential and its keys.
    pub fn remove(&self, id: String) -> Result<(), DinhdanhError> {
        self.with(|wallet| wallet.remove(&id))
    }

    /// Takes the wallet's trust from the agency's trust bundle (from `/trust/bundle`), verified
    /// against the agency roots the app pins (PEM): issuer and relying-party roots, and the
    /// maximum ages a request is answered within. An older bundle than the one held is refused.
    pub fn apply_trust_bundle(
        &self,
        jwt: String,
        agency_roots_pem: String,
        now: u64,
    ) -> Result<TrustBundleSummary, DinhdanhError> {
        let roots = anchors(&agency_roots_pem)?;
        self.with(|wallet| {
            let bundle = wallet.apply_trust_bundle(&jwt, &roots, now)?;
            Ok(TrustBundleSummary::from(&bundle))
        })
    }

    /// Hands in the relying parties' status list fetched at the bundle's
    /// `rp_status_list_url`: a revoked relying party is then refused (`RevokedVerifier`).
    pub fn refresh_rp_status_list(&self, token: String, now: u64) -> Result<(), DinhdanhError> {
        self.with(|wallet| wallet.refresh_rp_status_list(&token, now))
    }
}
