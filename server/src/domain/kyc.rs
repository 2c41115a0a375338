//! Level 2: the chip of the citizen ID card, read by the app over NFC, is checked by passive
//! authentication (ICAO 9303) and compared with the registry; an officer then approves or
//! rejects in person. Approval records who, when and on what evidence, and makes a PID offer
//! the officer hands over at the counter.

use dinhdanh_sdk::{
    icao::{self, IcaoError, dg13::Dg13, mrz::Mrz},
    x509::TrustAnchor,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    Services,
    domain::audit,
    domain::issuance::{self, CreatedOffer, claims::Date},
    domain::registry::names::{self, NameMatch},
    platform::secrets,
    store::{Account, AssuranceLevel, Citizen, ProofingRequest, StoreError},
};

/// The files read from the card's chip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChipFiles {
    /// DG1 (MRZ).
    pub dg1: Vec<u8>,
    /// DG2 (portrait).
    pub dg2: Vec<u8>,
    /// DG13 (personal data).
    pub dg13: Vec<u8>,
    /// EF.SOD.
    pub sod: Vec<u8>,
}

/// Why a level-2 step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KycError {
    /// The chip data failed passive authentication.
    #[error("the chip data failed passive authentication: {0}")]
    Chip(#[from] IcaoError),
    /// A data group does not read (DG1 MRZ, DG13 fields).
    #[error("the chip data does not read: {0}")]
    Unreadable(String),
    /// The card's date of expiry (MRZ) has passed: an expired card is no evidence.
    #[error("the card expired on {expired_on}")]
    CardExpired {
        /// Its date of expiry, `YYYY-MM-DD`.
        expired_on: String,
    },
    /// The card belongs to someone else (its ID number is not the account's).
    #[error("the card is not this citizen's")]
    NotTheirCard,
    /// The account already is at level 2.
    #[error("the account is at level 2 already")]
    AlreadyLevel2,
    /// A request of the account waits for an officer already.
    #[error("a request waits for an officer already")]
    Pending,
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// The request was decided already.
    #[error("the request was decided already")]
    NotPending,
    /// The chip does not match the registry well enough to approve.
    #[error("the chip data does not match the registry: reject the request instead")]
    Mismatch,
    /// A reason is required to reject (1 to 500 characters).
    #[error("a reason of 1 to 500 characters is required")]
    Reason,
    /// Making the offer after approval failed.
    #[error(transparent)]
    Offer(#[from] issuance::OfferError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What passive authentication established, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChipResult {
    /// The Document Signer certificate's subject.
    pub document_signer: String,
    /// The CSCA it chains to.
    pub csca: String,
    /// The LDS hash algorithm.
    pub hash_algorithm: String,
    /// The signature algorithm.
    pub signature_algorithm: String,
    /// The data groups checked.
    pub data_groups: Vec<u8>,
    /// The card's document number (MRZ).
    pub document_number: String,
    /// The card's expiry (`YYMMDD`, MRZ).
    pub card_expiry: String,
    /// The card's expiry as a date (`YYYY-MM-DD`); absent in requests recorded before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_expires_on: Option<String>,
}

/// How the chip data matched the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistryMatch {
    /// The ID number in DG13 and the MRZ is the registry's.
    pub id_number: bool,
    /// The name: DG13's must be the registry's exactly (after Unicode normalisation, case and
    /// spacing); only the MRZ's, which has no diacritics, may match without them.
    #[schema(value_type = String)]
    pub name: NameMatch,
    /// The date of birth in DG13 and the MRZ is the registry's.
    pub date_of_birth: bool,
    /// Everything matches: an officer may approve.
    pub all: bool,
}

/// A request as the citizen and officers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProofingView {
    /// Request id.
    pub id: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Passive authentication result.
    pub chip: ChipResult,
    /// Registry comparison.
    pub registry: RegistryMatch,
    /// RFC 3339.
    pub submitted_at: String,
    /// RFC 3339, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For officers: the citizen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizen: Option<CitizenSummary>,
    /// For officers: whether the portrait can be shown (until the decision).
    pub portrait: bool,
}

/// Who the request is for (officer view).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CitizenSummary {
    /// ID number.
    pub id_number: String,
    /// Registry name.
    pub full_name: String,
    /// Registry date of birth.
    pub date_of_birth: String,
}

impl ProofingView {
    /// The view of a stored request.
    pub fn new(request: &ProofingRequest, citizen: Option<&Citizen>) -> Result<Self, StoreError> {
        Ok(Self {
            id: request.id.clone(),
            status: request.status.clone(),
            chip: serde_json::from_str(&request.chip)
                .map_err(|_| StoreError::Corrupt("proofing chip result"))?,
            registry: serde_json::from_str(&request.registry)
                .map_err(|_| StoreError::Corrupt("proofing registry match"))?,
            submitted_at: crate::platform::clock::rfc3339(request.submitted_at),
            decided_at: request.decided_at.map(crate::platform::clock::rfc3339),
            reason: request.reason.clone(),
            citizen: citizen.map(|c| CitizenSummary {
                id_number: c.id_number.clone(),
                full_name: c.full_name.clone(),
                date_of_birth: c.date_of_birth.clone(),
            }),
            portrait: request.has_portrait,
        })
    }
}

