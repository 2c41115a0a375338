//! Account recovery (journey 1, "a lost phone"): the only way back into an account other than
//! its own passkeys.
//!
//! A recovery opens with a code sent to a phone the registry lists for the citizen (the same
//! start as an enrolment, answered the same whatever matched). What the code opens depends on
//! the account:
//! - an account whose setup was never finished (no passkey ever, no device, level 1) gets a setup
//!   session bound to the registration of its first passkey, as at enrolment;
//! - any other account gets a **recovery session**, which may only add evidence to this recovery
//!   and register the passkey that completes it. Only an officer's approval at a counter keeps
//!   a level-2 account at level 2; the code alone, or with a chip check (passive authentication
//!   proves the files genuine, not that their card is here: they replay), is level-1 evidence,
//!   so a level-2 account recovered with it drops to level 1. A chip check is recorded for the
//!   officer to see.
//!
//! Completing a recovery replaces the account: every passkey, device, session and unredeemed
//! offer ends and every credential is revoked, in the transaction that stores the new passkey,
//! recorded in the audit log (and so in the citizen's history).

use serde::Serialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

pub use crate::domain::consequences::RecoveryOutcome;
use crate::{
    Services,
    domain::audit,
    domain::consequences,
    domain::enrolment::{self, CheckedCode, Confirmed, EnrolmentError, Purpose},
    domain::kyc::{self, ChipFiles, KycError},
    domain::passkeys::{self, PasskeyError},
    domain::sessions::{self, Binding, Principal, Role},
    store::{
        Account, AccountRole, AssuranceLevel, Recovery, RecoveryFacts, StoreError, StoredPasskey,
    },
};

/// Why a recovery step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// The code step failed (as for an enrolment).
    #[error(transparent)]
    Code(#[from] EnrolmentError),
    /// No such open recovery: unknown, expired or completed.
    #[error("this recovery is unknown, expired or completed; start again")]
    Closed,
    /// The session may not act on this recovery or complete this ceremony.
    #[error("this session may not act on this recovery")]
    NotYours,
    /// The chip data failed its checks.
    #[error(transparent)]
    Chip(#[from] KycError),
    /// The card is genuine but does not match the registry record of the account.
    #[error("the card's data does not match the registry: recover with an officer instead")]
    Mismatch,
    /// The passkey step failed.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Evidence a recovery rests on, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A code to a registered phone (level-1 evidence).
    SmsCode,
    /// A fresh chip check of the citizen's ID card.
    Chip,
    /// An officer at a counter.
    Officer,
}

impl Evidence {
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "sms_code" => Ok(Self::SmsCode),
            "chip" => Ok(Self::Chip),
            "officer" => Ok(Self::Officer),
            _ => Err(StoreError::Corrupt("recovery evidence")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::SmsCode => "sms_code",
            Self::Chip => "chip",
            Self::Officer => "officer",
        }
    }
}

/// A recovery as its holder and officers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecoveryView {
    /// The recovery id.
    pub recovery_id: String,
    /// The strongest evidence so far.
    pub evidence: Evidence,
    /// The account's assurance level now.
    pub assurance_level: i64,
    /// The level the account will have once the recovery completes with this evidence.
    pub assurance_level_after: i64,
    /// RFC 3339.
    pub expires_at: String,
    /// Whether it was completed.
    pub completed: bool,
    /// For officers: whose account it is (to compare with the person at the counter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizen: Option<kyc::CitizenSummary>,
}

/// A confirmed recovery code: a setup session (an account never set up) or a recovery session,
/// each bound to a passkey registration.
#[derive(Debug, Clone)]
pub struct RecoveryConfirmed {
    /// The session and its passkey registration.
    pub confirmed: Confirmed,
    /// The recovery, when the session is a recovery session.
    pub recovery: Option<RecoveryView>,
}

/// Starts a recovery: a code to the phone if it is registered to a citizen with an account.
pub async fn start(
    services: &Services,
    request: &enrolment::EnrolmentRequest,
    client: &str,
) -> Result<enrolment::Started, RecoveryError> {
    Ok(enrolment::start(services, request, client, Purpose::Recovery).await?)
}

fn view(recovery: &Recovery, account: &Account) -> Result<RecoveryView, StoreError> {
    let evidence = Evidence::parse(&recovery.evidence)?;
    // Only an officer keeps level 2 (see `consequences::recovery`).
    let assurance_level_after = if evidence == Evidence::Officer {
        account.assurance_level
    } else {
        AssuranceLevel::One
    };
    Ok(RecoveryView {
        recovery_id: recovery.id.clone(),
        evidence,
        assurance_level: account.assurance_level.as_i64(),
        assurance_level_after: assurance_level_after.as_i64(),
        expires_at: crate::platform::clock::rfc3339(recovery.expires_at),
        completed: recovery.completed_at.is_some(),
        citizen: None,
    })
}

