//! Staff reads of the registry: each record read leaves an entry in that citizen's history (a
//! bulk look-up appends them in one transaction) and takes from the staff member's allowance of
//! records per window, so that reading the registry in bulk is bounded per person.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::json;

use super::id_number;
use crate::{
    Services,
    domain::{audit, sessions::Principal},
    store::{AuditEvent, Citizen, StoreError},
};

/// Most ID numbers in one bulk look-up.
pub const MAX_LOOKUP: usize = 1_000;

/// Why a look-up was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// An ID number is malformed.
    #[error("{0}")]
    IdNumber(String),
    /// The list of ID numbers is empty or too long.
    #[error("1 to {MAX_LOOKUP} ID numbers")]
    Size,
    /// The staff member's allowance for the window is used up.
    #[error("at most {limit} registry records per {window} seconds")]
    Allowance {
        /// Records per window.
        limit: i64,
        /// The window, seconds.
        window: i64,
        /// Seconds until the next window.
        retry_after: i64,
    },
    /// No citizen has this ID number.
    #[error("no citizen with this ID number")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A citizen's registry record as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Citizen)]
pub struct CitizenRecord {
    /// The 12-digit ID number.
    pub id_number: String,
    /// Full name, UTF-8 NFC.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `male` or `female`.
    pub sex: String,
    /// Place of origin (quê quán).
    pub place_of_origin: String,
    /// Place of residence (nơi thường trú).
    pub place_of_residence: String,
    /// `living` or `deceased`.
    pub status: String,
    /// The mobile numbers registered to the citizen (E.164): where enrolment and recovery codes
    /// may go.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<String>)]
    pub phones: Option<Vec<String>>,
}

impl From<Citizen> for CitizenRecord {
    fn from(citizen: Citizen) -> Self {
        Self {
            phones: citizen.phones.map(|phones| {
                phones
                    .split(' ')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            id_number: citizen.id_number,
            full_name: citizen.full_name,
            date_of_birth: citizen.date_of_birth,
            sex: citizen.sex,
            place_of_origin: citizen.place_of_origin,
            place_of_residence: citizen.place_of_residence,
            status: citizen.status.as_str().to_owned(),
        }
    }
}

/// One citizen's record.
pub async fn one(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<CitizenRecord, LookupError> {
    id_number::check_format(id).map_err(|e| LookupError::IdNumber(e.to_string()))?;
    take_allowance(services, principal, 1).await?;
    let store = &services.store;
    let citizen = store.citizen(id).await?;
    let account = store.account_by_id_number(id).await?.map(|a| a.id);
    let event = viewed(
        services,
        principal,
        id,
        account,
        citizen.is_some(),
        "single",
    );
    store.append_audit(&event).await?;
    citizen
        .map(CitizenRecord::from)
        .ok_or(LookupError::NotFound)
}

/// The records of `ids` found, and the ids (as given) not found.
pub async fn many(
    services: &Services,
    principal: &Principal,
    ids: &[String],
) -> Result<(Vec<CitizenRecord>, Vec<String>), LookupError> {
    if ids.is_empty() || ids.len() > MAX_LOOKUP {
        return Err(LookupError::Size);
    }
    for id in ids {
        id_number::check_format(id).map_err(|e| LookupError::IdNumber(format!("{id}: {e}")))?;
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    take_allowance(services, principal, unique.len()).await?;
    let store = &services.store;
    let found = store.citizens(&unique).await?;
    let mut accounts: HashMap<String, String> = store
        .account_ids_by_id_numbers(&unique)
        .await?
        .into_iter()
        .collect();
    let found_ids: HashSet<&str> = found.iter().map(|c| c.id_number.as_str()).collect();
    let events: Vec<AuditEvent> = unique
        .iter()
        .map(|id| {
            let found = found_ids.contains(id.as_str());
            viewed(services, principal, id, accounts.remove(id), found, "batch")
        })
        .collect();
    store.append_audit_batch(&events).await?;
    let not_found = ids
        .iter()
        .filter(|id| !found_ids.contains(id.as_str()))
        .cloned()
        .collect();
    Ok((
        found.into_iter().map(CitizenRecord::from).collect(),
        not_found,
    ))
}

/// The audit subject for a citizen's record: their account if they have one (so they see it),
/// else a keyed pseudonym of the ID number.
fn record_subject(services: &Services, id_number: &str, account_id: Option<String>) -> String {
    account_id
        .unwrap_or_else(|| format!("citizen:{}", services.key.pseudonym("citizen", id_number)))
}

/// The entry a staff member's view of one citizen's record leaves in that citizen's history
/// (single and bulk look-ups alike).
fn viewed(
    services: &Services,
    principal: &Principal,
    id_number: &str,
    account_id: Option<String>,
    found: bool,
    lookup: &str,
) -> AuditEvent {
    audit::event(
        &principal.account.id,
        "registry.viewed",
        &record_subject(services, id_number, account_id),
        json!({ "role": principal.role, "found": found, "lookup": lookup }),
    )
}

/// Takes `records` from the staff member's allowance of registry records for the window, or
/// refuses the look-up.
async fn take_allowance(
    services: &Services,
    principal: &Principal,
    records: usize,
) -> Result<(), LookupError> {
    let limits = &services.config.registry;
    let now = crate::platform::clock::now();
    let window = limits.window_seconds;
    let over = || LookupError::Allowance {
        limit: limits.records_per_window,
        window,
        retry_after: window - now.rem_euclid(window),
    };
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    if records > limits.records_per_window {
        return Err(over());
    }
    let key = format!("registry-records:{}", principal.account.id);
    match services
        .store
        .take_allowance(&key, now, window, records, limits.records_per_window)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(over()),
    }
}
