//! A presentation in one QR code, for a counter without a network: the counter's [`Verifier`]
//! shows its request as a QR code (the request object inline, so the wallet needs no network),
//! the wallet answers with a QR code of its own ([`Wallet::respond_qr`], the SDK's compact form
//! `DD1:…` of one key-bound presentation), and the counter checks it offline
//! ([`Verifier::receive_qr`]), once, like an answer posted to it.

use std::sync::Arc;

use dinhdanh_sdk::openid4vp::{
    qr,
    response::{direct_post_body, vp_token},
};
use serde_json::Value;

use crate::{
    error::DinhdanhError,
    verifier::{VerifiedCredential, Verifier},
    wallet::{PendingPresentation, Wallet},
};

/// The one presentation of a `vp_token` (`{query: [presentation]}`).
fn single_presentation(token: &Value) -> Option<&str> {
    let object = token.as_object()?;
    let [list] = object.values().collect::<Vec<_>>()[..] else {
        return None;
    };
    match list.as_array()?.as_slice() {
        [Value::String(presentation)] => Some(presentation),
        _ => None,
    }
}

#[uniffi::export]
impl Wallet {
    /// Presents what the consent shows (the citizen approved) as the text of one QR code,
    /// instead of an answer to POST. A QR code carries one credential: a consent with more, or
    /// with none, is refused before anything is used or logged; an unregistered verifier is
    /// refused as by [`Wallet::respond`].
    pub fn respond_qr(
        &self,
        pending: Arc<PendingPresentation>,
        now: u64,
    ) -> Result<String, DinhdanhError> {
        let consent = pending.consent();
        let items = consent.items.len();
        if consent.registered && items != 1 {
            return Err(DinhdanhError::InvalidInput {
                reason: format!(
                    "an offline QR code carries one credential, the consent has {items}"
                ),
            });
        }
        // A QR code is read in the clear: a request that asks for an encrypted answer cannot
        // be answered this way, and nothing is used or logged for it.
        if pending.peek(|inner| inner.request.encryption.is_some())? {
            return Err(DinhdanhError::InvalidInput {
                reason: "the request asks for an encrypted answer, which a QR code cannot carry"
                    .into(),
            });
        }
        let pending = pending.take()?;
        let answer = self.with(|wallet| wallet.respond(&pending, now))?;
        let presentation = answer
            .vp_token
            .as_ref()
            .and_then(single_presentation)
            .ok_or_else(|| DinhdanhError::InvalidInput {
                reason: "the answer holds no single presentation".into(),
            })?;
        Ok(qr::encode(presentation)?)
    }
}

#[uniffi::export]
impl Verifier {
    /// Checks a wallet's QR answer (`DD1:…`) to the request this verifier showed (its `state`)
    /// for the credential query `query`: the credentials accepted. The request is taken once the
    /// answer verifies, as with [`Verifier::receive`]; the same typed failures apply.
    pub fn receive_qr(
        &self,
        qr_text: String,
        state: String,
        query: String,
        now: u64,
    ) -> Result<Vec<VerifiedCredential>, DinhdanhError> {
        let presentation = qr::decode(qr_text.trim())?;
        let body = direct_post_body(&vp_token(&[(query, presentation)]), Some(&state));
        self.receive(body, now)
    }
}