/// Checks the recovery code and opens what it opens (see the module documentation).
pub async fn confirm(
    services: &Services,
    recovery_id: &str,
    code: &str,
) -> Result<RecoveryConfirmed, RecoveryError> {
    let CheckedCode { id_number, .. } =
        enrolment::check_code(services, recovery_id, code, Purpose::Recovery).await?;
    let account = services
        .store
        .account_by_id_number(&id_number)
        .await?
        .filter(|a| a.role == AccountRole::Citizen)
        .ok_or(RecoveryError::Closed)?;
    let now = crate::platform::clock::now();
    let never_set_up = account.assurance_level == AssuranceLevel::One
        && services.store.passkeys(&account.id).await?.is_empty()
        && services.store.devices(&account.id).await?.is_empty();
    if never_set_up {
        let event = audit::event(
            &account.id,
            "account.setup_resumed",
            &account.id,
            json!({ "recovery": recovery_id }),
        );
        services
            .store
            .complete_enrolment(&account, false, recovery_id, now, &event)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => RecoveryError::Closed,
                other => other.into(),
            })?;
        // An earlier setup session of the account ends: one setup at a time.
        services.store.end_sessions(&account.id, now).await?;
        let confirmed = enrolment::begin_setup(services, account, "sms_code").await?;
        return Ok(RecoveryConfirmed {
            confirmed,
            recovery: None,
        });
    }
    let recovery = Recovery {
        id: recovery_id.to_owned(),
        account_id: account.id.clone(),
        evidence: Evidence::SmsCode.as_str().to_owned(),
        detail: "{}".into(),
        approved_by: None,
        created_at: now,
        expires_at: now + sessions::RECOVERY_TTL,
        completed_at: None,
    };
    let event = audit::event(
        &account.id,
        "account.recovery_started",
        &account.id,
        json!({ "recovery": recovery_id, "assurance_level": account.assurance_level }),
    );
    services
        .store
        .open_recovery(&recovery, &event)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => RecoveryError::Closed,
            other => other.into(),
        })?;
    let (ceremony_id, options) = passkeys::start_registration(services, &account).await?;
    let binding = Binding {
        ceremony_id: Some(ceremony_id.clone()),
        recovery_id: Some(recovery_id.to_owned()),
    };
    let session =
        sessions::issue_bound(services, &account, Role::Recovery, "sms_code", binding).await?;
    let recovery = view(&recovery, &account)?;
    Ok(RecoveryConfirmed {
        confirmed: Confirmed {
            account,
            session,
            ceremony_id,
            options,
        },
        recovery: Some(recovery),
    })
}

/// The open recovery `recovery_id` held by `principal`'s recovery session.
async fn own_open(
    services: &Services,
    principal: &Principal,
    recovery_id: &str,
) -> Result<Recovery, RecoveryError> {
    if principal.role != Role::Recovery
        || principal.session.recovery_id.as_deref() != Some(recovery_id)
    {
        return Err(RecoveryError::NotYours);
    }
    open(services, recovery_id).await
}

async fn open(services: &Services, recovery_id: &str) -> Result<Recovery, RecoveryError> {
    let now = crate::platform::clock::now();
    services
        .store
        .recovery(recovery_id)
        .await?
        .filter(|r| r.completed_at.is_none() && r.expires_at > now)
        .ok_or(RecoveryError::Closed)
}

/// The recovery, for its holder.
pub async fn mine(
    services: &Services,
    principal: &Principal,
    recovery_id: &str,
) -> Result<RecoveryView, RecoveryError> {
    let recovery = own_open(services, principal, recovery_id).await?;
    Ok(view(&recovery, &principal.account)?)
}

/// The recovery, for an officer at the counter: with the registry's name and date of birth to
/// compare with the person and their card.
pub async fn for_officer(
    services: &Services,
    recovery_id: &str,
) -> Result<RecoveryView, RecoveryError> {
    let recovery = open(services, recovery_id).await?;
    let (account, citizen) = account_and_citizen(services, &recovery.account_id).await?;
    let mut view = view(&recovery, &account)?;
    view.citizen = Some(kyc::CitizenSummary {
        id_number: citizen.id_number,
        full_name: citizen.full_name,
        date_of_birth: citizen.date_of_birth,
    });
    Ok(view)
}

async fn account_and_citizen(
    services: &Services,
    account_id: &str,
) -> Result<(Account, crate::store::Citizen), RecoveryError> {
    let account = services
        .store
        .account(account_id)
        .await?
        .ok_or(RecoveryError::Closed)?;
    let id_number = account.id_number.as_deref().ok_or(RecoveryError::Closed)?;
    let citizen = services
        .store
        .citizen(id_number)
        .await?
        .ok_or(RecoveryError::Closed)?;
    Ok((account, citizen))
}

