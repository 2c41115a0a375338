//! The relying-party registry: registering a relying party (its access certificate from its own
//! key's PKCS#10 request, and the agency-signed registration of what it may ask for), revoking
//! it (the relying-party CA's CRL and the registrations' status list), and the trust bundle
//! that tells wallets and offline verifiers all of this in one signed document.
//!
//! The CA and the registrar are in [`ca`]; what is published is built here from the registry's
//! rows, so every server process publishes the same thing.

pub mod ca;

use dinhdanh_sdk::{
    openid4vp::request::{RegisteredCredential, Registration},
    status_list::{STATUS_LIST_JWT_TYP, StatusList, StatusListToken, StatusReference},
    trust::{CrlLocations, MaxAges, StatusListLocations, TrustBundle},
    vc::{ClaimSchema, ClaimType, CredentialKind},
    x509,
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{Services, audit},
    platform::secrets,
    store::{RelyingPartyKind, RelyingPartyRow, RpCrlRow, StoreError, TrustBundleVersionRow},
};

pub use ca::CsrError;

/// Why a registration or a revocation is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    /// A field of the registration is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`name`, `dns`, `allow`, …).
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The certificate signing request is refused.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// The key was certified before (every access certificate certifies a new key).
    #[error("this key was certified before: the relying party must generate a new key")]
    KeyReused,
    /// Another relying party not revoked holds this client id.
    #[error("{0} is registered to another relying party")]
    ClientIdTaken(String),
    /// No relying party has this id.
    #[error("no relying party {0}")]
    NotFound(String),
    /// The relying party is revoked already.
    #[error("relying party {0} is revoked already")]
    AlreadyRevoked(String),
    /// Certificates, CRLs or signatures could not be made.
    #[error("signing: {0}")]
    Signing(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> RpError {
    RpError::Invalid {
        field,
        message: message.into(),
    }
}

fn signing(error: impl std::fmt::Display) -> RpError {
    RpError::Signing(error.to_string())
}

/// A registration as the operator asks for it.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// Legal name.
    pub name: String,
    /// What it is.
    pub kind: RelyingPartyKind,
    /// Its DNS name (the client id is `x509_san_dns:<dns>`).
    pub dns: String,
    /// Its PKCS#10 request, PEM or DER.
    pub csr: Vec<u8>,
    /// `KIND:PATH[,PATH…]` each: a credential configuration id and claim paths.
    pub allow: Vec<String>,
    /// Why it asks, shown to citizens.
    pub purpose: Option<String>,
    /// Business registration number.
    pub registration_number: Option<String>,
}

/// What `rp register` prints: everything the relying party configures its verifier with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registered {
    /// The registry's id of the party.
    pub rp_id: String,
    /// `x509_san_dns:<dns>`.
    pub client_id: String,
    /// The access certificate then the relying-party CA (PEM), without the root.
    pub certificate_chain: String,
    /// The agency-signed registration (`rp-registration+jwt`, compact).
    pub registration: String,
}

/// What a party may ask for, as stored (`relying_parties.allowed`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Allowed {
    /// The credential configuration id.
    pub configuration_id: String,
    /// Claim paths (JSON Pointers).
    pub claims: Vec<String>,
}

/// The purpose shown when the operator gives none.
const DEFAULT_PURPOSE: &str = "Identity verification";

/// The CRL of the relying-party CA.
pub fn crl_url(public_url: &str) -> String {
    format!("{public_url}/crl/rp.crl")
}

/// The status list of registrations.
pub fn status_list_url(public_url: &str) -> String {
    format!("{public_url}/trust/rp-status-list")
}

