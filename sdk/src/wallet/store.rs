//! The wallet's offline store: credentials, their batch copies, and the presentation log, in one
//! SQLite file, every record encrypted at rest.
//!
//! Each record is a versioned AEAD envelope ([`super::envelope`]) under the wallet's data key,
//! with the table and row as associated data. The data key is random, and stored only wrapped by
//! a keystore wrapping key: the file alone, copied off the phone, opens nothing. What stays in the
//! clear is structure only: random record ids, how many copies a credential has, which were used
//! and when, and presentation timestamps.
//!
//! Every change is one SQLite transaction (WAL, `synchronous = FULL`): a crash or a kill at any
//! point leaves the previous state or the new one, never a credential with part of its copies.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{
    envelope::{DataKey, EnvelopeError, KEY_LEN},
    keystore::{KeyStore, KeyStoreError},
};
use crate::jose;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (I/O, a full disk, a locked or corrupt file).
    #[error("wallet database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The keystore failed (to make, wrap or unwrap the data key).
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// A record does not open under the data key: the file was altered.
    #[error("a wallet record does not open: {0}")]
    Envelope(#[from] EnvelopeError),
    /// A record opened but is not what this version writes.
    #[error("a wallet record is malformed: {0}")]
    Malformed(String),
    /// No credential has this id.
    #[error("no credential {0:?}")]
    NotFound(String),
    /// A credential must come with at least one copy.
    #[error("a credential needs at least one copy")]
    NoCopies,
    /// The file was written by a newer version of the SDK.
    #[error("the wallet file has format {0}; this SDK reads up to {FORMAT}")]
    NewerFormat(i64),
}

/// The file format this code writes (SQLite's `user_version`).
pub const FORMAT: i64 = 1;

/// What the wallet knows of a credential, besides its copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// The store's id for it (random).
    #[serde(default)]
    pub id: String,
    /// The credential configuration it was issued under (OpenID4VCI), if known.
    pub configuration_id: Option<String>,
    /// `vct`.
    pub vct: String,
    /// `iss`.
    pub issuer: String,
    /// `iat`, seconds since the Unix epoch.
    pub issued_at: u64,
    /// `exp`, if any.
    pub expires_at: Option<u64>,
    /// When the wallet stored it.
    pub added_at: u64,
}

/// One copy of a credential: an SD-JWT VC bound to a key of its own.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// The issued SD-JWT VC (with all its disclosures).
    pub sd_jwt: String,
    /// The keystore alias of the key it is bound to (`cnf.jwk`).
    pub key_alias: String,
}

impl std::fmt::Debug for CopyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyRecord")
            .field("key_alias", &self.key_alias)
            .finish_non_exhaustive()
    }
}

/// A copy taken for a presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenCopy {
    /// The copy.
    pub copy: CopyRecord,
    /// False when every copy had been used before: this presentation can be linked to an earlier
    /// one by the credential's signature. Refresh the credential.
    pub unused: bool,
    /// Copies never used that remain after this one.
    pub unused_left: u32,
}

/// An entry of the presentation log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationRecord {
    /// When, seconds since the Unix epoch.
    pub at: u64,
    /// The verifier's client id.
    pub verifier: String,
    /// The verifier's name, as its certificate or registration gives it.
    pub verifier_name: Option<String>,
    /// The purpose the verifier stated.
    pub purpose: Option<String>,
    /// The credential presented (store id).
    pub credential_id: String,
    /// The claims disclosed, as claim paths (`address.locality`).
    pub claims: Vec<String>,
}

/// The wallet's store.
pub struct WalletStore {
    conn: Connection,
    key: DataKey,
}

impl std::fmt::Debug for WalletStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletStore").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
CREATE TABLE credentials (
    id       TEXT PRIMARY KEY NOT NULL,
    envelope BLOB NOT NULL
);
CREATE TABLE copies (
    credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    n             INTEGER NOT NULL,
    used_at       INTEGER,
    envelope      BLOB NOT NULL,
    PRIMARY KEY (credential_id, n)
);
CREATE TABLE presentations (
    id       INTEGER PRIMARY KEY NOT NULL,
    envelope BLOB NOT NULL
);
";