/// Adds a chip check to the holder's recovery: passive authentication and a full match with
/// the registry record. It is shown to the officer; alone it does not keep level 2.
pub async fn submit_chip(
    services: &Services,
    principal: &Principal,
    recovery_id: &str,
    files: &ChipFiles,
) -> Result<RecoveryView, RecoveryError> {
    let mut recovery = own_open(services, principal, recovery_id).await?;
    let (account, citizen) = account_and_citizen(services, &recovery.account_id).await?;
    let refused = |reason: String| {
        audit::event(
            &account.id,
            "account.recovery_chip_refused",
            &account.id,
            json!({ "recovery": recovery_id, "reason": reason }),
        )
    };
    let (chip, mrz, dg13) = match kyc::check_chip(services, files) {
        Ok(checked) => checked,
        Err(error) => {
            services
                .store
                .append_audit(&refused(error.to_string()))
                .await?;
            return Err(error.into());
        }
    };
    let registry = kyc::compare(&citizen, &mrz, &dg13);
    if !registry.all {
        services
            .store
            .append_audit(&refused("registry mismatch".into()))
            .await?;
        return Err(RecoveryError::Mismatch);
    }
    if Evidence::parse(&recovery.evidence)? < Evidence::Chip {
        recovery.evidence = Evidence::Chip.as_str().to_owned();
        recovery.detail = json!({
            "document_number": chip.document_number,
            "card_expiry": chip.card_expiry,
            "document_signer": chip.document_signer,
        })
        .to_string();
    }
    let event = audit::event(
        &account.id,
        "account.recovery_evidence",
        &account.id,
        json!({ "recovery": recovery_id, "evidence": "chip", "document_number": chip.document_number }),
    );
    strengthen(services, &recovery, &account, &event).await
}

/// Records the evidence now on `recovery` (with `event`) while it is still open and the stored
/// evidence is weaker; otherwise the recovery as it stands (stronger evidence stays), or
/// [`RecoveryError::Closed`].
async fn strengthen(
    services: &Services,
    recovery: &Recovery,
    account: &Account,
    event: &crate::store::AuditEvent,
) -> Result<RecoveryView, RecoveryError> {
    if services
        .store
        .strengthen_recovery(recovery, crate::platform::clock::now(), event)
        .await?
    {
        return Ok(view(recovery, account)?);
    }
    let current = open(services, &recovery.id).await?;
    Ok(view(&current, account)?)
}

/// An officer approves a recovery at the counter, having checked the person and their card.
pub async fn approve(
    services: &Services,
    officer: &Account,
    recovery_id: &str,
) -> Result<RecoveryView, RecoveryError> {
    let mut recovery = open(services, recovery_id).await?;
    let (account, _) = account_and_citizen(services, &recovery.account_id).await?;
    recovery.evidence = Evidence::Officer.as_str().to_owned();
    recovery.approved_by = Some(officer.id.clone());
    recovery.detail = json!({ "officer": officer.id }).to_string();
    let event = audit::event(
        &officer.id,
        "account.recovery_approved",
        &account.id,
        json!({ "recovery": recovery_id, "evidence": "officer" }),
    );
    strengthen(services, &recovery, &account, &event).await
}

/// Starts (again) the passkey registration a recovery session completes with, binding the
/// session to it.
pub async fn start_registration(
    services: &Services,
    principal: &Principal,
) -> Result<(String, serde_json::Value), RecoveryError> {
    let recovery_id = principal
        .session
        .recovery_id
        .as_deref()
        .ok_or(RecoveryError::NotYours)?;
    own_open(services, principal, recovery_id).await?;
    let (ceremony_id, options) = passkeys::start_registration(services, &principal.account).await?;
    services
        .store
        .bind_session_ceremony(&principal.session.token_hash, &ceremony_id)
        .await?;
    Ok((ceremony_id, options))
}

/// Completes the holder's recovery with the new passkey (see the module documentation). Returns
/// the account as it is now, the passkey and what changed.
pub async fn complete(
    services: &Services,
    principal: &Principal,
    ceremony_id: &str,
    credential: &RegisterPublicKeyCredential,
    name: &str,
) -> Result<(Account, StoredPasskey, RecoveryOutcome), RecoveryError> {
    if principal.session.ceremony_id.as_deref() != Some(ceremony_id) {
        return Err(RecoveryError::NotYours);
    }
    let recovery_id = principal
        .session
        .recovery_id
        .as_deref()
        .ok_or(RecoveryError::NotYours)?;
    own_open(services, principal, recovery_id).await?;
    let passkey =
        passkeys::verify_registration(services, &principal.account, ceremony_id, credential, name)
            .await?;
    let now = crate::platform::clock::now();
    let event = audit::event(
        &principal.account.id,
        "account.recovered",
        &principal.account.id,
        json!({ "recovery": recovery_id, "passkey": passkey.id }),
    );
    let decide = |facts: &RecoveryFacts| {
        let context = consequences::Context {
            now,
            offer_id: crate::platform::secrets::id(),
            pending_offer_ttl_seconds: services.config.issuance.pending_offer_ttl_seconds,
        };
        consequences::recovery(facts, &event, &context)
    };
    let (facts, decided) = services
        .store
        .complete_recovery(recovery_id, &passkey, now, &decide)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => RecoveryError::Closed,
            e if e.is_unique_violation() => RecoveryError::Passkey(PasskeyError::Duplicate),
            other => other.into(),
        })?;
    let account = services
        .store
        .account(&principal.account.id)
        .await?
        .ok_or(RecoveryError::Closed)?;
    Ok((account, passkey, RecoveryOutcome::new(&facts, &decided)))
}