/// Registers a relying party: checks the request and the CSR, issues the access certificate,
/// records the party (audited) and mints its registration.
pub async fn register(
    services: &Services,
    request: &RegisterRequest,
    actor: &str,
) -> Result<Registered, RpError> {
    let name = check_text("name", &request.name, 200)?;
    let purpose = match &request.purpose {
        Some(purpose) => check_text("purpose", purpose, 500)?,
        None => DEFAULT_PURPOSE.to_owned(),
    };
    let dns = check_dns(&request.dns)?;
    let registration_number = request
        .registration_number
        .as_deref()
        .map(check_registration_number)
        .transpose()?;
    let allowed = parse_allow(&request.allow)?;
    let csr = ca::check_csr(&request.csr)?;
    let client_id = format!("x509_san_dns:{dns}");
    let thumbprint = csr.key.thumbprint();
    let store = &services.store;
    // Clear refusals first; the unique constraints stay the arbiters of a race.
    if store
        .relying_parties()
        .await?
        .iter()
        .any(|party| party.key_thumbprint == thumbprint)
    {
        return Err(RpError::KeyReused);
    }
    if store
        .relying_party_by_client_id(&client_id)
        .await?
        .is_some_and(|party| party.revoked_at.is_none())
    {
        return Err(RpError::ClientIdTaken(client_id));
    }
    let settings = &services.config.relying_parties;
    let now = crate::platform::clock::now();
    let mut serial = secrets::random_bytes::<16>();
    // A positive serial of 16 bytes (RFC 5280 section 4.1.2.2 allows 20).
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let certificate = services
        .rp
        .certify(
            &csr,
            &ca::AccessSubject {
                name: &name,
                registration_number: registration_number.as_deref(),
                dns_name: &dns,
            },
            &serial,
            now - 300,
            now + settings.certificate_validity_days * 86_400,
            &crl_url(&services.public_url),
        )
        .map_err(signing)?;
    let rp_id = secrets::id();
    let row = RelyingPartyRow {
        id: rp_id.clone(),
        client_id: client_id.clone(),
        name: name.clone(),
        registration_number,
        kind: request.kind,
        dns_name: dns,
        purpose: purpose.clone(),
        allowed: serde_json::to_string(&allowed).map_err(signing)?,
        certificate: certificate.clone(),
        serial: ca::hex(&serial),
        key_thumbprint: thumbprint,
        status_index: -1,
        created_at: now,
        revoked_at: None,
        revocation_reason: None,
    };
    let event = audit::event(
        actor,
        "rp.registered",
        &rp_id,
        serde_json::json!({
            "client_id": client_id,
            "kind": request.kind.as_str(),
            "serial": row.serial,
        }),
    );
    let index = match store.insert_relying_party(&row, &event).await {
        Ok(index) => index,
        // A concurrent registration won the race: say which constraint it took.
        Err(error) if error.is_unique_violation() => {
            let key_taken = store
                .relying_parties()
                .await?
                .iter()
                .any(|party| party.key_thumbprint == row.key_thumbprint);
            return Err(if key_taken {
                RpError::KeyReused
            } else {
                RpError::ClientIdTaken(client_id)
            });
        }
        Err(error) => return Err(error.into()),
    };
    let registration = registration(services, &row, &allowed, index, now)?;
    let certificate_chain = format!(
        "{}{}",
        x509::dev::der_to_pem(&certificate),
        services.rp.ca_pem()
    );
    Ok(Registered {
        rp_id,
        client_id,
        certificate_chain,
        registration,
    })
}

/// Mints the registration of `party` (at `index` of the registrations' status list).
fn registration(
    services: &Services,
    party: &RelyingPartyRow,
    allowed: &[Allowed],
    index: i64,
    now: i64,
) -> Result<String, RpError> {
    let credentials = allowed
        .iter()
        .map(|allowed| {
            let kind = CredentialKind::from_id(&allowed.configuration_id)
                .ok_or_else(|| invalid("allow", "unknown credential configuration"))?;
            Ok(RegisteredCredential {
                vct: kind.vct().to_owned(),
                claims: allowed.claims.clone(),
            })
        })
        .collect::<Result<Vec<_>, RpError>>()?;
    let days = services.config.relying_parties.registration_validity_days;
    Registration {
        iss: services.public_url.clone(),
        sub: party.client_id.clone(),
        name: party.name.clone(),
        purpose: party.purpose.clone(),
        credentials,
        iat: now.max(0) as u64,
        exp: (now + days * 86_400).max(0) as u64,
        status: Some(
            StatusReference::new(status_list_url(&services.public_url), index.max(0) as u64)
                .to_status_claim(),
        ),
    }
    .sign(&services.rp.registrar, &services.rp.registrar_chain)
    .map_err(signing)
}

