//! Devices: the P-256 holder keys (public JWKs from the phone's keystore) that credentials are
//! bound to. A citizen registers, lists and revokes them.

use serde_json::json;

use crate::{
    Services,
    domain::audit,
    domain::consequences,
    platform::secrets,
    store::{Account, Device, StoreError},
};

/// Why a device operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The key is not a public P-256 JWK.
    #[error("invalid holder key: {0}")]
    Key(dinhdanh_sdk::jose::JoseError),
    /// The name is empty or longer than 100 characters.
    #[error("a device name is 1 to 100 characters")]
    Name,
    /// The key is already registered as an active device.
    #[error("this key is registered already")]
    Duplicate,
    /// No such active device on this account.
    #[error("no such device")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers a holder key for `account`.
pub async fn add(
    services: &Services,
    account: &Account,
    name: &str,
    jwk: &serde_json::Value,
) -> Result<Device, DeviceError> {
    let name = crate::domain::registry::names::canonical(name);
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DeviceError::Name);
    }
    let key = dinhdanh_sdk::jose::PublicKey::from_jwk(jwk).map_err(DeviceError::Key)?;
    let thumbprint = key.thumbprint();
    let device = Device {
        id: secrets::id(),
        account_id: account.id.clone(),
        name,
        holder_jwk: key.to_jwk().to_string(),
        thumbprint,
        created_at: crate::platform::clock::now(),
        revoked_at: None,
    };
    let event = audit::event(
        &account.id,
        "device.added",
        &account.id,
        json!({ "device": device.id, "thumbprint": device.thumbprint }),
    );
    services
        .store
        .insert_device(&device, &event)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                // The unique index on active thumbprints: the key is some account's active device.
                DeviceError::Duplicate
            } else {
                e.into()
            }
        })?;
    Ok(device)
}

/// Revokes one of the account's devices.
pub async fn revoke(
    services: &Services,
    account: &Account,
    device_id: &str,
) -> Result<(), DeviceError> {
    let event = audit::event(
        &account.id,
        "device.revoked",
        &account.id,
        json!({ "device": device_id }),
    );
    if services
        .store
        .revoke_device(
            &account.id,
            device_id,
            event.at,
            &consequences::device_revoked(device_id, event.clone()),
        )
        .await?
    {
        Ok(())
    } else {
        Err(DeviceError::NotFound)
    }
}
