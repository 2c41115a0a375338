//! The rows the repository reads and writes.

use serde::{Deserialize, Serialize};

use super::types::{
    AccountRole, AssuranceLevel, CitizenStatus, ConfigurationIds, CredentialStatus,
    RelyingPartyKind, SessionRole,
};

/// A citizen of the population registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Citizen {
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
    /// Living or deceased.
    pub status: CitizenStatus,
    /// The mobile numbers registered to the citizen (E.164, space-separated, sorted): where
    /// enrolment and recovery codes may go; empty when none is registered. `None` only in an
    /// import row without the field, which leaves the stored numbers as they are.
    /// Serialised (the import contract's form) as a JSON array.
    #[serde(
        serialize_with = "phones_as_array",
        skip_serializing_if = "Option::is_none"
    )]
    pub phones: Option<String>,
}

/// Serialises the stored form of `phones` (space-separated) as a JSON array of E.164 numbers.
fn phones_as_array<S: serde::Serializer>(
    phones: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(
        phones
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty()),
    )
}

impl Citizen {
    /// True when `phone` (E.164) is registered to the citizen.
    pub fn has_phone(&self, phone: &str) -> bool {
        !phone.is_empty()
            && self
                .phones
                .as_deref()
                .is_some_and(|phones| phones.split(' ').any(|p| p == phone))
    }
}

/// One recorded change of a citizen's record by an import.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryChange {
    /// The import that made the change.
    pub import_id: i64,
    /// Comma-separated names of the fields that changed.
    pub changed_fields: String,
    /// The previous values of the whole record, as a JSON object.
    pub previous: String,
    /// When (Unix seconds).
    pub changed_at: i64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// The import's id in `registry_imports`.
    pub import_id: i64,
    /// Rows staged (valid rows).
    pub accepted: i64,
    /// New citizens.
    pub inserted: i64,
    /// Existing citizens whose record changed.
    pub updated: i64,
    /// Existing citizens whose record was already the same.
    pub unchanged: i64,
    /// Documents staged.
    pub documents_accepted: i64,
    /// Documents new or changed.
    pub documents_written: i64,
}

/// A registry document as staged by an import, with its line in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedDocument {
    /// 1-based line number.
    pub line: i64,
    /// Whose.
    pub id_number: String,
    /// The credential kind id.
    pub kind: String,
    /// Its claims, canonical JSON (keys sorted, NFC).
    pub claims: String,
}

/// What an import's merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The counts.
    pub counts: ImportCounts,
    /// Lines of documents refused because their citizen is in neither the registry nor the
    /// import.
    pub orphan_documents: Vec<i64>,
}

/// An account: a citizen or a staff member.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    /// Random id (UUID).
    pub id: String,
    /// The WebAuthn user handle (UUID), distinct from `id`.
    pub webauthn_user_id: String,
    /// Citizen, officer or admin.
    pub role: AccountRole,
    /// The citizen's ID number (none for staff).
    pub id_number: Option<String>,
    /// Name shown to the account holder and on passkey prompts.
    pub display_name: String,
    /// The citizen's phone (E.164).
    pub phone: Option<String>,
    /// Level 1 or 2.
    pub assurance_level: AssuranceLevel,
    /// Unix seconds.
    pub created_at: i64,
}

/// A level-1 enrolment in progress.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Enrolment {
    /// Random id.
    pub id: String,
    /// The matched citizen; `None` when the request matched nobody.
    pub id_number: Option<String>,
    /// Phone (E.164) the code went to.
    pub phone: String,
    /// HMAC of the code.
    pub code_hash: Vec<u8>,
    /// Attempts made so far.
    pub attempts: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// `enrolment` (creates an account) or `recovery` (recovers one): a code is good only for
    /// the flow it was sent for.
    pub purpose: String,
}

/// WebAuthn ceremony state kept server side.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Ceremony {
    /// Random id handed to the client.
    pub id: String,
    /// `registration` or `authentication`.
    pub kind: String,
    /// The account registering (none for a discoverable sign-in).
    pub account_id: Option<String>,
    /// Serialized webauthn-rs state.
    pub state: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A registered relying party (`relying_parties`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RelyingPartyRow {
    /// Random id (`rp_id`).
    pub id: String,
    /// `x509_san_dns:<dns_name>`.
    pub client_id: String,
    /// Legal name, shown to citizens.
    pub name: String,
    /// Business registration number, if given.
    pub registration_number: Option<String>,
    /// What it is.
    pub kind: RelyingPartyKind,
    /// The DNS name its access certificate names.
    pub dns_name: String,
    /// Why it asks, shown to citizens.
    pub purpose: String,
    /// What it may ask for: JSON `[{"configuration_id", "claims": [pointer, …]}, …]`.
    pub allowed: String,
    /// Its access certificate, DER.
    pub certificate: Vec<u8>,
    /// The certificate's serial, lower-case hex.
    pub serial: String,
    /// The JWK thumbprint of its key.
    pub key_thumbprint: String,
    /// Its index in the status list of registrations.
    pub status_index: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
}

/// A CRL of the relying-party CA (`rp_crls`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RpCrlRow {
    /// Its CRL number.
    pub number: i64,
    /// How many relying parties were revoked when it was made.
    pub revoked: i64,
    /// `thisUpdate`, Unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, Unix seconds.
    pub next_update: i64,
    /// The signed CRL, DER.
    pub der: Vec<u8>,
}