/// Revokes a relying party (audited): its access certificate goes on the next CRL (made now)
/// and its registration is set invalid in the registrations' status list.
pub async fn revoke(
    services: &Services,
    rp_id: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<RelyingPartyRow, RpError> {
    let reason = match reason {
        Some(reason) => check_text("reason", reason, 500)?,
        None => "revoked by the agency".to_owned(),
    };
    let store = &services.store;
    let Some(party) = store.relying_party(rp_id).await? else {
        return Err(RpError::NotFound(rp_id.to_owned()));
    };
    let now = crate::platform::clock::now();
    let event = audit::event(
        actor,
        "rp.revoked",
        rp_id,
        serde_json::json!({ "client_id": party.client_id, "serial": party.serial }),
    );
    if !store
        .revoke_relying_party(rp_id, now, &reason, &event)
        .await?
    {
        return Err(RpError::AlreadyRevoked(rp_id.to_owned()));
    }
    // Published at once rather than at the next request.
    crl(services, now).await?;
    store
        .relying_party(rp_id)
        .await?
        .ok_or_else(|| RpError::NotFound(rp_id.to_owned()))
}

/// The current CRL of the relying-party CA (DER): the last one made while it lists every
/// revoked party and less than half of its validity has passed, else a new one with the next
/// number.
pub async fn crl(services: &Services, now: i64) -> Result<Vec<u8>, RpError> {
    let store = &services.store;
    let validity = services.config.relying_parties.crl_validity_seconds;
    for _ in 0..3 {
        // The latest CRL first, then the parties: revocations only grow, so the list read after
        // it holds at least what it holds. (Read the other way round, a revocation committed in
        // between could be missing from a CRL numbered above the one that lists it.)
        let latest = store.latest_rp_crl().await?;
        let revoked: Vec<(String, i64)> = store
            .relying_parties()
            .await?
            .into_iter()
            .filter_map(|party| party.revoked_at.map(|at| (party.serial, at)))
            .collect();
        let count = revoked.len() as i64;
        if let Some(latest) = &latest
            && latest.revoked == count
            && now < latest.this_update + validity / 2
        {
            return Ok(latest.der.clone());
        }
        let number = latest.as_ref().map_or(1, |l| l.number + 1);
        let der = services
            .rp
            .crl(number, now, now + validity, &revoked)
            .map_err(signing)?;
        let row = RpCrlRow {
            number,
            revoked: count,
            this_update: now,
            next_update: now + validity,
            der,
        };
        // Another process made this number first: read again.
        if store.insert_rp_crl(&row).await? {
            return Ok(row.der);
        }
    }
    Err(StoreError::Conflict.into())
}

/// The registrations' status list token (`statuslist+jwt`, one bit per party at its
/// `status_index`; 1 once revoked), signed by the agency's issuing key.
pub async fn status_list_token(services: &Services, now: i64) -> Result<String, RpError> {
    let parties = services.store.relying_parties().await?;
    let highest = parties.iter().map(|p| p.status_index).max().unwrap_or(0);
    // Whole bytes, at least 1,024 entries: the size says little about how many parties there are.
    let size = ((highest.max(0) as usize + 1).div_ceil(1024) * 1024).max(1024);
    let mut list = StatusList::new(1, size).map_err(signing)?;
    for party in parties.iter().filter(|p| p.revoked_at.is_some()) {
        list.set(party.status_index.max(0) as usize, 1)
            .map_err(signing)?;
    }
    let settings = &services.config.relying_parties;
    let mut token = StatusListToken::new(
        status_list_url(&services.public_url),
        now.max(0) as u64,
        list,
    );
    token.exp = Some((now + settings.status_list_max_age_seconds).max(0) as u64);
    token.ttl = Some(services.config.issuance.status_ttl_seconds.max(1) as u64);
    token
        .sign(
            &services.issuer.header(STATUS_LIST_JWT_TYP),
            &services.issuer.signer,
        )
        .map_err(signing)
}

/// The trust bundle (`trust-bundle+jwt`), signed by the agency's issuing key: the agency root
/// for credentials, the relying-party CA for relying parties, where the status lists and the CRL
/// are, and how old each may be. Its version moves on whenever the roots or the number of
/// revoked parties change.
pub async fn trust_bundle(services: &Services, now: i64) -> Result<String, RpError> {
    let issuer_root = services
        .issuer
        .trust_anchor()
        .map_err(signing)?
        .der()
        .to_vec();
    let issuer_roots = x509::der_chain_to_x5c(&[issuer_root]);
    let rp_roots = x509::der_chain_to_x5c(&[services.rp.ca_der().to_vec()]);
    let digest = {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for root in issuer_roots.iter().chain(&rp_roots) {
            context.update(root.as_bytes());
            context.update(b"\n");
        }
        ca::hex(context.finish().as_ref())
    };
    let store = &services.store;
    let revoked = store
        .relying_parties()
        .await?
        .iter()
        .filter(|p| p.revoked_at.is_some())
        .count() as i64;
    let mut version = None;
    for _ in 0..3 {
        let latest = store.latest_trust_bundle_version().await?;
        match latest {
            Some(latest) if latest.roots == digest && latest.revoked == revoked => {
                version = Some(latest.version);
                break;
            }
            latest => {
                let next = TrustBundleVersionRow {
                    version: latest.map_or(1, |l| l.version + 1),
                    roots: digest.clone(),
                    revoked,
                    created_at: now,
                };
                if store.insert_trust_bundle_version(&next).await? {
                    version = Some(next.version);
                    break;
                }
            }
        }
    }
    let version = version.ok_or(RpError::Store(StoreError::Conflict))?;
    let settings = &services.config.relying_parties;
    let public_url = &services.public_url;
    let bundle = TrustBundle {
        iss: public_url.clone(),
        iat: now.max(0) as u64,
        exp: (now + settings.bundle_max_age_seconds).max(0) as u64,
        version: version.max(0) as u64,
        issuer_roots,
        rp_roots,
        status_lists: StatusListLocations {
            credentials: Some(format!("{public_url}/status-lists/")),
            relying_parties: Some(status_list_url(public_url)),
        },
        crls: CrlLocations {
            relying_parties: Some(crl_url(public_url)),
            signing: None,
        },
        max_ages: MaxAges {
            trust_bundle: settings.bundle_max_age_seconds.max(1) as u64,
            status_list: settings.status_list_max_age_seconds.max(1) as u64,
            crl: settings.crl_max_age_seconds.max(1) as u64,
        },
    };
    let chain = x509::x5c_to_der_chain(&services.issuer.x5c).map_err(signing)?;
    bundle
        .sign(&services.issuer.signer, &chain)
        .map_err(signing)
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, RpError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// A host name: letters, digits and hyphens in labels of 1 to 63, at least two labels, at most
/// 253 characters; lower-cased. No wildcard, no trailing dot, no IP address.
fn check_dns(dns: &str) -> Result<String, RpError> {
    let dns = dns.trim().to_ascii_lowercase();
    let labels: Vec<&str> = dns.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if dns.len() > 253
        || labels.len() < 2
        || !labels.iter().all(label_ok)
        || labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "dns",
            format!("{dns:?} is not a host name (e.g. verify.bank.example.vn)"),
        ));
    }
    Ok(dns)
}