/// The CSCA trust store: every certificate of the PEM files given.
pub fn load_cscas(files: &[std::path::PathBuf]) -> Result<Vec<TrustAnchor>, String> {
    let mut anchors = Vec::new();
    for path in files {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        anchors
            .extend(TrustAnchor::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(anchors)
}

/// Checks the chip files: passive authentication against the CSCAs now, then the MRZ and DG13.
pub fn check_chip(
    services: &Services,
    files: &ChipFiles,
) -> Result<(ChipResult, Mrz, Dg13), KycError> {
    let now = crate::platform::clock::now().max(0) as u64;
    let result = icao::passive_authentication(
        &files.sod,
        &[(1, &files.dg1), (2, &files.dg2), (13, &files.dg13)],
        &services.cscas,
        now,
    )?;
    let mrz = Mrz::from_dg1(&files.dg1).map_err(|e| KycError::Unreadable(e.to_string()))?;
    let dg13 = Dg13::parse(&files.dg13).map_err(|e| KycError::Unreadable(e.to_string()))?;
    // A genuine chip proves the card was issued, not that it is still valid: the card must not
    // have expired (the Document Signer's certificate outlives the cards it signed).
    let expires_on = mrz_date_of_expiry(&mrz.expiry_date)
        .ok_or_else(|| KycError::Unreadable("the MRZ's date of expiry is not a date".to_owned()))?;
    check_not_expired(expires_on, Date::of_unix(crate::platform::clock::now()))?;
    Ok((
        ChipResult {
            document_signer: result.document_signer,
            csca: result.csca,
            hash_algorithm: result.hash_algorithm.name().to_owned(),
            signature_algorithm: format!("{:?}", result.signature_algorithm),
            data_groups: result.data_groups,
            document_number: mrz.document_number.clone(),
            card_expiry: mrz.expiry_date.clone(),
            card_expires_on: Some(expires_on.iso()),
        },
        mrz,
        dg13,
    ))
}

/// The MRZ's date of expiry (`YYMMDD`) as a date. Chip cards were first issued in 2021 and
/// are valid for at most a few decades, so the century is always 2000.
fn mrz_date_of_expiry(yymmdd: &str) -> Option<Date> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| yymmdd.get(range)?.parse::<u8>().ok();
    let date = Date {
        year: 2000 + i32::from(number(0..2)?),
        month: number(2..4)?,
        day: number(4..6)?,
    };
    ((1..=12).contains(&date.month) && (1..=31).contains(&date.day)).then_some(date)
}

/// Refuses a card whose date of expiry is before `today` (it is valid through that day).
fn check_not_expired(expires_on: Date, today: Date) -> Result<(), KycError> {
    if expires_on < today {
        return Err(KycError::CardExpired {
            expired_on: expires_on.iso(),
        });
    }
    Ok(())
}

/// Compares the chip's data with the registry record.
pub fn compare(citizen: &Citizen, mrz: &Mrz, dg13: &Dg13) -> RegistryMatch {
    use icao::dg13::field;
    let id_number = dg13.get(field::ID_NUMBER) == Some(citizen.id_number.as_str())
        && mrz
            .vietnamese_id_number()
            .is_none_or(|id| id == citizen.id_number);
    let name = match dg13.get(field::FULL_NAME) {
        // DG13 carries the full Unicode name: a different tone mark is a different name
        // ("Thủy" is not "Thúy"), so only an exact match counts.
        Some(name) => match names::compare(&citizen.full_name, name) {
            NameMatch::Exact => NameMatch::Exact,
            _ => NameMatch::Mismatch,
        },
        None => match names::compare(&citizen.full_name, &mrz.full_name()) {
            NameMatch::Exact => NameMatch::WithoutDiacritics,
            other => other,
        },
    };
    let yymmdd = citizen
        .date_of_birth
        .get(2..)
        .map(|d| d.replace('-', ""))
        .unwrap_or_default();
    let date_of_birth = mrz.birth_date == yymmdd
        && dg13
            .date_of_birth_iso()
            .is_none_or(|d| d == citizen.date_of_birth);
    RegistryMatch {
        id_number,
        name,
        date_of_birth,
        all: id_number && name != NameMatch::Mismatch && date_of_birth,
    }
}

/// A citizen submits their card's chip data for level 2.
pub async fn submit(
    services: &Services,
    account: &Account,
    files: &ChipFiles,
) -> Result<ProofingView, KycError> {
    if account.assurance_level >= AssuranceLevel::Two {
        return Err(KycError::AlreadyLevel2);
    }
    let id_number = account.id_number.as_deref().ok_or(KycError::NotTheirCard)?;
    let citizen = services
        .store
        .citizen(id_number)
        .await?
        .ok_or(KycError::NotTheirCard)?;
    let (chip, mrz, dg13) = match check_chip(services, files) {
        Ok(checked) => checked,
        Err(error) => {
            // Refused chip data is a security event: recorded, without the data.
            let event = audit::event(
                &account.id,
                "level2.chip_refused",
                &account.id,
                json!({ "reason": error.to_string() }),
            );
            services.store.append_audit(&event).await?;
            return Err(error);
        }
    };
    let registry = compare(&citizen, &mrz, &dg13);
    if !registry.id_number {
        return Err(KycError::NotTheirCard);
    }
    let request = ProofingRequest {
        id: secrets::id(),
        account_id: account.id.clone(),
        status: "pending".into(),
        chip: serde_json::to_string(&chip).map_err(|_| StoreError::Corrupt("chip result"))?,
        registry: serde_json::to_string(&registry)
            .map_err(|_| StoreError::Corrupt("registry match"))?,
        has_portrait: true,
        submitted_at: crate::platform::clock::now(),
        decided_by: None,
        decided_at: None,
        reason: None,
    };
    let event = audit::event(
        &account.id,
        "level2.requested",
        &account.id,
        json!({ "request": request.id, "document_signer": chip.document_signer, "registry_match": registry.all }),
    );
    match services
        .store
        .insert_proofing_request(&request, &files.dg2, &event)
        .await
    {
        Ok(()) => Ok(ProofingView::new(&request, None)?),
        Err(error) if error.is_unique_violation() => Err(KycError::Pending),
        Err(error) => Err(error.into()),
    }
}

/// Pending requests with their citizens, oldest first.
pub async fn pending(services: &Services) -> Result<Vec<ProofingView>, KycError> {
    let mut out = Vec::new();
    for request in services.store.pending_proofing_requests(200).await? {
        let account = services.store.account(&request.account_id).await?;
        let citizen = match account.and_then(|a| a.id_number) {
            Some(id) => services.store.citizen(&id).await?,
            None => None,
        };
        out.push(ProofingView::new(&request, citizen.as_ref())?);
    }
    Ok(out)
}

/// An officer's decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// The request after the decision.
    pub request: ProofingView,
    /// On approval: the PID offer to hand the citizen at the counter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<CreatedOffer>,
}

