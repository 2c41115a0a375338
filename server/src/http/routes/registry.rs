//! Staff access to the population registry, and the admin's staff list. Every access is
//! audited; a citizen with an account sees staff views of their record in their history.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{ADMIN, Auth, STAFF},
};
use crate::{
    domain::{
        registry::lookup::{self, CitizenRecord},
        staff,
    },
    http::{
        AppState,
        error::{ApiError, Problem},
    },
};

/// One citizen's registry record.
#[utoipa::path(get, path = "/v1/registry/citizens/{id_number}", tag = "registry", params(("id_number" = String, Path)),
    responses((status = 200, body = CitizenRecord), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)), security(("session" = [])))]
pub(super) async fn citizen(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id): Path<String>,
) -> Result<Json<CitizenRecord>, ApiError> {
    Ok(Json(lookup::one(&state.services, &principal, &id).await?))
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
    pub citizens: Vec<CitizenRecord>,
    /// ID numbers with no record.
    pub not_found: Vec<String>,
}

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
    let (citizens, not_found) = lookup::many(&state.services, &principal, &body.id_numbers).await?;
    Ok(Json(LookupResult {
        citizens,
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
    let staff = staff::list(&state.services, &admin).await?;
    Ok(Json(
        staff
            .into_iter()
            .map(|a| StaffView {
                account_id: a.id,
                role: a.role.as_str().to_owned(),
                display_name: a.display_name,
                created_at: crate::platform::clock::rfc3339(a.created_at),
            })
            .collect(),
    ))
}