/// A version of the trust bundle (`trust_bundle_versions`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrustBundleVersionRow {
    /// The version number.
    pub version: i64,
    /// A digest of the roots it carries.
    pub roots: String,
    /// How many relying parties were revoked when it was made.
    pub revoked: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// An account recovery (see `crate::domain::recovery`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Recovery {
    /// The id of the code that opened it.
    pub id: String,
    /// The account being recovered.
    pub account_id: String,
    /// The strongest evidence so far: `sms_code`, `chip` or `officer`.
    pub evidence: String,
    /// What the evidence established (JSON: the chip check, or the officer).
    pub detail: String,
    /// The officer who approved, if one did.
    pub approved_by: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds, once completed.
    pub completed_at: Option<i64>,
}

/// A passkey as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPasskey {
    /// Random id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// The WebAuthn credential id.
    pub credential_id: Vec<u8>,
    /// The webauthn-rs `Passkey`, as JSON.
    pub passkey: String,
    /// A label for the holder.
    pub name: String,
    /// Last signature counter seen.
    pub sign_count: i64,
    /// The authenticator may back the credential up (synced passkey).
    pub backup_eligible: bool,
    /// The credential is backed up.
    pub backup_state: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_used_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
}

/// A session, found by the hash of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Whose session.
    pub account_id: String,
    /// An account's role, or setup (may only complete its passkey registration) or recovery
    /// (may only act on its recovery).
    pub role: SessionRole,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The one passkey registration ceremony a setup or recovery session may complete.
    pub ceremony_id: Option<String>,
    /// The recovery a recovery session acts on.
    pub recovery_id: Option<String>,
    /// Unix seconds of the passkey sign-in that made the session (`None` for sessions made
    /// otherwise): what a step-up checks.
    pub passkey_at: Option<i64>,
}

/// A session row joined with its account (see [`Store::session`]).
#[derive(sqlx::FromRow)]
pub(super) struct LiveSession {
    token_hash: Vec<u8>,
    session_role: SessionRole,
    session_created_at: i64,
    session_expires_at: i64,
    session_ceremony_id: Option<String>,
    session_recovery_id: Option<String>,
    session_passkey_at: Option<i64>,
    #[sqlx(flatten)]
    account: Account,
}

impl LiveSession {
    pub(super) fn split(self) -> (Session, Account) {
        let session = Session {
            token_hash: self.token_hash,
            account_id: self.account.id.clone(),
            role: self.session_role,
            created_at: self.session_created_at,
            expires_at: self.session_expires_at,
            ceremony_id: self.session_ceremony_id,
            recovery_id: self.session_recovery_id,
            passkey_at: self.session_passkey_at,
        };
        (session, self.account)
    }
}

/// A device holder key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Device {
    /// Random id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// A label for the holder.
    pub name: String,
    /// The public P-256 JWK, as JSON.
    pub holder_jwk: String,
    /// Its RFC 7638 thumbprint.
    pub thumbprint: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
}

/// An event to append to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    /// Who acted: an account id, `anonymous`, or `operator` (a command-line operator).
    pub actor: String,
    /// What happened, e.g. `enrolment.started`.
    pub action: String,
    /// Whom it concerns: an account id, or an opaque reference; never personal data.
    pub subject: String,
    /// Non-personal detail as a JSON object.
    pub detail: String,
}

/// An audit log entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    /// The chain the entry belongs to.
    pub chain: i64,
    /// Its position in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// Whom it concerns.
    pub subject: String,
    /// Detail (JSON object).
    pub detail: String,
    /// The previous entry's hash (zeros for the first).
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// A record of every chain's head at one moment, itself hash-chained.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditAnchor {
    /// Its position, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// JSON `[[chain, seq, "hex head"], ...]`.
    pub heads: String,
    /// The previous anchor's hash (zeros for the first).
    pub prev_hash: Vec<u8>,
    /// This anchor's hash.
    pub hash: Vec<u8>,
}

/// The recorded end of one audit chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditHead {
    /// The chain.
    pub chain: i64,
    /// The last sequence number appended.
    pub seq: i64,
    /// The last hash appended.
    pub head: Vec<u8>,
}