fn check_registration_number(number: &str) -> Result<String, RpError> {
    let number = number.trim();
    if number.is_empty()
        || number.len() > 64
        || !number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
    {
        return Err(invalid(
            "registration_number",
            "letters, digits, spaces and hyphens, at most 64",
        ));
    }
    Ok(number.to_owned())
}

/// Reads `KIND:PATH[,PATH…]` arguments: KIND a credential configuration id, each PATH a claim
/// path of that kind written with `/` (a JSON Pointer). A kind given twice has its paths merged.
pub fn parse_allow(arguments: &[String]) -> Result<Vec<Allowed>, RpError> {
    if arguments.is_empty() {
        return Err(invalid("allow", "at least one KIND:PATH[,PATH…] is needed"));
    }
    let mut allowed: Vec<Allowed> = Vec::new();
    for argument in arguments {
        let Some((id, paths)) = argument.split_once(':') else {
            return Err(invalid(
                "allow",
                format!("{argument:?} is not KIND:PATH[,PATH…]"),
            ));
        };
        let id = id.trim();
        let kind = CredentialKind::from_id(id).ok_or_else(|| {
            let known: Vec<&str> = CredentialKind::ALL.iter().map(|k| k.id()).collect();
            invalid(
                "allow",
                format!(
                    "unknown credential configuration {id:?} (known: {})",
                    known.join(", ")
                ),
            )
        })?;
        let mut claims = Vec::new();
        for path in paths.split(',').map(str::trim) {
            check_path(kind, path)?;
            claims.push(path.to_owned());
        }
        match allowed.iter_mut().find(|a| a.configuration_id == id) {
            Some(existing) => {
                for claim in claims {
                    if !existing.claims.contains(&claim) {
                        existing.claims.push(claim);
                    }
                }
            }
            None => allowed.push(Allowed {
                configuration_id: id.to_owned(),
                claims,
            }),
        }
    }
    for entry in &mut allowed {
        let mut seen = std::collections::HashSet::new();
        entry.claims.retain(|claim| seen.insert(claim.clone()));
    }
    Ok(allowed)
}

