//! Staff access to the population registry, and the admin's staff list. Every access is
//! audited; a citizen with an account sees staff views of their record in their history.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{ADMIN, Auth, STAFF},
};
use crate::{
    domain::audit,
    domain::registry::id_number,
    domain::sessions::Principal,
    http::AppState,
    http::error::{ApiError, Problem},
    store::{AuditEvent, Citizen},
};

/// The audit subject for a citizen's record: their account if they have one (so they see it),
/// else a keyed pseudonym of the ID number.
fn record_subject(state: &AppState, id_number: &str, account_id: Option<String>) -> String {
    account_id.unwrap_or_else(|| {
        format!(
            "citizen:{}",
            state.services.key.pseudonym("citizen", id_number)
        )
    })
}

/// The entry a staff member's view of one citizen's record leaves in that citizen's history
/// (single and bulk look-ups alike).
fn viewed(
    state: &AppState,
    principal: &Principal,
    id_number: &str,
    account_id: Option<String>,
    found: bool,
    lookup: &str,
) -> AuditEvent {
    audit::event(
        &principal.account.id,
        "registry.viewed",
        &record_subject(state, id_number, account_id),
        json!({ "role": principal.role, "found": found, "lookup": lookup }),
    )
}

/// Takes `records` from the staff member's allowance of registry records for the window, or
/// refuses the look-up (429 with `Retry-After`): bulk reading of the registry is bounded per
/// person, not only per request.
async fn take_allowance(
    state: &AppState,
    principal: &Principal,
    records: usize,
) -> Result<(), ApiError> {
    let limits = &state.services.config.registry;
    let now = crate::platform::clock::now();
    let window = limits.window_seconds;
    let retry_after = window - now.rem_euclid(window);
    let over = || {
        ApiError::rate_limited(
            retry_after,
            format!(
                "at most {} registry records per {} seconds",
                limits.records_per_window, window
            ),
        )
    };
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    if records > limits.records_per_window {
        return Err(over());
    }
    let key = format!("registry-records:{}", principal.account.id);
    match state
        .services
        .store
        .take_allowance(&key, now, window, records, limits.records_per_window)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(over()),
    }
}

/// One citizen's registry record.
#[utoipa::path(get, path = "/v1/registry/citizens/{id_number}", tag = "registry", params(("id_number" = String, Path)),
    responses((status = 200, body = Citizen), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)), security(("session" = [])))]
pub(super) async fn citizen(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id): Path<String>,
) -> Result<Json<Citizen>, ApiError> {
    id_number::check_format(&id).map_err(|e| ApiError::bad_request("invalid-id-number", e))?;
    take_allowance(&state, &principal, 1).await?;
    let store = &state.services.store;
    let citizen = store.citizen(&id).await?;
    let account = store.account_by_id_number(&id).await?.map(|a| a.id);
    let event = viewed(
        &state,
        &principal,
        &id,
        account,
        citizen.is_some(),
        "single",
    );
    store.append_audit(&event).await?;
    let citizen = citizen
        .ok_or_else(|| ApiError::not_found(Some("no citizen with this ID number".to_owned())))?;
    Ok(Json(citizen))
}

/// ID numbers to look up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// 1 to 1,000 ID numbers.
    pub id_numbers: Vec<String>,
}

/// The records found, and the ID numbers not found.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResult {
    /// Found records.
    pub citizens: Vec<Citizen>,
    /// ID numbers with no record.
    pub not_found: Vec<String>,
}

/// Largest batch.
const MAX_LOOKUP: usize = 1_000;

/// Many registry records in one request. Each citizen looked up gets the same history entry a
/// single look-up leaves (written in one transaction), and the records count against the staff
/// member's allowance.
#[utoipa::path(post, path = "/v1/registry/citizens/lookup", tag = "registry", request_body = Lookup,
    responses((status = 200, body = LookupResult), (status = 400, body = Problem), (status = 429, body = Problem)),
    security(("session" = [])))]
pub(super) async fn lookup(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Json(body): Json<Lookup>,
) -> Result<Json<LookupResult>, ApiError> {
    if body.id_numbers.is_empty() || body.id_numbers.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request(
            "invalid-lookup",
            format!("1 to {MAX_LOOKUP} ID numbers"),
        ));
    }
    for id in &body.id_numbers {
        id_number::check_format(id)
            .map_err(|e| ApiError::bad_request("invalid-id-number", format!("{id}: {e}")))?;
    }
    let mut ids = body.id_numbers.clone();
    ids.sort_unstable();
    ids.dedup();
    take_allowance(&state, &principal, ids.len()).await?;
    let store = &state.services.store;
    let found = store.citizens(&ids).await?;
    let mut accounts: HashMap<String, String> = store
        .account_ids_by_id_numbers(&ids)
        .await?
        .into_iter()
        .collect();
    let found_ids: HashSet<&str> = found.iter().map(|c| c.id_number.as_str()).collect();
    let events: Vec<AuditEvent> = ids
        .iter()
        .map(|id| {
            let found = found_ids.contains(id.as_str());
            viewed(&state, &principal, id, accounts.remove(id), found, "batch")
        })
        .collect();
    store.append_audit_batch(&events).await?;
    let not_found = body
        .id_numbers
        .iter()
        .filter(|id| !found_ids.contains(id.as_str()))
        .cloned()
        .collect();
    Ok(Json(LookupResult {
        citizens: found,
        not_found,
    }))
}

/// A staff account.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    /// Account id.
    pub account_id: String,
    /// `officer` or `admin`.
    pub role: String,
    /// Name.
    pub display_name: String,
    /// RFC 3339.
    pub created_at: String,
}

/// The staff accounts.
#[utoipa::path(get, path = "/v1/admin/staff", tag = "admin", responses((status = 200, body = [StaffView])), security(("session" = [])))]
pub(super) async fn staff(
    State(state): State<AppState>,
    Auth(admin): Auth<ADMIN>,
) -> Result<Json<Vec<StaffView>>, ApiError> {
    let staff = state.services.store.staff().await?;
    let event = audit::event(
        &admin.account.id,
        "admin.staff_listed",
        &admin.account.id,
        json!({ "role": admin.role }),
    );
    state.services.store.append_audit(&event).await?;
    Ok(Json(
        staff
            .into_iter()
            .map(|a| StaffView {
                account_id: a.id,
                role: a.role,
                display_name: a.display_name,
                created_at: crate::platform::clock::rfc3339(a.created_at),
            })
            .collect(),
    ))
}
