//! Development shortcuts, refused outside a data directory made by the zero-config start.

use serde::Serialize;
use serde_json::json;

use crate::{
    Services,
    domain::audit,
    platform::secrets,
    store::{Account, AssuranceLevel},
};

/// Why a development shortcut was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// Not a development data directory.
    #[error(
        "refused: this data directory was not made by the zero-config development start (or it is configured with real keys or another database)"
    )]
    NotDevelopment,
    /// No such citizen in the registry.
    #[error("no citizen with this ID number in the registry")]
    NoCitizen,
    /// The citizen's account is closed or the citizen is not living.
    #[error("the citizen is deceased or their account is closed")]
    Closed,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The certificate request was refused.
    #[error(transparent)]
    Certificate(#[from] crate::domain::ca::certificates::CertificateError),
}

/// The level-2 account made.
#[derive(Debug, Clone, Serialize)]
pub struct Level2Account {
    /// The account.
    pub account_id: String,
    /// The citizen.
    pub id_number: String,
    /// Always 2.
    pub assurance_level: AssuranceLevel,
    /// Whether the account was created now (else it existed at level 1 or 2).
    pub created: bool,
}

/// Makes a registry citizen a level-2 account as if they had enrolled and an officer had
/// approved them, so the issuance journey can be walked without a chip card. Audited as the
/// operator's, with the evidence `development`.
pub async fn level2(services: &Services, id_number: &str) -> Result<Level2Account, DevError> {
    let citizen = services
        .store
        .citizen(id_number)
        .await?
        .ok_or(DevError::NoCitizen)?;
    if citizen.status != crate::store::CitizenStatus::Living {
        return Err(DevError::Closed);
    }
    let (account, created) = match services.store.account_by_id_number(id_number).await? {
        Some(account) => (account, false),
        None => {
            let account = Account {
                id: secrets::id(),
                webauthn_user_id: secrets::id(),
                role: crate::store::AccountRole::Citizen,
                id_number: Some(citizen.id_number.clone()),
                display_name: citizen.full_name.clone(),
                phone: None,
                assurance_level: AssuranceLevel::One,
                created_at: crate::platform::clock::now(),
            };
            let event = audit::event(
                audit::OPERATOR,
                "account.created",
                &account.id,
                json!({ "via": "dev level2" }),
            );
            services.store.create_account(&account, &event).await?;
            (account, true)
        }
    };
    if account.assurance_level < AssuranceLevel::Two {
        let event = audit::event(
            audit::OPERATOR,
            "level2.approved",
            &account.id,
            json!({ "evidence": "development" }),
        );
        let raised = services
            .store
            .set_level2(
                &account.id,
                audit::OPERATOR,
                "development",
                crate::platform::clock::now(),
                &event,
            )
            .await?;
        if !raised {
            return Err(DevError::Closed);
        }
    }
    Ok(Level2Account {
        account_id: account.id,
        id_number: citizen.id_number,
        assurance_level: AssuranceLevel::Two,
        created,
    })
}

/// Issues a signing certificate for the key of `csr` (PEM or DER) to the citizen `id_number`,
/// making them a level-2 account first as [`level2`] does (no step-up: an operator at the
/// development server's console). The chain PEM: the certificate, then the signing CA, without
/// the agency root.
pub async fn signing_certificate(
    services: &Services,
    id_number: &str,
    csr: &[u8],
) -> Result<String, DevError> {
    use crate::domain::ca::certificates;
    let checked = certificates::check_request(&certificates::request_der(csr)?)?;
    level2(services, id_number).await?;
    let account = services
        .store
        .account_by_id_number(id_number)
        .await?
        .ok_or(DevError::NoCitizen)?;
    let issued = certificates::issue_for(
        services,
        &account,
        &checked,
        None,
        crate::platform::clock::now(),
    )
    .await?;
    Ok(issued.chain_pem)
}
