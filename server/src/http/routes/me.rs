//! The signed-in account: profile, passkeys, devices, history.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{Auth, CITIZEN, SIGNED_IN},
};
use crate::{
    domain::devices,
    domain::passkeys,
    http::AppState,
    http::error::{ApiError, Problem},
    store::{AuditEntry, Device, StoredPasskey},
};

/// The account as its holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Account id.
    pub account_id: String,
    /// `citizen`, `officer` or `admin`.
    pub role: String,
    /// Name.
    pub display_name: String,
    /// 1 or 2.
    pub assurance_level: i64,
    /// The citizen's ID number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// The phone codes go to, all but the last three digits hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// The signed-in account.
#[utoipa::path(get, path = "/v1/me", tag = "account", responses((status = 200, body = AccountView), (status = 401, body = Problem)),
    security(("session" = [])))]
pub(super) async fn account(Auth(principal): Auth<SIGNED_IN>) -> Json<AccountView> {
    let a = principal.account;
    Json(AccountView {
        account_id: a.id,
        role: a.role.as_str().to_owned(),
        display_name: a.display_name,
        assurance_level: a.assurance_level.as_i64(),
        id_number: a.id_number,
        phone: a.phone.as_deref().map(crate::platform::sms::masked),
        created_at: crate::platform::clock::rfc3339(a.created_at),
    })
}

/// A passkey as its holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    /// Passkey id.
    pub id: String,
    /// Label.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Last signature counter.
    pub sign_count: i64,
    /// May be synced to other devices.
    pub backup_eligible: bool,
    /// Is synced.
    pub backup_state: bool,
    /// RFC 3339, when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: crate::platform::clock::rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(crate::platform::clock::rfc3339),
            sign_count: p.sign_count,
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
            revoked_at: p.revoked_at.map(crate::platform::clock::rfc3339),
        }
    }
}

/// The account's passkeys, revoked ones included.
#[utoipa::path(get, path = "/v1/me/passkeys", tag = "account", responses((status = 200, body = [PasskeyView])),
    security(("session" = [])))]
pub(super) async fn passkeys(
    State(state): State<AppState>,
    Auth(principal): Auth<SIGNED_IN>,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    let stored = state.services.store.passkeys(&principal.account.id).await?;
    Ok(Json(stored.iter().map(PasskeyView::from).collect()))
}

/// Revokes a passkey (not the last one).
#[utoipa::path(delete, path = "/v1/me/passkeys/{passkey_id}", tag = "account", params(("passkey_id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("session" = [])))]
pub(super) async fn revoke_passkey(
    State(state): State<AppState>,
    Auth(principal): Auth<SIGNED_IN>,
    Path(passkey_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    passkeys::revoke(&state.services, &principal.account, &passkey_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device holder key.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// Device id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The public P-256 JWK.
    #[schema(value_type = Object)]
    pub holder_key: serde_json::Value,
    /// RFC 7638 thumbprint of the key.
    pub thumbprint: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<&Device> for DeviceView {
    fn from(d: &Device) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            holder_key: serde_json::from_str(&d.holder_jwk).unwrap_or(serde_json::Value::Null),
            thumbprint: d.thumbprint.clone(),
            created_at: crate::platform::clock::rfc3339(d.created_at),
            revoked_at: d.revoked_at.map(crate::platform::clock::rfc3339),
        }
    }
}

/// The citizen's devices, revoked ones included.
#[utoipa::path(get, path = "/v1/me/devices", tag = "account", responses((status = 200, body = [DeviceView])),
    security(("session" = [])))]
pub(super) async fn devices(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let stored = state.services.store.devices(&principal.account.id).await?;
    Ok(Json(stored.iter().map(DeviceView::from).collect()))
}

/// A device to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// Label, 1 to 100 characters.
    pub name: String,
    /// The device's public P-256 JWK (no `d`).
    #[schema(value_type = Object)]
    pub holder_key: serde_json::Value,
}

/// Registers a device holder key.
#[utoipa::path(post, path = "/v1/me/devices", tag = "account", request_body = AddDevice,
    responses((status = 201, body = DeviceView), (status = 400, body = Problem), (status = 409, body = Problem)), security(("session" = [])))]
pub(super) async fn add_device(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Json(body): Json<AddDevice>,
) -> Result<Response, ApiError> {
    let device = devices::add(
        &state.services,
        &principal.account,
        &body.name,
        &body.holder_key,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(DeviceView::from(&device))).into_response())
}

/// Revokes a device.
#[utoipa::path(delete, path = "/v1/me/devices/{device_id}", tag = "account", params(("device_id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn revoke_device(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Path(device_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    devices::revoke(&state.services, &principal.account, &device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One event of the account's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// RFC 3339.
    pub at: String,
    /// What happened, e.g. `passkey.added`, `registry.viewed`.
    pub action: String,
    /// `self` when the account holder acted, `staff` for an officer or administrator,
    /// `anonymous` or `operator` otherwise.
    pub actor: String,
    /// Event detail.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The account's security history, newest first (at most 500 events).
#[utoipa::path(get, path = "/v1/me/history", tag = "account", responses((status = 200, body = [HistoryEntry])),
    security(("session" = [])))]
pub(super) async fn history(
    State(state): State<AppState>,
    Auth(principal): Auth<SIGNED_IN>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let entries = state
        .services
        .store
        .history(&principal.account.id, 500)
        .await?;
    Ok(Json(
        entries
            .iter()
            .map(|e| history_entry(e, &principal.account.id))
            .collect(),
    ))
}

fn history_entry(entry: &AuditEntry, me: &str) -> HistoryEntry {
    let actor = crate::domain::audit::actor_relation(&entry.actor, me);
    HistoryEntry {
        at: crate::platform::clock::rfc3339(entry.at),
        action: entry.action.clone(),
        actor: actor.to_owned(),
        detail: serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null),
    }
}