impl WalletStore {
    /// Opens the wallet file at `path` (created if missing). The data key is unwrapped with the
    /// keystore's wrapping key `wrapping_alias`; a new wallet makes both.
    pub fn open(
        path: &Path,
        keystore: &dyn KeyStore,
        wrapping_alias: &str,
    ) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > FORMAT {
            return Err(StoreError::NewerFormat(version));
        }
        if version == 0 {
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", FORMAT)?;
        }
        let wrapped: Option<Vec<u8>> = tx
            .query_row(
                "SELECT value FROM meta WHERE name = 'data_key'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        let key = match wrapped {
            Some(wrapped) => {
                let bytes = Zeroizing::new(keystore.unwrap(wrapping_alias, &wrapped)?);
                let bytes: &[u8; KEY_LEN] = bytes[..]
                    .try_into()
                    .map_err(|_| StoreError::Malformed("data key length".into()))?;
                DataKey::new(bytes)
            }
            None => {
                // A crash after the wrapping key was made and before this commit leaves the key:
                // use it rather than fail on its alias.
                if !keystore.contains(wrapping_alias)? {
                    keystore.generate_wrapping_key(wrapping_alias)?;
                }
                let (key, bytes) = DataKey::generate()?;
                let wrapped = keystore.wrap(wrapping_alias, &bytes[..])?;
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ('data_key', ?1)",
                    params![wrapped],
                )?;
                key
            }
        };
        tx.commit()?;
        Ok(Self { conn, key })
    }

    /// Stores a credential with its copies (at least one), in one transaction; returns its id.
    pub fn add(
        &mut self,
        info: &CredentialInfo,
        copies: &[CopyRecord],
    ) -> Result<String, StoreError> {
        if copies.is_empty() {
            return Err(StoreError::NoCopies);
        }
        let mut id_bytes = [0u8; 16];
        jose::random_bytes(&mut id_bytes).map_err(|_| EnvelopeError::Random)?;
        let id = jose::b64::encode(id_bytes);
        let info = CredentialInfo {
            id: id.clone(),
            ..info.clone()
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO credentials (id, envelope) VALUES (?1, ?2)",
            params![id, seal_json(&self.key, &credential_aad(&id), &info)?],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO copies (credential_id, n, used_at, envelope) VALUES (?1, ?2, NULL, ?3)",
            )?;
            for (n, copy) in copies.iter().enumerate() {
                insert.execute(params![
                    id,
                    n as i64,
                    seal_json(&self.key, &copy_aad(&id, n as i64), copy)?
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Every credential, oldest first.
    pub fn list(&self) -> Result<Vec<CredentialInfo>, StoreError> {
        let mut select = self
            .conn
            .prepare("SELECT id, envelope FROM credentials ORDER BY rowid")?;
        let rows = select.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, envelope) = row?;
            let info: CredentialInfo = open_json(&self.key, &credential_aad(&id), &envelope)?;
            if info.id != id {
                return Err(StoreError::Malformed(
                    "a credential record names another id".into(),
                ));
            }
            out.push(info);
        }
        Ok(out)
    }

    /// One credential.
    pub fn get(&self, id: &str) -> Result<CredentialInfo, StoreError> {
        let envelope: Vec<u8> = self
            .conn
            .query_row(
                "SELECT envelope FROM credentials WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        open_json(&self.key, &credential_aad(id), &envelope)
    }

    /// Copies never used, and all copies, of a credential.
    pub fn copies_left(&self, id: &str) -> Result<(u32, u32), StoreError> {
        let (unused, total): (i64, i64) = self.conn.query_row(
            "SELECT count(*) FILTER (WHERE used_at IS NULL), count(*) FROM copies WHERE credential_id = ?1",
            params![id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if total == 0 {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        Ok((unused as u32, total as u32))
    }

    /// Takes a copy of a credential for a presentation at `now`, and records it used: a copy
    /// never used if one is left, else the one used longest ago (see [`TakenCopy::unused`]).
    pub fn take_copy(&mut self, id: &str, now: u64) -> Result<TakenCopy, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let chosen: Option<(i64, Option<i64>, Vec<u8>)> = tx
            .query_row(
                "SELECT n, used_at, envelope FROM copies WHERE credential_id = ?1 \
                 ORDER BY used_at IS NOT NULL, used_at, n LIMIT 1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let (n, used_at, envelope) = chosen.ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let copy: CopyRecord = open_json(&self.key, &copy_aad(id, n), &envelope)?;
        tx.execute(
            "UPDATE copies SET used_at = ?1 WHERE credential_id = ?2 AND n = ?3",
            params![now as i64, id, n],
        )?;
        let unused_left: i64 = tx.query_row(
            "SELECT count(*) FROM copies WHERE credential_id = ?1 AND used_at IS NULL",
            params![id],
            |row| row.get(0),
        )?;
        tx.commit()?;
        Ok(TakenCopy {
            copy,
            unused: used_at.is_none(),
            unused_left: unused_left as u32,
        })
    }

    /// Every copy of a credential, in order (for refreshing or deleting their keys).
    pub fn copies(&self, id: &str) -> Result<Vec<CopyRecord>, StoreError> {
        let mut select = self
            .conn
            .prepare("SELECT n, envelope FROM copies WHERE credential_id = ?1 ORDER BY n")?;
        let rows = select.query_map(params![id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (n, envelope) = row?;
            out.push(open_json(&self.key, &copy_aad(id, n), &envelope)?);
        }
        if out.is_empty() {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        Ok(out)
    }

    /// Deletes a credential and its copies (their keys are the caller's to delete).
    pub fn remove(&mut self, id: &str) -> Result<(), StoreError> {
        let deleted = self
            .conn
            .execute("DELETE FROM credentials WHERE id = ?1", params![id])?;
        if deleted == 0 {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        Ok(())
    }

    /// Appends an entry to the presentation log.
    pub fn log_presentation(&mut self, record: &PresentationRecord) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next: i64 = tx.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM presentations",
            [],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO presentations (id, envelope) VALUES (?1, ?2)",
            params![next, seal_json(&self.key, &presentation_aad(next), record)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The presentation log, oldest first.
    pub fn presentations(&self) -> Result<Vec<PresentationRecord>, StoreError> {
        let mut select = self
            .conn
            .prepare("SELECT id, envelope FROM presentations ORDER BY id")?;
        let rows = select.query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, envelope) = row?;
            out.push(open_json(&self.key, &presentation_aad(id), &envelope)?);
        }
        Ok(out)
    }
}

fn credential_aad(id: &str) -> Vec<u8> {
    format!("credentials\0{id}").into_bytes()
}

fn copy_aad(id: &str, n: i64) -> Vec<u8> {
    format!("copies\0{id}\0{n}").into_bytes()
}

fn presentation_aad(id: i64) -> Vec<u8> {
    format!("presentations\0{id}").into_bytes()
}

fn seal_json<T: Serialize>(key: &DataKey, aad: &[u8], value: &T) -> Result<Vec<u8>, StoreError> {
    let json = Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| StoreError::Malformed(e.to_string()))?,
    );
    Ok(key.seal(aad, &json)?)
}

fn open_json<T: for<'de> Deserialize<'de>>(
    key: &DataKey,
    aad: &[u8],
    envelope: &[u8],
) -> Result<T, StoreError> {
    let json = key.open(aad, envelope)?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::SoftwareKeyStore;

    fn info(vct: &str) -> CredentialInfo {
        CredentialInfo {
            id: String::new(),
            configuration_id: Some("pid".into()),
            vct: vct.into(),
            issuer: "https://id.dinhdanh.example".into(),
            issued_at: 1_800_000_000,
            expires_at: Some(1_900_000_000),
            added_at: 1_800_000_100,
        }
    }

    fn copies(n: usize) -> Vec<CopyRecord> {
        (0..n)
            .map(|i| CopyRecord {
                sd_jwt: format!("eyJ.copy-{i}.sig~disclosure~"),
                key_alias: format!("holder/{i}"),
            })
            .collect()
    }

    fn keystore(dir: &Path) -> SoftwareKeyStore {
        SoftwareKeyStore::open_with_master_key(&dir.join("keys"), &[9u8; 32]).unwrap()
    }

    #[test]
    fn credentials_and_copies_round_trip_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let keys = keystore(dir.path());
        let path = dir.path().join("wallet.db");
        let mut store = WalletStore::open(&path, &keys, "wallet").unwrap();
        let pid = store
            .add(&info("urn:vn:dinhdanh:pid:1"), &copies(3))
            .unwrap();
        let other = store
            .add(&info("urn:vn:dinhdanh:driving_licence:1"), &copies(1))
            .unwrap();
        assert!(matches!(
            store.add(&info("x"), &[]),
            Err(StoreError::NoCopies)
        ));
        let listed = store.list().unwrap();
        assert_eq!(
            listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            [pid.as_str(), other.as_str()]
        );
        assert_eq!(store.get(&pid).unwrap().vct, "urn:vn:dinhdanh:pid:1");
        assert_eq!(store.copies(&pid).unwrap(), copies(3));
        drop(store);

        // Reopened with the keystore: the same content. Nothing readable in the file itself.
        let store = WalletStore::open(&path, &keys, "wallet").unwrap();
        assert_eq!(store.list().unwrap(), listed);
        drop(store);
        let raw = std::fs::read(&path).unwrap();
        for needle in [
            &b"urn:vn:dinhdanh"[..],
            b"copy-0",
            b"holder/",
            b"id.dinhdanh",
        ] {
            assert!(!raw.windows(needle.len()).any(|w| w == needle));
        }

        // Without the wrapping key the wallet does not open.
        let stranger =
            SoftwareKeyStore::open_with_master_key(&dir.path().join("k2"), &[1; 32]).unwrap();
        stranger.generate_wrapping_key("wallet").unwrap();
        assert!(matches!(
            WalletStore::open(&path, &stranger, "wallet"),
            Err(StoreError::KeyStore(KeyStoreError::Unwrap))
        ));
    }

    #[test]
    fn copies_are_used_once_while_unused_ones_remain() {
        let dir = tempfile::tempdir().unwrap();
        let keys = keystore(dir.path());
        let mut store = WalletStore::open(&dir.path().join("w.db"), &keys, "wallet").unwrap();
        let id = store
            .add(&info("urn:vn:dinhdanh:pid:1"), &copies(3))
            .unwrap();
        let mut seen = Vec::new();
        for (at, left) in [(10, 2), (11, 1), (12, 0)] {
            let taken = store.take_copy(&id, at).unwrap();
            assert!(taken.unused);
            assert_eq!(taken.unused_left, left);
            seen.push(taken.copy.key_alias);
        }
        seen.sort();
        assert_eq!(seen, ["holder/0", "holder/1", "holder/2"]);
        assert_eq!(store.copies_left(&id).unwrap(), (0, 3));
        // All used: the one used longest ago, flagged.
        let again = store.take_copy(&id, 13).unwrap();
        assert!(!again.unused);
        assert_eq!(again.copy.key_alias, "holder/0");
        assert_eq!(store.take_copy(&id, 14).unwrap().copy.key_alias, "holder/1");
        assert!(matches!(
            store.take_copy("nope", 1),
            Err(StoreError::NotFound(_))
        ));
        store.remove(&id).unwrap();
        assert!(matches!(
            store.copies_left(&id),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(store.remove(&id), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn the_presentation_log_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let keys = keystore(dir.path());
        let mut store = WalletStore::open(&dir.path().join("w.db"), &keys, "wallet").unwrap();
        let records: Vec<PresentationRecord> = (0..3)
            .map(|i| PresentationRecord {
                at: 100 + i,
                verifier: "x509_san_dns:bank.example.vn".into(),
                verifier_name: Some("Ngân hàng".into()),
                purpose: Some("Mở tài khoản".into()),
                credential_id: "c".into(),
                claims: vec!["given_name".into(), "address.locality".into()],
            })
            .collect();
        for record in &records {
            store.log_presentation(record).unwrap();
        }
        assert_eq!(store.presentations().unwrap(), records);
    }

    #[test]
    fn altered_or_moved_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = keystore(dir.path());
        let path = dir.path().join("w.db");
        let mut store = WalletStore::open(&path, &keys, "wallet").unwrap();
        let a = store.add(&info("a"), &copies(2)).unwrap();
        store.add(&info("b"), &copies(1)).unwrap();
        // Swap the two copies' ciphertexts of `a`: each is bound to its row.
        store
            .conn
            .execute_batch(&format!(
                "UPDATE copies SET envelope = (SELECT envelope FROM copies WHERE credential_id = '{a}' AND n = 1) \
                 WHERE credential_id = '{a}' AND n = 0"
            ))
            .unwrap();
        assert!(matches!(
            store.copies(&a),
            Err(StoreError::Envelope(EnvelopeError::Forged))
        ));
        // A newer file format is refused rather than misread.
        store.conn.pragma_update(None, "user_version", 2).unwrap();
        drop(store);
        assert!(matches!(
            WalletStore::open(&path, &keys, "wallet"),
            Err(StoreError::NewerFormat(2))
        ));
    }
}
