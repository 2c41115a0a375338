//! The agency's side of a relying party's registration.

use dinhdanh_sdk::{
    jose::Es256KeyPair,
    openid4vp::request::{RegisteredCredential, Registration},
    x509,
};

use crate::error::{DinhdanhError, invalid};

/// The agency's side of a registration: signs what a relying party may ask for (the server's
/// relying-party registry does this; exposed for tools and tests).
#[allow(clippy::too_many_arguments)]
#[uniffi::export]
pub fn sign_registration(
    agency_key_jwk: String,
    agency_chain_pem: String,
    client_id: String,
    name: String,
    purpose: String,
    vct: String,
    claims: Vec<String>,
    iat: u64,
    exp: u64,
) -> Result<String, DinhdanhError> {
    let jwk: serde_json::Value = serde_json::from_str(&agency_key_jwk).map_err(invalid)?;
    let key = Es256KeyPair::from_jwk(&jwk).map_err(invalid)?;
    let chain = x509::pem_to_der_chain(&agency_chain_pem).map_err(invalid)?;
    Ok(Registration {
        iss: "dinhdanh relying-party registry".into(),
        sub: client_id,
        name,
        purpose,
        credentials: vec![RegisteredCredential { vct, claims }],
        iat,
        exp,
    }
    .sign(&key, &chain)?)
}
