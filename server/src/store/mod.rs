//! Storage: one repository API over SQLite (the embedded default) and PostgreSQL.
//!
//! The queries are written once, in `queries.rs`, and compiled twice: once for each backend
//! (`sqlite.rs` and `postgres.rs` include it with their own `Db` type). The few statements that
//! differ (bulk import, batch lookup) live in the backend files. [`Store`] dispatches to the
//! backend the database URL selects.
//!
//! Every write that is a security event appends its audit entry in the same transaction, so
//! an action and its record commit together or not at all.

mod audit_chain;
mod migrate;
mod postgres;
mod sqlite;

use std::{str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use self::audit_chain::{AUDIT_CHAINS, GENESIS, anchor_hash, chain_of, entry_hash, hex};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration already applied differs from the one this build carries.
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
    },
    /// A row expected by a multi-step write was not there (e.g. a code consumed concurrently).
    #[error("conflicting concurrent change")]
    Conflict,
    /// A value stored in the database does not decode.
    #[error("corrupt stored value: {0}")]
    Corrupt(&'static str),
    /// The access token of an issuance had made its one credential request already.
    #[error("the access token was used already")]
    GrantUsed,
    /// A group commit failed as a whole (every issuance in it is refused).
    #[error("group commit failed: {0}")]
    Commit(String),
}