/// A citizen account joined with its registry record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuanceAccount {
    /// The account id.
    pub id: String,
    /// Level 1 or 2.
    pub assurance_level: AssuranceLevel,
    /// Set when the account was closed.
    pub closed_at: Option<i64>,
    /// Access tokens issued before this time (Unix seconds) are no longer honoured.
    pub grants_not_before: i64,
    /// The registry record.
    #[sqlx(flatten)]
    pub citizen: Citizen,
}

/// [`IssuanceAccount`] with the devices of the request's keys, as one row (the devices as a JSON
/// array).
#[derive(sqlx::FromRow)]
pub(super) struct IssuanceContextRow {
    #[sqlx(flatten)]
    pub(super) account: IssuanceAccount,
    pub(super) devices: String,
    pub(super) grant_used: bool,
}

/// A registered device key, as a credential request sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceKey {
    /// The device id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// The RFC 7638 thumbprint of its key.
    pub thumbprint: String,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
}

/// A document of the registry: the claims of one credential kind for one citizen.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryDocument {
    /// Whose.
    pub id_number: String,
    /// The credential kind id (`driving_licence`, ...).
    pub kind: String,
    /// The kind's own claims, a JSON object.
    pub claims: String,
}

/// A credential offer as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Offer {
    /// Random id.
    pub id: String,
    /// For whom.
    pub account_id: String,
    /// The credential configuration ids (stored as a JSON array).
    pub configuration_ids: ConfigurationIds,
    /// SHA-256 of the pre-authorized code (none while the offer waits to be collected).
    pub code_hash: Option<Vec<u8>>,
    /// HMAC of the transaction code, when one is required.
    pub tx_code_hash: Option<Vec<u8>>,
    /// Wrong transaction codes so far.
    pub attempts: i64,
    /// `counter`, `citizen`, `approval` or `reissue`.
    pub reason: String,
    /// Who made it (account id or `operator`).
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub redeemed_at: Option<i64>,
}

/// A block of a status list's permutation counter, reserved by one server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBlock {
    /// The list.
    pub list_id: i64,
    /// The first counter value.
    pub first: i64,
    /// How many.
    pub count: i64,
}

/// One issued credential copy: what revocation needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CredentialRecord {
    /// Its status list.
    pub list_id: i64,
    /// Its index in the list.
    pub idx: i64,
    /// Whose.
    pub account_id: String,
    /// The credential kind id.
    pub kind: String,
    /// The registered device its key belongs to, if any.
    pub device_id: Option<String>,
    /// Valid, revoked (invalid) or suspended.
    pub status: CredentialStatus,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The writes of one credential request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issuance {
    /// Digests of the nonces and DPoP proof identifiers it used, with when they expire.
    pub used: Vec<(Vec<u8>, i64)>,
    /// The digest of the access token's one credential request (for this configuration), with
    /// the token's expiry: claimed like a nonce, but its reuse is reported as
    /// [`StoreError::GrantUsed`].
    pub grant: Option<(Vec<u8>, i64)>,
    /// The copies issued.
    pub credentials: Vec<CredentialRecord>,
}

/// Which credential copies a status change applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialScope {
    /// One copy.
    Copy {
        /// Its list.
        list_id: i64,
        /// Its index.
        idx: i64,
    },
    /// Every copy of an account.
    Account {
        /// The account.
        account_id: String,
    },
    /// Every copy of one kind of an account.
    AccountKind {
        /// The account.
        account_id: String,
        /// The kind id.
        kind: String,
    },
    /// Every copy bound to a device's keys.
    Device {
        /// The device.
        device_id: String,
    },
}

/// A status list and its cached token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusListRow {
    /// The list id (in its URL).
    pub id: i64,
    /// Bits per entry.
    pub bits: i64,
    /// Entries.
    pub size: i64,
    /// Moves on every status change.
    pub version: i64,
    /// The last signed token.
    pub token: Option<String>,
    /// The version it was signed for.
    pub token_version: Option<i64>,
    /// Its `exp`.
    pub token_exp: Option<i64>,
}

/// A level-2 proofing request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProofingRequest {
    /// Random id.
    pub id: String,
    /// The citizen's account.
    pub account_id: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// The passive authentication result (JSON).
    pub chip: String,
    /// How the chip data matched the registry (JSON).
    pub registry: String,
    /// Whether the portrait is still kept (until the decision).
    pub has_portrait: bool,
    /// Unix seconds.
    pub submitted_at: i64,
    /// The officer who decided.
    pub decided_by: Option<String>,
    /// Unix seconds.
    pub decided_at: Option<i64>,
    /// The officer's reason (rejections).
    pub reason: Option<String>,
}

/// A pushed authorization request (RFC 9126).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthorizationRequest {
    /// The wallet's client id.
    pub client_id: String,
    /// Where the code goes.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
    /// The credential configuration ids (stored as a JSON array).
    pub configuration_ids: ConfigurationIds,
    /// The wallet's `state`.
    pub state: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The approving account, once approved.
    pub account_id: Option<String>,
}

