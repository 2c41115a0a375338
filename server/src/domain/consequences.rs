//! What each lifecycle event causes, decided here and nowhere else: pure functions from the
//! event (and the facts the store read in its transaction) to the [`Consequences`] the store then
//! applies in that same transaction. Nothing here reads a clock, draws randomness or touches
//! the database: the caller hands in the time, the fresh offer id and the configured lifetimes.
//!
//! | cause | consequences |
//! | --- | --- |
//! | registry data changed | the kinds it makes stale revoked; an offer of those kinds to collect; a changed name revokes the signing certificates (affiliationChanged) |
//! | death registered, or staff close the account | account closed: devices, sessions, offers ended, every copy and signing certificate revoked (cessationOfOperation) |
//! | device revoked | the copies bound to its keys and the signing certificates requested for it revoked (keyCompromise) |
//! | level 2 withdrawn | every copy and signing certificate revoked (privilegeWithdrawn), offers ended |
//! | recovery completed | passkeys, devices, sessions, offers ended, every copy and signing certificate revoked (keyCompromise: the old phone is out of the holder's hands); level 2 kept only on an officer's approval, then the revoked kinds offered again |
//!
//! A certificate's revocation time is the cause's time (`now` of the transaction that records
//! it), never earlier.

use serde_json::json;

use crate::{
    domain::{audit::OPERATOR, ca::certificates::RevocationReason},
    store::{
        AccountState, AssuranceLevel, AuditEvent, CitizenStatus, ConfigurationIds, Consequences,
        Offer, RecoveryFacts, RegistryChangeFacts, Revocation, SigningRevocation,
    },
};

/// Every signing certificate of the account, for `reason`.
fn all_signing(reason: RevocationReason) -> SigningRevocation {
    SigningRevocation::All {
        reason: reason.code(),
    }
}

/// What a decision takes besides its facts: the time, the id the new offer gets, and how long an
/// offer waits for the citizen to collect it (`issuance.pending_offer_ttl_seconds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Unix seconds.
    pub now: i64,
    /// The id of an offer the decision makes (unused when it makes none).
    pub offer_id: String,
    /// Lifetime of an offer left for the citizen to collect.
    pub pending_offer_ttl_seconds: i64,
}

/// The credential kinds a registry change makes stale, from the `changed_fields` of its
/// `registry_changes` rows: `None` for all kinds (the name or date of birth, which every kind
/// carries, changed), else the kinds named (`document:<kind>`, and the citizen identity for
/// the record's other fields).
pub fn affected_kinds(changed_fields: &[String]) -> Option<Vec<String>> {
    let mut kinds = Vec::new();
    for fields in changed_fields {
        for field in fields.split(',') {
            match field {
                "full_name" | "date_of_birth" => return None,
                "sex" | "place_of_origin" | "place_of_residence" => kinds.push("pid".to_owned()),
                other => {
                    if let Some(kind) = other.strip_prefix("document:") {
                        kinds.push(kind.to_owned());
                    }
                }
            }
        }
    }
    kinds.sort();
    kinds.dedup();
    Some(kinds)
}

/// A registry import changed a citizen's record: a death closes the account; other changes
/// revoke the kinds they make stale (each copy carries the old data) and leave an offer of the
/// same kinds for the citizen to collect.
pub fn registry_change(facts: &RegistryChangeFacts, context: &Context) -> Consequences {
    let account_id = &facts.account.account_id;
    if facts.citizen_status == CitizenStatus::Deceased {
        return closure(event(
            context.now,
            "account.closed",
            account_id,
            json!({ "reason": "deceased", "import": facts.import_id }),
        ));
    }
    // The name is in the signing certificates' subject: a new name makes them wrong.
    let revoke_signing = if facts
        .changed_fields
        .iter()
        .any(|fields| fields.split(',').any(|field| field == "full_name"))
    {
        all_signing(RevocationReason::AffiliationChanged)
    } else {
        SigningRevocation::Nothing
    };
    let stale = affected_kinds(&facts.changed_fields);
    let kinds: Vec<String> = match &stale {
        None => facts.account.live_kinds.clone(),
        Some(kinds) => kinds
            .iter()
            .filter(|kind| facts.account.live_kinds.contains(kind))
            .cloned()
            .collect(),
    };
    if kinds.is_empty() {
        return Consequences {
            revoke_signing,
            ..Consequences::default()
        };
    }
    let offer = pending_offer(account_id, &kinds, "reissue", context);
    let audit = event(
        context.now,
        "credentials.revoked",
        account_id,
        json!({ "reason": "registry data changed", "import": facts.import_id,
            "kinds": kinds, "offer": offer.id }),
    );
    Consequences {
        revoke: match stale {
            None => Revocation::All,
            Some(_) => Revocation::Kinds(kinds),
        },
        revoke_signing,
        offer: Some(offer),
        audit: vec![audit],
        ..Consequences::default()
    }
}