/// Approves (`reason` ignored) or rejects (with `reason`) a pending request.
pub async fn decide(
    services: &Services,
    officer: &Account,
    request_id: &str,
    approve: bool,
    reason: Option<&str>,
) -> Result<Decision, KycError> {
    let request = services
        .store
        .proofing_request(request_id)
        .await?
        .ok_or(KycError::NotFound)?;
    if request.status != "pending" {
        return Err(KycError::NotPending);
    }
    let view = ProofingView::new(&request, None)?;
    let reason = match (approve, reason.map(str::trim)) {
        (true, _) => None,
        (false, Some(r))
            if !r.is_empty() && r.chars().count() <= 500 && !r.chars().any(char::is_control) =>
        {
            Some(r)
        }
        (false, _) => return Err(KycError::Reason),
    };
    if approve && !view.registry.all {
        return Err(KycError::Mismatch);
    }
    // The card may have expired while the request waited.
    if approve
        && let Some(expires_on) = view
            .chip
            .card_expires_on
            .as_deref()
            .and_then(Date::parse)
            .or_else(|| mrz_date_of_expiry(&view.chip.card_expiry))
    {
        check_not_expired(expires_on, Date::of_unix(crate::platform::clock::now()))?;
    }
    let evidence = json!({
        "method": "chip passive authentication and in-person verification",
        "request": request.id,
        "document_signer": view.chip.document_signer,
        "csca": view.chip.csca,
        "document_number": view.chip.document_number,
        "card_expires_on": view.chip.card_expires_on,
    })
    .to_string();
    let event = audit::event(
        &officer.id,
        if approve {
            "level2.approved"
        } else {
            "level2.rejected"
        },
        &request.account_id,
        json!({ "request": request.id, "reason": reason }),
    );
    let decided = services
        .store
        .decide_proofing_request(request_id, approve, &officer.id, reason, &evidence, &event)
        .await?;
    if !decided {
        return Err(KycError::NotPending);
    }
    let offer = if approve {
        Some(
            issuance::create_offer(
                services,
                &request.account_id,
                &["pid".to_owned()],
                &officer.id,
                "approval",
            )
            .await?,
        )
    } else {
        None
    };
    let request = services
        .store
        .proofing_request(request_id)
        .await?
        .ok_or(KycError::NotFound)?;
    Ok(Decision {
        request: ProofingView::new(&request, None)?,
        offer,
    })
}

/// The portrait image inside DG2 (ISO/IEC 19794-5 in a CBEFF template): the JPEG or JPEG 2000
/// stream and its media type, found by its signature.
pub fn portrait_image(dg2: &[u8]) -> Option<(&'static str, &[u8])> {
    const SIGNATURES: [(&[u8], &str); 3] = [
        (&[0xFF, 0xD8, 0xFF], "image/jpeg"),
        (
            &[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20],
            "image/jp2",
        ),
        (&[0xFF, 0x4F, 0xFF, 0x51], "image/jp2"),
    ];
    SIGNATURES.iter().find_map(|(signature, media)| {
        dg2.windows(signature.len())
            .position(|w| w == *signature)
            .map(|at| (*media, &dg2[at..]))
    })
}