/// An account as a lifecycle decision sees it, read inside the transaction of the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// The account.
    pub account_id: String,
    /// Level 1 or 2.
    pub assurance_level: AssuranceLevel,
    /// The credential kinds with copies not yet revoked, sorted.
    pub live_kinds: Vec<String>,
}

/// A citizen account whose registry record an import changed (read in the import's
/// transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryChangeFacts {
    /// The import.
    pub import_id: i64,
    /// The account.
    pub account: AccountState,
    /// The citizen's status after the import.
    pub citizen_status: CitizenStatus,
    /// The `changed_fields` of each `registry_changes` row of the import for the citizen.
    pub changed_fields: Vec<String>,
}

/// A recovery being completed (read in its transaction, once it is closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryFacts {
    /// The recovery.
    pub recovery_id: String,
    /// Its strongest evidence: `sms_code`, `chip` or `officer`.
    pub evidence: String,
    /// The account being recovered.
    pub account: AccountState,
    /// Its passkeys not yet revoked.
    pub active_passkeys: u64,
    /// Its devices not yet revoked.
    pub active_devices: u64,
}

/// Which of an account's credential copies a lifecycle event revokes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Revocation {
    /// None.
    #[default]
    Nothing,
    /// Every copy.
    All,
    /// Every copy of these kinds.
    Kinds(Vec<String>),
    /// Every copy bound to this device's keys.
    Device(String),
}

/// Which of an account's signing certificates a lifecycle event revokes, with the RFC 5280
/// `CRLReason` code the domain chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SigningRevocation {
    /// None.
    #[default]
    Nothing,
    /// Every certificate of the account.
    All {
        /// `CRLReason` code.
        reason: i64,
    },
    /// The certificates requested for this device.
    Device {
        /// The device.
        device_id: String,
        /// `CRLReason` code.
        reason: i64,
    },
}

/// A citizen's signing certificate.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningCertificate {
    /// Random id.
    pub id: String,
    /// Serial number: lowercase hex of its magnitude.
    pub serial: String,
    /// Whose.
    pub account_id: String,
    /// The device it was requested for, if the citizen named one.
    pub device_id: Option<String>,
    /// SHA-256 of the certified SubjectPublicKeyInfo (unique: a key is certified once).
    pub spki_sha256: Vec<u8>,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// When the server recorded the revocation's cause, Unix seconds.
    pub revoked_at: Option<i64>,
    /// `CRLReason` code.
    pub revocation_reason: Option<i64>,
}

/// A signing certificate's revocation state (OCSP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningStatus {
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// `CRLReason` code.
    pub revocation_reason: Option<i64>,
}

/// An entry of the CRL.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevokedSerial {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Unix seconds.
    pub revoked_at: i64,
    /// `CRLReason` code.
    pub revocation_reason: Option<i64>,
}

/// The CRL's state: the version revocations move, and the last CRL built.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningCrlState {
    /// Moved by every revocation.
    pub version: i64,
    /// The number of the last CRL built (0: none yet).
    pub crl_number: i64,
    /// The last CRL, DER.
    pub crl: Option<Vec<u8>>,
    /// The version it was built from.
    pub crl_version: Option<i64>,
    /// Its `thisUpdate`, Unix seconds.
    pub this_update: Option<i64>,
    /// Its `nextUpdate`, Unix seconds.
    pub next_update: Option<i64>,
}

/// The writes a lifecycle event makes on one account: decided by the domain (a pure function of
/// the event and the facts the store read), applied by the store in the transaction of the cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consequences {
    /// Close the account (unless closed already).
    pub close_account: bool,
    /// Revoke its passkeys.
    pub end_passkeys: bool,
    /// Revoke its devices.
    pub end_devices: bool,
    /// End its sessions.
    pub end_sessions: bool,
    /// End its unredeemed offers.
    pub end_offers: bool,
    /// The credential copies revoked.
    pub revoke: Revocation,
    /// The signing certificates revoked.
    pub revoke_signing: SigningRevocation,
    /// Back to level 1 (from level 2), the level-2 approval forgotten.
    pub lower_to_level1: bool,
    /// An offer left for the citizen to collect (written after `end_offers`).
    pub offer: Option<Offer>,
    /// The audit entries recording it all.
    pub audit: Vec<AuditEvent>,
}

/// The domain's decision on a registry change, called in the import's transaction.
pub type RegistryDecision<'a> = &'a (dyn Fn(&RegistryChangeFacts) -> Consequences + Send + Sync);

/// The domain's decision on a recovery, called in the recovery's transaction.
pub type RecoveryDecision<'a> = &'a (dyn Fn(&RecoveryFacts) -> Consequences + Send + Sync);