impl StoreError {
    /// True when a unique constraint refused the write (on either engine).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Creates a SQLite database file readable and writable by its owner only (0600) before SQLite
/// opens it, whatever the umask: SQLite gives its `-wal` and `-shm` files the database file's
/// mode, so they are private too. An existing database (and its journal files) found wider is
/// narrowed to 0600.
fn private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mut journal = path.as_os_str().to_owned();
        journal.push("-wal");
        let mut shared = path.as_os_str().to_owned();
        shared.push("-shm");
        for file in [path.as_os_str(), &journal, &shared] {
            let file = std::path::Path::new(file);
            let Ok(metadata) = std::fs::metadata(file) else {
                continue;
            };
            if metadata.permissions().mode() & 0o777 != 0o600 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in WAL mode, the embedded default.
    Sqlite,
    /// PostgreSQL, for production.
    Postgres,
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The repository: a cheap-to-clone handle on a connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// The group-commit writer of issuances.
    writer: GroupWriter,
}

/// What the group writer did: groups committed, issuances in them, and the time spent.
#[derive(Debug, Default)]
pub struct GroupStats {
    /// Transactions committed.
    pub groups: std::sync::atomic::AtomicU64,
    /// Issuances in them.
    pub issuances: std::sync::atomic::AtomicU64,
    /// Time spent writing and committing, microseconds.
    pub busy_micros: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
enum GroupWriter {
    Sqlite(std::sync::Arc<sqlite::GroupCommit>),
    Postgres(std::sync::Arc<postgres::GroupCommit>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Calls the backend function of the same name with the pool in front of the arguments.
macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.pool {
            Pool::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
            Pool::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`); SQLite files are created if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Durable commits: an issued credential that is not recorded could never be
                // revoked, and a used nonce that is forgotten could be replayed. Group commit
                // (issuance) shares one fsync among concurrent requests.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                // Reads go through the OS page cache, shared by every connection, instead of each
                // connection's small private cache: random point and batch lookups by ID number.
                .pragma("mmap_size", "1073741824")
                .pragma("cache_size", "-16384");
            if !url.contains("mode=memory") {
                private_sqlite_file(options.get_filename()).map_err(sqlx::Error::Io)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            let writer = GroupWriter::Sqlite(std::sync::Arc::new(sqlite::GroupCommit::start(
                pool.clone(),
            )));
            Ok(Self {
                pool: Pool::Sqlite(pool),
                writer,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            let writer = GroupWriter::Postgres(std::sync::Arc::new(postgres::GroupCommit::start(
                pool.clone(),
            )));
            Ok(Self {
                pool: Pool::Postgres(pool),
                writer,
            })
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations this build carries that the database lacks. Safe to run from
    /// several processes at once.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        dispatch!(self.migrate())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs a trivial statement: is the database reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    // --- Population registry -------------------------------------------------------------

    /// One citizen by ID number.
    pub async fn citizen(&self, id_number: &str) -> Result<Option<Citizen>, StoreError> {
        dispatch!(self.citizen(id_number))
    }

    /// Many citizens by ID number, in one statement (ID numbers not found are absent).
    pub async fn citizens(&self, id_numbers: &[String]) -> Result<Vec<Citizen>, StoreError> {
        dispatch!(self.citizens(id_numbers))
    }

    /// How many citizens the registry holds.
    pub async fn citizen_count(&self) -> Result<i64, StoreError> {
        dispatch!(self.citizen_count())
    }

    /// Starts an import: rows are staged, then merged by [`RegistryImport::commit`] in the same
    /// transaction; dropping the import without committing leaves the registry untouched.
    pub async fn begin_import(&self) -> Result<RegistryImport, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => RegistryImport::Sqlite(sqlite::Import::begin(pool).await?),
            Pool::Postgres(pool) => RegistryImport::Postgres(postgres::Import::begin(pool).await?),
        })
    }

    /// What re-imports changed in one citizen's record, oldest first.
    pub async fn registry_changes(
        &self,
        id_number: &str,
    ) -> Result<Vec<RegistryChange>, StoreError> {
        dispatch!(self.registry_changes(id_number))
    }

    // --- Accounts ----------------------------------------------------------------------------

    /// An account by its id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account(id))
    }

    /// The citizen account of an ID number, if one was created.
    pub async fn account_by_id_number(
        &self,
        id_number: &str,
    ) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account_by_id_number(id_number))
    }

    /// The account a WebAuthn user handle belongs to.
    pub async fn account_by_webauthn_user(
        &self,
        user: &str,
    ) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account_by_webauthn_user(user))
    }

    /// Consumes an enrolment and, when `create`, creates its citizen account in the same
    /// transaction (a code completes at most one enrolment). [`StoreError::Conflict`] when the
    /// enrolment was consumed already.
    pub async fn complete_enrolment(
        &self,
        account: &Account,
        create: bool,
        enrolment_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.complete_enrolment(account, create, enrolment_id, now, audit))
    }

    /// Creates an account directly (the development shortcut `dev level2`; enrolment and staff
    /// invitations have their own paths).
    pub async fn create_account(
        &self,
        account: &Account,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_account(account, audit))
    }

    /// Creates a staff account and its one-time invitation (stored hashed).
    pub async fn create_staff_account(
        &self,
        account: &Account,
        invitation_hash: &[u8],
        expires_at: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_staff_account(account, invitation_hash, expires_at, audit))
    }

    /// Consumes a staff invitation: the account it was for, if it was valid and unused.
    pub async fn redeem_invitation(
        &self,
        token_hash: &[u8],
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self.redeem_invitation(token_hash, now, audit))
    }

    /// Staff accounts (officers and admins).
    pub async fn staff(&self) -> Result<Vec<Account>, StoreError> {
        dispatch!(self.staff())
    }

    // --- Enrolment -----------------------------------------------------------------------

    /// Records an enrolment request and its hashed code.
    pub async fn insert_enrolment(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_enrolment(enrolment, audit))
    }

    /// Counts one attempt at an enrolment's code and returns the enrolment if it is still
    /// open (unconsumed, unexpired) and the attempt is within `max_attempts`.
    pub async fn enrolment_attempt(
        &self,
        id: &str,
        purpose: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<Enrolment>, StoreError> {
        dispatch!(self.enrolment_attempt(id, purpose, now, max_attempts))
    }

    // --- Recovery ------------------------------------------------------------------------

    /// Consumes a recovery code's row and opens the recovery, with its audit entry, in one
    /// transaction. [`StoreError::Conflict`] when the code was consumed already.
    pub async fn open_recovery(
        &self,
        recovery: &Recovery,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.open_recovery(recovery, audit))
    }

    /// A recovery by id.
    pub async fn recovery(&self, id: &str) -> Result<Option<Recovery>, StoreError> {
        dispatch!(self.recovery(id))
    }

    /// Records stronger evidence on an open recovery (not completed, not expired); false when
    /// there is no such recovery.
    pub async fn strengthen_recovery(
        &self,
        recovery: &Recovery,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.strengthen_recovery(recovery, now, audit))
    }

    /// Completes a recovery in one transaction: the recovery is closed (once), the account's
    /// passkeys, devices, sessions and unredeemed offers end, its credentials are revoked, a
    /// level-2 account without chip or officer evidence drops to level 1, `passkey` becomes its
    /// only passkey, and `audit` (its detail completed with the outcome) is appended.
    /// [`StoreError::Conflict`] when the recovery is completed, expired or unknown.
    pub async fn complete_recovery(
        &self,
        recovery_id: &str,
        passkey: &StoredPasskey,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<RecoveryOutcome, StoreError> {
        dispatch!(self.complete_recovery(recovery_id, passkey, now, audit))
    }

    /// Ends every live session of an account.
    pub async fn end_sessions(&self, account_id: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self.end_sessions(account_id, now))
    }

    /// Binds a recovery session to the passkey ceremony it may complete (replacing the last).
    pub async fn bind_session_ceremony(
        &self,
        token_hash: &[u8],
        ceremony_id: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self.bind_session_ceremony(token_hash, ceremony_id))
    }

    /// Adds one hit to a fixed-window counter and returns the hits in the current window.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<i64, StoreError> {
        dispatch!(self.hit_rate_limit(key, now, window))
    }

    // --- WebAuthn ceremonies ---------------------------------------------------------------

    /// Takes `amount` from the allowance of `key` in the current window of `window` seconds,
    /// unless that would exceed `limit`: the hits of the window after taking, or `None` (nothing
    /// taken) when over.
    pub async fn take_allowance(
        &self,
        key: &str,
        now: i64,
        window: i64,
        amount: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self.take_allowance(key, now, window, amount, limit))
    }

    /// The account ids of those `id_numbers` that have an account: `(id_number, account id)`.
    pub async fn account_ids_by_id_numbers(
        &self,
        id_numbers: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.account_ids_by_id_numbers(id_numbers))
    }

    /// Stores a ceremony's server-side state until `expires_at`.
    pub async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        dispatch!(self.put_ceremony(ceremony))
    }

    /// Takes (deletes and returns) a ceremony: at most one caller ever gets it.
    pub async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StoreError> {
        dispatch!(self.take_ceremony(id, kind, now))
    }

    // --- Passkeys --------------------------------------------------------------------------

    /// Adds a passkey to an account.
    pub async fn insert_passkey(
        &self,
        passkey: &StoredPasskey,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_passkey(passkey, audit))
    }

    /// An account's passkeys, revoked ones included.
    pub async fn passkeys(&self, account_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        dispatch!(self.passkeys(account_id))
    }

    /// The passkey with this WebAuthn credential id.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, StoreError> {
        dispatch!(self.passkey_by_credential(credential_id))
    }

    /// Records a successful sign-in with a passkey (new credential state, counter, flags), unless
    /// it was revoked meanwhile.
    pub async fn record_passkey_use(
        &self,
        passkey: &StoredPasskey,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.record_passkey_use(passkey, now))
    }

    /// Revokes one of an account's passkeys; false if there was no such active passkey.
    pub async fn revoke_passkey(
        &self,
        account_id: &str,
        passkey_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.revoke_passkey(account_id, passkey_id, now, audit))
    }

    // --- Sessions --------------------------------------------------------------------------

    /// Stores a session by the hash of its token.
    pub async fn insert_session(
        &self,
        session: &Session,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_session(session, audit))
    }

    /// The live session with this token hash and its account, in one statement (every
    /// authenticated request asks).
    pub async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<(Session, Account)>, StoreError> {
        dispatch!(self.session(token_hash, now))
    }

    /// Ends a session.
    pub async fn revoke_session(&self, token_hash: &[u8], now: i64) -> Result<(), StoreError> {
        dispatch!(self.revoke_session(token_hash, now))
    }

    // --- Devices ---------------------------------------------------------------------------

    /// Registers a device holder key.
    pub async fn insert_device(
        &self,
        device: &Device,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_device(device, audit))
    }

    /// An account's devices, revoked ones included.
    pub async fn devices(&self, account_id: &str) -> Result<Vec<Device>, StoreError> {
        dispatch!(self.devices(account_id))
    }

    /// Revokes one of an account's devices; false if there was no such active device.
    pub async fn revoke_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.revoke_device(account_id, device_id, now, audit))
    }

    // --- Audit -----------------------------------------------------------------------------

    /// Appends one event to the audit log.
    pub async fn append_audit(&self, audit: &AuditEvent) -> Result<(), StoreError> {
        dispatch!(self.append_audit(audit))
    }

    /// Appends many events in one transaction, chained in memory and written with multi-row
    /// statements (a fixed few statements per chain, whatever their number).
    pub async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        dispatch!(self.append_audit_batch(events))
    }

    /// The events about one subject, newest first.
    pub async fn history(&self, subject: &str, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.history(subject, limit))
    }

    /// The entries of one chain from `after_seq` on (exclusive), in order, at most `limit`.
    pub async fn audit_chain(
        &self,
        chain: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.audit_chain(chain, after_seq, limit))
    }

    /// The recorded head (last sequence number and hash) of every chain.
    pub async fn audit_heads(&self) -> Result<Vec<AuditHead>, StoreError> {
        dispatch!(self.audit_heads())
    }

    /// One entry of a chain.
    pub async fn audit_entry(
        &self,
        chain: i64,
        seq: i64,
    ) -> Result<Option<AuditEntry>, StoreError> {
        dispatch!(self.audit_entry(chain, seq))
    }

    /// Records the current heads of all chains as a new anchor, unless nothing was appended
    /// since the last one. Returns the new anchor, if any.
    pub async fn anchor_audit(&self, now: i64) -> Result<Option<AuditAnchor>, StoreError> {
        dispatch!(self.anchor_audit(now))
    }

    /// Every anchor, oldest first.
    pub async fn audit_anchors(&self) -> Result<Vec<AuditAnchor>, StoreError> {
        dispatch!(self.audit_anchors())
    }

    // --- Issuance ----------------------------------------------------------------------------

    /// The group writer's counters (issuances are written in groups, one commit each).
    pub fn group_stats(&self) -> &GroupStats {
        match &self.writer {
            GroupWriter::Sqlite(writer) => writer.stats(),
            GroupWriter::Postgres(writer) => writer.stats(),
        }
    }

    /// A citizen account with its registry record, for issuance.
    pub async fn issuance_account(
        &self,
        account_id: &str,
    ) -> Result<Option<IssuanceAccount>, StoreError> {
        dispatch!(self.issuance_account(account_id))
    }

    /// What a credential request needs to know, in one read: the account with its registry
    /// record, and the devices (revoked ones included) whose key has one of `thumbprints`.
    pub async fn issuance_context(
        &self,
        account_id: &str,
        thumbprints: &[String],
    ) -> Result<Option<(IssuanceAccount, Vec<DeviceKey>)>, StoreError> {
        let row: Option<IssuanceContextRow> =
            dispatch!(self.issuance_context(account_id, thumbprints))?;
        row.map(|row| {
            let devices = serde_json::from_str(&row.devices)
                .map_err(|_| StoreError::Corrupt("devices of an issuance context"))?;
            Ok((row.account, devices))
        })
        .transpose()
    }

    /// The registry's documents (driving licence, ...) of one citizen.
    pub async fn registry_documents(
        &self,
        id_number: &str,
    ) -> Result<Vec<RegistryDocument>, StoreError> {
        dispatch!(self.registry_documents(id_number))
    }

    /// Raises an open level-1 citizen account to level 2, recording who approved it and on
    /// what evidence. False when the account is not an open level-1 citizen account.
    pub async fn set_level2(
        &self,
        account_id: &str,
        approved_by: &str,
        evidence: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.set_level2(account_id, approved_by, evidence, now, audit))
    }

    /// Records a credential offer.
    pub async fn insert_offer(&self, offer: &Offer, audit: &AuditEvent) -> Result<(), StoreError> {
        dispatch!(self.insert_offer(offer, audit))
    }

    /// The live (unredeemed, unexpired) offer with this pre-authorized code digest.
    pub async fn offer_by_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> Result<Option<Offer>, StoreError> {
        dispatch!(self.offer_by_code(code_hash, now))
    }

    /// Counts one transaction-code attempt at the live offer with this pre-authorized code
    /// digest, in one statement, and returns the offer as counted; `None` when there is no such
    /// offer or its `max_attempts` are used up (the code must then not be compared).
    pub async fn tx_code_attempt(
        &self,
        code_hash: &[u8],
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<Offer>, StoreError> {
        dispatch!(self.tx_code_attempt(code_hash, now, max_attempts))
    }

    /// Ends an unredeemed offer (it can no longer be redeemed) and audits it; false when it was
    /// redeemed or ended already.
    pub async fn end_offer(
        &self,
        offer_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.end_offer(offer_id, now, audit))
    }

    /// Redeems an offer: true for the one caller that does.
    pub async fn redeem_offer(
        &self,
        offer_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.redeem_offer(offer_id, now, audit))
    }

    /// Offers made for an account (by a lifecycle event) that wait for the citizen to collect.
    pub async fn pending_offers(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<Vec<Offer>, StoreError> {
        dispatch!(self.pending_offers(account_id, now))
    }

    /// Gives a pending offer its codes; false if it was collected or ended meanwhile.
    pub async fn activate_offer(
        &self,
        offer_id: &str,
        code_hash: &[u8],
        tx_code_hash: Option<&[u8]>,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.activate_offer(offer_id, code_hash, tx_code_hash, expires_at))
    }

    /// Reserves `count` consecutive positions of a status list's permutation counter (opening
    /// a new list when the current one is full; the block may then be shorter).
    pub async fn reserve_status_indexes(
        &self,
        bits: i64,
        size: i64,
        count: i64,
    ) -> Result<StatusBlock, StoreError> {
        dispatch!(self.reserve_status_indexes(bits, size, count))
    }

    /// Records an issuance: the access token's use (refused with [`StoreError::GrantUsed`] when
    /// it was used already), nonces and DPoP proof used (refused with [`StoreError::Conflict`]
    /// when one was used already), the copies issued, and the audit event. A refused issuance
    /// uses nothing up.
    pub async fn record_issuance(
        &self,
        issuance: &Issuance,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        match &self.writer {
            GroupWriter::Sqlite(writer) => writer.record_issuance(issuance, audit).await,
            GroupWriter::Postgres(writer) => writer.record_issuance(issuance, audit).await,
        }
    }

    /// Every credential copy issued to an account.
    pub async fn account_credentials(
        &self,
        account_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        dispatch!(self.account_credentials(account_id))
    }

    /// One credential copy by its status-list position.
    pub async fn credential(
        &self,
        list_id: i64,
        idx: i64,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        dispatch!(self.credential(list_id, idx))
    }

    /// Sets the status of the copies `scope` selects (revoked is final) and audits it when
    /// something changed. Returns how many copies changed.
    pub async fn set_credential_status(
        &self,
        scope: &CredentialScope,
        status: i64,
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        dispatch!(self.set_credential_status(scope, status, audit))
    }

    /// A status list's row (with its cached token).
    pub async fn status_list(&self, list_id: i64) -> Result<Option<StatusListRow>, StoreError> {
        dispatch!(self.status_list(list_id))
    }

    /// The entries of a list that are not valid: `(idx, status)`.
    pub async fn status_entries(&self, list_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        dispatch!(self.status_entries(list_id))
    }

    /// Caches a signed token for a list's `version` (never over a newer one).
    pub async fn save_status_token(
        &self,
        list_id: i64,
        token: &str,
        version: i64,
        exp: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.save_status_token(list_id, token, version, exp))
    }

    /// Takes level 2 away from an account: every credential revoked, open offers ended. False
    /// when the account was not at level 2.
    pub async fn withdraw_level2(
        &self,
        account_id: &str,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.withdraw_level2(account_id, audit))
    }

    /// Closes an account: credentials revoked, devices, sessions and offers ended. False when
    /// it was closed already.
    pub async fn close_account(
        &self,
        account_id: &str,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.close_account(account_id, audit))
    }

    // --- Level-2 proofing ----------------------------------------------------------------------

    /// Records a level-2 request with its portrait. A second pending request of the same
    /// account meets a unique index ([`StoreError::is_unique_violation`]).
    pub async fn insert_proofing_request(
        &self,
        request: &ProofingRequest,
        portrait: &[u8],
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_proofing_request(request, portrait, audit))
    }

    /// One request.
    pub async fn proofing_request(&self, id: &str) -> Result<Option<ProofingRequest>, StoreError> {
        dispatch!(self.proofing_request(id))
    }

    /// An account's latest request.
    pub async fn latest_proofing_request(
        &self,
        account_id: &str,
    ) -> Result<Option<ProofingRequest>, StoreError> {
        dispatch!(self.latest_proofing_request(account_id))
    }

    /// Pending requests, oldest first.
    pub async fn pending_proofing_requests(
        &self,
        limit: i64,
    ) -> Result<Vec<ProofingRequest>, StoreError> {
        dispatch!(self.pending_proofing_requests(limit))
    }

    /// The portrait of a pending request.
    pub async fn proofing_portrait(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.proofing_portrait(id))
    }

    /// Decides a pending request (erasing its portrait); approval raises the account to level 2
    /// with `evidence`. False when the request was not pending.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_proofing_request(
        &self,
        id: &str,
        approve: bool,
        officer_id: &str,
        reason: Option<&str>,
        evidence: &str,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.decide_proofing_request(id, approve, officer_id, reason, evidence, audit))
    }

    // --- Authorization code flow ------------------------------------------------------------

    /// Stores a pushed authorization request under the digest of its handle.
    pub async fn insert_authorization_request(
        &self,
        handle_hash: &[u8],
        request: &AuthorizationRequest,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_authorization_request(handle_hash, request))
    }

    /// A pushed request still waiting for the citizen's approval.
    pub async fn authorization_request(
        &self,
        handle_hash: &[u8],
        now: i64,
    ) -> Result<Option<AuthorizationRequest>, StoreError> {
        dispatch!(self.authorization_request(handle_hash, now))
    }

    /// Records the citizen's approval and the code it yields; false when the request is gone,
    /// expired or approved already.
    pub async fn approve_authorization(
        &self,
        handle_hash: &[u8],
        account_id: &str,
        code_hash: &[u8],
        code_expires_at: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.approve_authorization(
            handle_hash,
            account_id,
            code_hash,
            code_expires_at,
            audit
        ))
    }

    /// Redeems an authorization code (once): the request it was issued for.
    pub async fn redeem_authorization_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> Result<Option<AuthorizationRequest>, StoreError> {
        dispatch!(self.redeem_authorization_code(code_hash, now))
    }

    /// Marks a digest (of a nonce or DPoP proof) used until `expires_at`; false if it was.
    pub async fn use_once(&self, digest: &[u8], expires_at: i64) -> Result<bool, StoreError> {
        dispatch!(self.use_once(digest, expires_at))
    }

    /// Deletes expired ceremonies, enrolments, sessions and rate-limit windows.
    pub async fn prune_expired(&self, now: i64) -> Result<u64, StoreError> {
        dispatch!(self.prune_expired(now))
    }
}

/// A citizen of the population registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
    /// `living` or `deceased`.
    pub status: String,
    /// The mobile numbers registered to the citizen (E.164, space-separated, sorted): where
    /// enrolment and recovery codes may go; empty when none is registered. `None` only in an
    /// import row without the field, which leaves the stored numbers as they are.
    #[serde(
        serialize_with = "crate::domain::registry::phones::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Vec<String>)]
    pub phones: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
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

/// An import in progress: one open transaction on one connection.
pub enum RegistryImport {
    /// On SQLite.
    Sqlite(sqlite::Import),
    /// On PostgreSQL.
    Postgres(postgres::Import),
}

impl RegistryImport {
    /// Stages a batch of validated records.
    pub async fn stage(&mut self, batch: &[Citizen]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(import) => import.stage(batch).await,
            Self::Postgres(import) => import.stage(batch).await,
        }
    }

    /// Stages a batch of validated documents.
    pub async fn stage_documents(&mut self, batch: &[StagedDocument]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(import) => import.stage_documents(batch).await,
            Self::Postgres(import) => import.stage_documents(batch).await,
        }
    }

    /// Merges the staged records into the registry, records the changes, applies their
    /// lifecycle consequences (credentials revoked and re-offered, accounts of the deceased
    /// closed) and commits.
    pub async fn commit(
        self,
        source: &str,
        rejected: i64,
        now: i64,
    ) -> Result<MergeOutcome, StoreError> {
        match self {
            Self::Sqlite(import) => import.commit(source, rejected, now).await,
            Self::Postgres(import) => import.commit(source, rejected, now).await,
        }
    }
}

/// An account: a citizen or a staff member.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    /// Random id (UUID).
    pub id: String,
    /// The WebAuthn user handle (UUID), distinct from `id`.
    pub webauthn_user_id: String,
    /// `citizen`, `officer` or `admin`.
    pub role: String,
    /// The citizen's ID number (none for staff).
    pub id_number: Option<String>,
    /// Name shown to the account holder and on passkey prompts.
    pub display_name: String,
    /// The citizen's phone (E.164).
    pub phone: Option<String>,
    /// 1 or 2.
    pub assurance_level: i64,
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

/// What completing a recovery changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryOutcome {
    /// Passkeys revoked.
    pub passkeys_revoked: u64,
    /// Devices (holder keys) revoked.
    pub devices_revoked: u64,
    /// Credential kinds whose copies were revoked.
    pub credential_kinds: Vec<String>,
    /// The assurance level after the recovery.
    pub assurance_level: i64,
    /// The offer of the revoked kinds left for the new device (level kept), if any.
    pub offer_id: Option<String>,
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
    /// `citizen`, `officer`, `admin`, `setup` (may only complete its passkey registration) or
    /// `recovery` (may only act on its recovery).
    pub role: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The one passkey registration ceremony a setup or recovery session may complete.
    pub ceremony_id: Option<String>,
    /// The recovery a recovery session acts on.
    pub recovery_id: Option<String>,
}

/// A session row joined with its account (see [`Store::session`]).
#[derive(sqlx::FromRow)]
struct LiveSession {
    token_hash: Vec<u8>,
    session_role: String,
    session_created_at: i64,
    session_expires_at: i64,
    session_ceremony_id: Option<String>,
    session_recovery_id: Option<String>,
    #[sqlx(flatten)]
    account: Account,
}

impl LiveSession {
    fn split(self) -> (Session, Account) {
        let session = Session {
            token_hash: self.token_hash,
            account_id: self.account.id.clone(),
            role: self.session_role,
            created_at: self.session_created_at,
            expires_at: self.session_expires_at,
            ceremony_id: self.session_ceremony_id,
            recovery_id: self.session_recovery_id,
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
    /// 1 or 2.
    pub assurance_level: i64,
    /// Set when the account was closed.
    pub closed_at: Option<i64>,
    /// The registry record.
    #[sqlx(flatten)]
    pub citizen: Citizen,
}

/// [`IssuanceAccount`] with the devices of the request's keys, as one row (the devices as a JSON
/// array).
#[derive(sqlx::FromRow)]
struct IssuanceContextRow {
    #[sqlx(flatten)]
    account: IssuanceAccount,
    devices: String,
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
    /// JSON array of credential configuration ids.
    pub configuration_ids: String,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
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
    /// 0 valid, 1 revoked, 2 suspended.
    pub status: i64,
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
    /// JSON array of credential configuration ids.
    pub configuration_ids: String,
    /// The wallet's `state`.
    pub state: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The approving account, once approved.
    pub account_id: Option<String>,
}