/// The decision on each account a registry import at `now` changes, as the import applies it: a
/// fresh id for each offer it makes.
pub fn registry_decision(
    now: i64,
    pending_offer_ttl_seconds: i64,
) -> impl Fn(&RegistryChangeFacts) -> Consequences + Send + Sync {
    move |facts| {
        let context = Context {
            now,
            offer_id: crate::platform::secrets::id(),
            pending_offer_ttl_seconds,
        };
        registry_change(facts, &context)
    }
}

/// An account closed (a death registered, or by staff): devices, sessions and offers end and
/// every copy is revoked; `audit` records it.
pub fn closure(audit: AuditEvent) -> Consequences {
    Consequences {
        close_account: true,
        end_devices: true,
        end_sessions: true,
        end_offers: true,
        revoke: Revocation::All,
        revoke_signing: all_signing(RevocationReason::CessationOfOperation),
        audit: vec![audit],
        ..Consequences::default()
    }
}

/// A device revoked: the copies bound to its keys go with it.
pub fn device_revoked(device_id: &str, audit: AuditEvent) -> Consequences {
    Consequences {
        revoke: Revocation::Device(device_id.to_owned()),
        revoke_signing: SigningRevocation::Device {
            device_id: device_id.to_owned(),
            reason: RevocationReason::KeyCompromise.code(),
        },
        audit: vec![audit],
        ..Consequences::default()
    }
}

/// Level 2 withdrawn: every copy revoked (each was issued on level-2 evidence), open offers
/// ended.
pub fn level2_withdrawn(audit: AuditEvent) -> Consequences {
    Consequences {
        revoke: Revocation::All,
        revoke_signing: all_signing(RevocationReason::PrivilegeWithdrawn),
        end_offers: true,
        audit: vec![audit],
        ..Consequences::default()
    }
}

/// A recovery completed: everything that could act for the old holder ends (passkeys, devices,
/// sessions, offers, every copy). The code alone proves the phone, which is level-1 evidence.
/// Chip files alone prove nothing about who holds the card now: passive authentication shows
/// they are genuine, but they are static and copied wherever the card was read (a bank, an
/// operator, a hotel), so without active authentication over a challenge of this recovery a
/// copy replays. A level-2 account therefore keeps its level only when an officer approved (who
/// sees the person, the card and the chip check), and then gets the revoked kinds offered again
/// for the new device. `audit` (the recovery's entry) has its
/// detail completed with the outcome.
pub fn recovery(facts: &RecoveryFacts, audit: &AuditEvent, context: &Context) -> Consequences {
    let account = &facts.account;
    let lower = facts.evidence != "officer" && account.assurance_level == AssuranceLevel::Two;
    let level = if lower {
        AssuranceLevel::One
    } else {
        account.assurance_level
    };
    let offer = (level == AssuranceLevel::Two && !account.live_kinds.is_empty()).then(|| {
        pending_offer(
            &account.account_id,
            &account.live_kinds,
            "recovery",
            context,
        )
    });
    let mut audit = audit.clone();
    let mut detail: serde_json::Value =
        serde_json::from_str(&audit.detail).unwrap_or_else(|_| json!({}));
    if let serde_json::Value::Object(detail) = &mut detail {
        detail.insert("evidence".into(), facts.evidence.clone().into());
        detail.insert("passkeys_revoked".into(), facts.active_passkeys.into());
        detail.insert("devices_revoked".into(), facts.active_devices.into());
        detail.insert("credentials_revoked".into(), json!(account.live_kinds));
        detail.insert("assurance_level".into(), level.as_i64().into());
        if let Some(offer) = &offer {
            detail.insert("offer".into(), offer.id.clone().into());
        }
    }
    audit.detail = detail.to_string();
    Consequences {
        end_passkeys: true,
        end_devices: true,
        end_sessions: true,
        end_offers: true,
        revoke: Revocation::All,
        revoke_signing: all_signing(RevocationReason::KeyCompromise),
        lower_to_level1: lower,
        offer,
        audit: vec![audit],
        ..Consequences::default()
    }
}

