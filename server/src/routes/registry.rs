//! Staff access to the population registry, and the admin's staff list. Every access is
//! audited; a citizen with an account sees staff views of their record in their history.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{ADMIN, Auth, STAFF},
};
use crate::{
    AppState, audit,
    error::{ApiError, Problem},
    registry::id_number,
    store::Citizen,
};

/// The audit subject for a citizen's record: their account if they have one (so they see it),
/// else a keyed pseudonym of the ID number.
async fn record_subject(state: &AppState, id_number: &str) -> Result<String, ApiError> {
    Ok(
        match state.services.store.account_by_id_number(id_number).await? {
            Some(account) => account.id,
            None => format!(
                "citizen:{}",
                state.services.key.pseudonym("citizen", id_number)
            ),
        },
    )
}

/// One citizen's registry record.
#[utoipa::path(get, path = "/v1/registry/citizens/{id_number}", tag = "registry", params(("id_number" = String, Path)),
    responses((status = 200, body = Citizen), (status = 400, body = Problem), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn citizen(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id): Path<String>,
) -> Result<Json<Citizen>, ApiError> {
    id_number::check_format(&id).map_err(|e| ApiError::bad_request("invalid-id-number", e))?;
    let citizen = state.services.store.citizen(&id).await?;
    let subject = record_subject(&state, &id).await?;
    let event = audit::event(
        &principal.account.id,
        "registry.viewed",
        &subject,
        json!({ "role": principal.role, "found": citizen.is_some() }),
    );
    state.services.store.append_audit(&event).await?;
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

/// Many registry records in one request.
#[utoipa::path(post, path = "/v1/registry/citizens/lookup", tag = "registry", request_body = Lookup,
    responses((status = 200, body = LookupResult), (status = 400, body = Problem)), security(("session" = [])))]
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
    let found = state.services.store.citizens(&body.id_numbers).await?;
    let event = audit::event(
        &principal.account.id,
        "registry.batch_lookup",
        &principal.account.id,
        json!({ "role": principal.role, "requested": body.id_numbers.len(), "found": found.len() }),
    );
    state.services.store.append_audit(&event).await?;
    let found_ids: std::collections::HashSet<&str> =
        found.iter().map(|c| c.id_number.as_str()).collect();
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
                created_at: crate::clock::rfc3339(a.created_at),
            })
            .collect(),
    ))
}