/// A path names claims of the kind's schema, level by level (an element of a list by its
/// index).
fn check_path(kind: CredentialKind, path: &str) -> Result<(), RpError> {
    let bad = |why: &str| {
        invalid(
            "allow",
            format!("{path:?} is not a claim path of {}: {why}", kind.id()),
        )
    };
    let parsed = dinhdanh_sdk::sdjwt::ClaimPath::parse(path).map_err(|_| {
        bad("a path starts with / and names claims separated by / (e.g. /address/locality)")
    })?;
    let segments = parsed.segments();
    if segments.is_empty() {
        return Err(bad("empty"));
    }
    let mut schema: &[ClaimSchema] = kind.schema();
    let mut index = 0;
    while index < segments.len() {
        let name = &segments[index];
        let Some(claim) = schema.iter().find(|c| c.name == name) else {
            return Err(bad(&format!("no claim {name:?}")));
        };
        index += 1;
        match claim.ty {
            ClaimType::Object(members) => schema = members,
            ClaimType::ObjectList(members) => {
                if let Some(element) = segments.get(index) {
                    if element.parse::<usize>().is_err() {
                        return Err(bad(&format!("{name:?} is a list: an index comes next")));
                    }
                    index += 1;
                }
                schema = members;
            }
            _ if index < segments.len() => {
                return Err(bad(&format!("{name:?} has no members")));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(args: &[&str]) -> Result<Vec<Allowed>, RpError> {
        parse_allow(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn allow_arguments_map_to_configurations_and_pointers() {
        let allowed = allow(&["pid:/given_name,/family_name", "pid:/given_name"]).unwrap();
        assert_eq!(
            allowed,
            [Allowed {
                configuration_id: "pid".into(),
                claims: vec!["/given_name".into(), "/family_name".into()],
            }]
        );
        for bad in [
            "passport:/given_name",
            "pid",
            "pid:given_name",
            "pid:/no_such_claim",
            "pid:/given_name/x",
            "pid:",
        ] {
            assert!(
                matches!(allow(&[bad]), Err(RpError::Invalid { field: "allow", .. })),
                "{bad}"
            );
        }
        assert!(allow(&[]).is_err());
    }

    #[test]
    fn host_names_are_checked() {
        assert_eq!(
            check_dns("Verify.Bank.example.vn").unwrap(),
            "verify.bank.example.vn"
        );
        for bad in [
            "localhost",
            "*.bank.vn",
            "bank..vn",
            "-a.vn",
            "a.vn.",
            "10.0.0.1",
            "a b.vn",
        ] {
            assert!(check_dns(bad).is_err(), "{bad}");
        }
    }
}