/// What completing a recovery changed, as its holder is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryOutcome {
    /// Passkeys revoked.
    pub passkeys_revoked: u64,
    /// Devices (holder keys) revoked.
    pub devices_revoked: u64,
    /// Credential kinds whose copies were revoked.
    pub credential_kinds: Vec<String>,
    /// The assurance level after the recovery.
    pub assurance_level: AssuranceLevel,
    /// The offer of the revoked kinds left for the new device (level kept), if any.
    pub offer_id: Option<String>,
}

impl RecoveryOutcome {
    /// The outcome of a recovery decided by [`recovery`] on `facts`.
    pub fn new(facts: &RecoveryFacts, consequences: &Consequences) -> Self {
        let account: &AccountState = &facts.account;
        Self {
            passkeys_revoked: facts.active_passkeys,
            devices_revoked: facts.active_devices,
            credential_kinds: account.live_kinds.clone(),
            assurance_level: if consequences.lower_to_level1 {
                AssuranceLevel::One
            } else {
                account.assurance_level
            },
            offer_id: consequences.offer.as_ref().map(|offer| offer.id.clone()),
        }
    }
}

/// An offer a lifecycle event leaves for the citizen to collect signed in.
fn pending_offer(account_id: &str, kinds: &[String], reason: &str, context: &Context) -> Offer {
    Offer {
        id: context.offer_id.clone(),
        account_id: account_id.to_owned(),
        configuration_ids: ConfigurationIds(kinds.to_vec()),
        code_hash: None,
        tx_code_hash: None,
        attempts: 0,
        reason: reason.to_owned(),
        created_by: OPERATOR.to_owned(),
        created_at: context.now,
        expires_at: context.now + context.pending_offer_ttl_seconds,
        redeemed_at: None,
    }
}

/// An operator's audit event at `at`.
fn event(at: i64, action: &str, subject: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        at,
        actor: OPERATOR.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            now: 1_000,
            offer_id: "offer-1".into(),
            pending_offer_ttl_seconds: 600,
        }
    }

    fn account(level: i64, live: &[&str]) -> AccountState {
        AccountState {
            account_id: "acc".into(),
            assurance_level: if level == 2 {
                AssuranceLevel::Two
            } else {
                AssuranceLevel::One
            },
            live_kinds: live.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    fn change(status: &str, fields: &[&str], live: &[&str]) -> RegistryChangeFacts {
        RegistryChangeFacts {
            import_id: 7,
            account: account(2, live),
            citizen_status: CitizenStatus::parse(status).unwrap(),
            changed_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn stale_kinds_follow_the_fields() {
        let fields = |f: &[&str]| f.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(affected_kinds(&fields(&["full_name,sex"])), None);
        assert_eq!(
            affected_kinds(&fields(&[
                "place_of_residence",
                "document:driving_licence,sex"
            ])),
            Some(vec!["driving_licence".to_owned(), "pid".to_owned()])
        );
        assert_eq!(affected_kinds(&fields(&["phones"])), Some(vec![]));
    }

    #[test]
    fn a_death_closes_the_account() {
        let c = registry_change(&change("deceased", &["status"], &["pid"]), &context());
        assert!(c.close_account && c.end_devices && c.end_sessions && c.end_offers);
        assert_eq!(c.revoke, Revocation::All);
        assert_eq!(c.revoke_signing, SigningRevocation::All { reason: 5 });
        assert_eq!(c.offer, None);
        assert_eq!(c.audit.len(), 1);
        assert_eq!(c.audit[0].action, "account.closed");
        assert_eq!(c.audit[0].at, 1_000);
    }

    #[test]
    fn a_changed_address_reoffers_the_pid_for_the_configured_time() {
        let c = registry_change(
            &change(
                "living",
                &["place_of_residence"],
                &["driving_licence", "pid"],
            ),
            &context(),
        );
        assert_eq!(c.revoke, Revocation::Kinds(vec!["pid".into()]));
        let offer = c.offer.unwrap();
        assert_eq!(offer.id, "offer-1");
        assert_eq!(offer.configuration_ids.to_text(), r#"["pid"]"#);
        assert_eq!(offer.reason, "reissue");
        assert_eq!(offer.expires_at, 1_600);
        assert!(!c.close_account && !c.end_offers);
    }

    #[test]
    fn a_changed_name_revokes_every_live_kind() {
        let c = registry_change(
            &change("living", &["full_name"], &["driving_licence", "pid"]),
            &context(),
        );
        assert_eq!(c.revoke, Revocation::All);
        assert_eq!(
            c.offer.unwrap().configuration_ids.to_text(),
            r#"["driving_licence","pid"]"#
        );
    }

    #[test]
    fn a_change_without_live_copies_changes_nothing() {
        let c = registry_change(
            &change("living", &["sex"], &["driving_licence"]),
            &context(),
        );
        assert_eq!(c, Consequences::default());
        let c = registry_change(&change("living", &["phones"], &["pid"]), &context());
        assert_eq!(c, Consequences::default());
        // A new name still revokes the signing certificates, which carry it.
        let c = registry_change(&change("living", &["full_name"], &[]), &context());
        assert_eq!(c.revoke_signing, SigningRevocation::All { reason: 3 });
        assert_eq!(c.offer, None);
    }

    fn recovery_facts(evidence: &str, level: i64, live: &[&str]) -> RecoveryFacts {
        RecoveryFacts {
            recovery_id: "rec".into(),
            evidence: evidence.into(),
            account: account(level, live),
            active_passkeys: 2,
            active_devices: 1,
        }
    }

    fn recovered() -> AuditEvent {
        event(
            1_000,
            "account.recovered",
            "acc",
            json!({ "recovery": "rec" }),
        )
    }

    #[test]
    fn a_code_alone_drops_level_two_and_offers_nothing() {
        let facts = recovery_facts("sms_code", 2, &["pid"]);
        let c = recovery(&facts, &recovered(), &context());
        assert!(c.lower_to_level1 && c.end_passkeys && c.end_devices && c.end_sessions);
        assert_eq!(c.revoke, Revocation::All);
        assert_eq!(c.offer, None);
        let outcome = RecoveryOutcome::new(&facts, &c);
        assert_eq!(outcome.assurance_level, AssuranceLevel::One);
        assert_eq!(outcome.passkeys_revoked, 2);
        let detail: serde_json::Value = serde_json::from_str(&c.audit[0].detail).unwrap();
        assert_eq!(detail["evidence"], "sms_code");
        assert_eq!(detail["assurance_level"], 1);
        assert_eq!(detail["recovery"], "rec");
    }

    #[test]
    fn chip_files_alone_do_not_keep_level_two() {
        let facts = recovery_facts("chip", 2, &["pid"]);
        let c = recovery(&facts, &recovered(), &context());
        assert!(c.lower_to_level1);
        assert_eq!(c.offer, None);
    }

    #[test]
    fn an_officer_keeps_level_two_and_reoffers_the_revoked_kinds() {
        let facts = recovery_facts("officer", 2, &["pid"]);
        let c = recovery(&facts, &recovered(), &context());
        assert!(!c.lower_to_level1);
        let offer = c.offer.clone().unwrap();
        assert_eq!(offer.reason, "recovery");
        assert_eq!(offer.expires_at, 1_600);
        let outcome = RecoveryOutcome::new(&facts, &c);
        assert_eq!(outcome.assurance_level, AssuranceLevel::Two);
        assert_eq!(outcome.offer_id.as_deref(), Some("offer-1"));
    }

    #[test]
    fn a_level_one_recovery_offers_nothing() {
        let facts = recovery_facts("sms_code", 1, &[]);
        let c = recovery(&facts, &recovered(), &context());
        assert!(!c.lower_to_level1);
        assert_eq!(c.offer, None);
    }

    #[test]
    fn device_withdrawal_and_closure() {
        let c = device_revoked("dev", recovered());
        assert_eq!(c.revoke, Revocation::Device("dev".into()));
        assert_eq!(
            c.revoke_signing,
            SigningRevocation::Device {
                device_id: "dev".into(),
                reason: 1
            }
        );
        assert!(!c.end_devices);
        let c = level2_withdrawn(recovered());
        assert!(c.end_offers && !c.lower_to_level1 && !c.close_account);
        assert_eq!(c.revoke_signing, SigningRevocation::All { reason: 9 });
        assert_eq!(c.revoke, Revocation::All);
        let c = closure(recovered());
        assert!(c.close_account && c.end_offers && !c.end_passkeys);
    }
}
