//! Keys held by the platform: the [`KeyStore`] trait the host supplies, and
//! [`SoftwareKeyStore`], the SDK's own implementation for tests and desktops.
//!
//! The SDK names keys by alias and never sees their private bytes: it asks the keystore for a
//! public key, a signature, or to wrap and unwrap a secret (the wallet's data key). On phones the
//! host implements the trait over Android Keystore (StrongBox where present) or the Secure
//! Enclave.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use zeroize::Zeroizing;

use super::envelope::{DataKey, KEY_LEN};
use crate::jose::{self, JoseError, JwsSigner, PublicKey};

/// Why a keystore operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// No key has this alias.
    #[error("no key named {0:?}")]
    NotFound(String),
    /// A key has this alias already.
    #[error("a key named {0:?} exists already")]
    Exists(String),
    /// The key is of the other kind (a signing key asked to wrap, or the reverse).
    #[error("the key {0:?} is not a {1} key")]
    WrongKind(String, &'static str),
    /// A wrapped secret did not unwrap: another key, or altered.
    #[error("the wrapped secret does not open under this key")]
    Unwrap,
    /// The keystore's own storage could not be opened with this passphrase or master key.
    #[error("wrong passphrase or master key")]
    Locked,
    /// The platform refused (the user cancelled, the device is locked, hardware failure, ...).
    #[error("the keystore refused: {0}")]
    Refused(String),
    /// The key material the keystore returned is not what was asked for.
    #[error("the keystore returned a malformed {0}")]
    Malformed(&'static str),
    /// Reading or writing the keystore's storage failed.
    #[error("keystore storage: {0}")]
    Storage(String),
}

/// The platform's keystore, reached by alias.
///
/// Implementations must keep private keys inside the keystore: no method returns them.
pub trait KeyStore: Send + Sync {
    /// Makes a new P-256 key for ES256 signatures under `alias` (an error if the alias is taken).
    fn generate_signing_key(&self, alias: &str) -> Result<(), KeyStoreError>;

    /// The public key of the signing key `alias`, SEC1 uncompressed (65 bytes).
    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyStoreError>;

    /// An ECDSA P-256 SHA-256 signature of `message` with the key `alias`: ASN.1 DER (what
    /// Android Keystore and the Secure Enclave return) or `r || s` (64 bytes).
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError>;

    /// Makes a new symmetric key under `alias` for wrapping secrets (AES-256-GCM on the
    /// platforms).
    fn generate_wrapping_key(&self, alias: &str) -> Result<(), KeyStoreError>;

    /// Encrypts `secret` under the wrapping key `alias`.
    fn wrap(&self, alias: &str, secret: &[u8]) -> Result<Vec<u8>, KeyStoreError>;

    /// Decrypts what [`KeyStore::wrap`] made with the same key.
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<Vec<u8>, KeyStoreError>;

    /// Whether a key has this alias.
    fn contains(&self, alias: &str) -> Result<bool, KeyStoreError>;

    /// Deletes the key `alias` (no error if there is none).
    fn delete(&self, alias: &str) -> Result<(), KeyStoreError>;
}

/// A keystore's signing key as a [`JwsSigner`] (for key proofs, KB-JWTs, DPoP proofs).
pub struct KeyStoreSigner<'a> {
    store: &'a dyn KeyStore,
    alias: String,
    public: PublicKey,
}

impl<'a> KeyStoreSigner<'a> {
    /// The signing key `alias` of `store`, with its public key read and checked.
    pub fn new(store: &'a dyn KeyStore, alias: &str) -> Result<Self, KeyStoreError> {
        let public = PublicKey::from_sec1(&store.public_key(alias)?)
            .map_err(|_| KeyStoreError::Malformed("public key"))?;
        Ok(Self {
            store,
            alias: alias.to_owned(),
            public,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }
}

impl JwsSigner for KeyStoreSigner<'_> {
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let signature = self
            .store
            .sign(&self.alias, signing_input)
            .map_err(|e| JoseError::Signing(e.to_string()))?;
        let raw = es256_raw(&signature).ok_or_else(|| {
            JoseError::Signing("the keystore returned a malformed signature".into())
        })?;
        Ok(raw.to_vec())
    }
}

/// An ECDSA P-256 signature as JOSE wants it (`r || s`, 32 bytes each), from the DER
/// `ECDSA-Sig-Value` (RFC 3279) or from `r || s` already. `None` for anything else.
pub fn es256_raw(signature: &[u8]) -> Option<[u8; 64]> {
    if let Ok(raw) = <[u8; 64]>::try_from(signature) {
        return Some(raw);
    }
    // SEQUENCE { INTEGER r, INTEGER s }: short lengths only (at most 2 + 2 * 35 bytes).
    let (&tag, rest) = signature.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() || len >= 0x80 {
        return None;
    }
    let mut out = [0u8; 64];
    let mut rest = body;
    for half in out.chunks_exact_mut(32) {
        let (&tag, after) = rest.split_first()?;
        let (&len, after) = after.split_first()?;
        let len = usize::from(len);
        if tag != 0x02 || len == 0 || len > 33 || after.len() < len {
            return None;
        }
        let (integer, after) = after.split_at(len);
        // DER: no superfluous leading zero, and non-negative.
        if integer[0] & 0x80 != 0 || (len > 1 && integer[0] == 0 && integer[1] & 0x80 == 0) {
            return None;
        }
        let digits = if len == 33 {
            if integer[0] != 0 {
                return None;
            }
            &integer[1..]
        } else {
            integer
        };
        half[32 - digits.len()..].copy_from_slice(digits);
        rest = after;
    }
    rest.is_empty().then_some(out)
}

/// The SDK's keystore for tests and desktops: each key in a file of its own, encrypted under a
/// master key (given, or derived from a passphrase with PBKDF2-HMAC-SHA256).
///
/// File layout in the directory: `keystore.salt` (PBKDF2 salt), `keystore.check` (an envelope
/// that opens only under the right master key), and one `<hex of the alias>.key` per key. Files
/// are written to a temporary name, synced, then renamed: a crash leaves the old file or the new
/// one.
pub struct SoftwareKeyStore {
    dir: PathBuf,
    master: DataKey,
}

/// PBKDF2 iterations for a passphrase (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

const CHECK: &[u8] = b"dinhdanh software keystore v1";
const SIGNING: u8 = 1;
const WRAPPING: u8 = 2;

impl SoftwareKeyStore {
    /// Opens (or creates) the keystore in `dir` with a passphrase.
    pub fn open_with_passphrase(dir: &Path, passphrase: &str) -> Result<Self, KeyStoreError> {
        fs::create_dir_all(dir).map_err(storage)?;
        let salt_path = dir.join("keystore.salt");
        let salt = match fs::read(&salt_path) {
            Ok(salt) => salt,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut salt = [0u8; 16];
                jose::random_bytes(&mut salt).map_err(|e| KeyStoreError::Storage(e.to_string()))?;
                write_atomically(&salt_path, &salt)?;
                salt.to_vec()
            }
            Err(e) => return Err(storage(e)),
        };
        let mut master = Zeroizing::new([0u8; KEY_LEN]);
        let iterations = std::num::NonZeroU32::new(PBKDF2_ITERATIONS)
            .ok_or(KeyStoreError::Storage("iterations".into()))?;
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            passphrase.as_bytes(),
            &mut master[..],
        );
        Self::open_with_master_key(dir, &master)
    }

    /// Opens (or creates) the keystore in `dir` under a 32-byte master key.
    pub fn open_with_master_key(dir: &Path, master: &[u8; KEY_LEN]) -> Result<Self, KeyStoreError> {
        fs::create_dir_all(dir).map_err(storage)?;
        let master = DataKey::new(master);
        let check_path = dir.join("keystore.check");
        match fs::read(&check_path) {
            Ok(check) => {
                let opened = master
                    .open(b"check", &check)
                    .map_err(|_| KeyStoreError::Locked)?;
                if &opened[..] != CHECK {
                    return Err(KeyStoreError::Locked);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let check = master
                    .seal(b"check", CHECK)
                    .map_err(|e| KeyStoreError::Storage(e.to_string()))?;
                write_atomically(&check_path, &check)?;
            }
            Err(e) => return Err(storage(e)),
        }
        Ok(Self {
            dir: dir.to_owned(),
            master,
        })
    }

    fn path(&self, alias: &str) -> PathBuf {
        let mut name = String::with_capacity(alias.len() * 2 + 4);
        for byte in alias.bytes() {
            name.push_str(&format!("{byte:02x}"));
        }
        name.push_str(".key");
        self.dir.join(name)
    }

    fn aad(alias: &str) -> Vec<u8> {
        [b"key\0".as_slice(), alias.as_bytes()].concat()
    }

    fn create(&self, alias: &str, kind: u8, secret: &[u8]) -> Result<(), KeyStoreError> {
        let path = self.path(alias);
        if path.exists() {
            return Err(KeyStoreError::Exists(alias.to_owned()));
        }
        let mut plain = Zeroizing::new(Vec::with_capacity(1 + secret.len()));
        plain.push(kind);
        plain.extend_from_slice(secret);
        let sealed = self
            .master
            .seal(&Self::aad(alias), &plain)
            .map_err(|e| KeyStoreError::Storage(e.to_string()))?;
        write_atomically(&path, &sealed)
    }

    /// The key's secret bytes, if it is of `kind`.
    fn load(&self, alias: &str, kind: u8) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let sealed = match fs::read(self.path(alias)) {
            Ok(sealed) => sealed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyStoreError::NotFound(alias.to_owned()));
            }
            Err(e) => return Err(storage(e)),
        };
        let plain = self
            .master
            .open(&Self::aad(alias), &sealed)
            .map_err(|_| KeyStoreError::Storage(format!("the key file of {alias:?} is altered")))?;
        match plain.split_first() {
            Some((&k, secret)) if k == kind => Ok(Zeroizing::new(secret.to_vec())),
            _ => Err(KeyStoreError::WrongKind(
                alias.to_owned(),
                if kind == SIGNING {
                    "signing"
                } else {
                    "wrapping"
                },
            )),
        }
    }

    fn signing_key(&self, alias: &str) -> Result<EcdsaKeyPair, KeyStoreError> {
        let pkcs8 = self.load(alias, SIGNING)?;
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &pkcs8,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| KeyStoreError::Malformed("stored signing key"))
    }

    fn wrapping_key(&self, alias: &str) -> Result<DataKey, KeyStoreError> {
        let bytes = self.load(alias, WRAPPING)?;
        let bytes: &[u8; KEY_LEN] = bytes[..]
            .try_into()
            .map_err(|_| KeyStoreError::Malformed("stored wrapping key"))?;
        Ok(DataKey::new(bytes))
    }
}

impl KeyStore for SoftwareKeyStore {
    fn generate_signing_key(&self, alias: &str) -> Result<(), KeyStoreError> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| KeyStoreError::Refused("no randomness".into()))?;
        self.create(alias, SIGNING, pkcs8.as_ref())
    }

    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyStoreError> {
        Ok(self.signing_key(alias)?.public_key().as_ref().to_vec())
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let signature = self
            .signing_key(alias)?
            .sign(&ring::rand::SystemRandom::new(), message)
            .map_err(|_| KeyStoreError::Refused("signing failed".into()))?;
        Ok(signature.as_ref().to_vec())
    }

    fn generate_wrapping_key(&self, alias: &str) -> Result<(), KeyStoreError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        jose::random_bytes(&mut bytes[..])
            .map_err(|_| KeyStoreError::Refused("no randomness".into()))?;
        self.create(alias, WRAPPING, &bytes[..])
    }

    fn wrap(&self, alias: &str, secret: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        self.wrapping_key(alias)?
            .seal(b"wrap", secret)
            .map_err(|e| KeyStoreError::Refused(e.to_string()))
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let opened = self
            .wrapping_key(alias)?
            .open(b"wrap", wrapped)
            .map_err(|_| KeyStoreError::Unwrap)?;
        Ok(opened.to_vec())
    }

    fn contains(&self, alias: &str) -> Result<bool, KeyStoreError> {
        Ok(self.path(alias).exists())
    }

    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        match fs::remove_file(self.path(alias)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(storage(e)),
        }
    }
}

impl std::fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareKeyStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn storage(e: std::io::Error) -> KeyStoreError {
    KeyStoreError::Storage(e.to_string())
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, then syncs the
/// directory: after a crash the file holds the old bytes or the new ones.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::File::create(&tmp).map_err(storage)?;
    file.write_all(bytes).map_err(storage)?;
    file.sync_all().map_err(storage)?;
    drop(file);
    fs::rename(&tmp, path).map_err(storage)?;
    if let Ok(dir) = fs::File::open(dir) {
        // Directories cannot be opened for syncing everywhere; where they can, sync the rename.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{JwsHeader, UnverifiedJws, sign_compact};

    fn store(dir: &Path) -> SoftwareKeyStore {
        SoftwareKeyStore::open_with_master_key(dir, &[7u8; 32]).unwrap()
    }

    #[test]
    fn signing_keys_sign_jws_through_the_trait() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        keys.generate_signing_key("device/1").unwrap();
        assert_eq!(
            keys.generate_signing_key("device/1"),
            Err(KeyStoreError::Exists("device/1".into()))
        );
        let signer = KeyStoreSigner::new(&keys, "device/1").unwrap();
        let token = sign_compact(&JwsHeader::es256("test+jwt"), b"{}", &signer).unwrap();
        UnverifiedJws::parse(&token)
            .unwrap()
            .verify(signer.public_key())
            .unwrap();
        // The key survives reopening; another master key cannot open the store.
        let again = store(dir.path());
        assert_eq!(
            again.public_key("device/1").unwrap(),
            signer.public_key().sec1_uncompressed().to_vec()
        );
        assert_eq!(
            SoftwareKeyStore::open_with_master_key(dir.path(), &[8u8; 32]).unwrap_err(),
            KeyStoreError::Locked
        );
        // No key file holds the private key in the clear.
        let pkcs8_tail = &keys.load("device/1", SIGNING).unwrap()[40..];
        for entry in fs::read_dir(dir.path()).unwrap() {
            let bytes = fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(pkcs8_tail.len()).any(|w| w == pkcs8_tail));
        }
        keys.delete("device/1").unwrap();
        keys.delete("device/1").unwrap();
        assert!(!keys.contains("device/1").unwrap());
        assert_eq!(
            keys.sign("device/1", b"x"),
            Err(KeyStoreError::NotFound("device/1".into()))
        );
    }

    #[test]
    fn wrapping_keys_wrap_and_refuse_the_other_kind() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        keys.generate_wrapping_key("wallet").unwrap();
        keys.generate_signing_key("device").unwrap();
        let wrapped = keys.wrap("wallet", b"data key").unwrap();
        assert_eq!(keys.unwrap("wallet", &wrapped).unwrap(), b"data key");
        let mut altered = wrapped.clone();
        altered[20] ^= 1;
        assert_eq!(keys.unwrap("wallet", &altered), Err(KeyStoreError::Unwrap));
        assert!(matches!(
            keys.wrap("device", b"x"),
            Err(KeyStoreError::WrongKind(..))
        ));
        assert!(matches!(
            keys.sign("wallet", b"x"),
            Err(KeyStoreError::WrongKind(..))
        ));
        // A key file copied under another alias does not open there.
        fs::copy(keys.path("wallet"), keys.path("stolen")).unwrap();
        assert!(matches!(
            keys.unwrap("stolen", &wrapped),
            Err(KeyStoreError::Storage(_))
        ));
    }

    #[test]
    fn a_passphrase_derives_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SoftwareKeyStore::open_with_passphrase(dir.path(), "correct horse").unwrap();
        keys.generate_wrapping_key("w").unwrap();
        drop(keys);
        assert!(SoftwareKeyStore::open_with_passphrase(dir.path(), "correct horse").is_ok());
        assert_eq!(
            SoftwareKeyStore::open_with_passphrase(dir.path(), "wrong").unwrap_err(),
            KeyStoreError::Locked
        );
    }

    #[test]
    fn der_signatures_become_raw() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        keys.generate_signing_key("k").unwrap();
        let public = PublicKey::from_sec1(&keys.public_key("k").unwrap()).unwrap();
        for i in 0..64u8 {
            let message = [i; 10];
            let der = keys.sign("k", &message).unwrap();
            let raw = es256_raw(&der).unwrap();
            public.verify_es256(&message, &raw).unwrap();
            assert_eq!(es256_raw(&raw), Some(raw));
        }
        // Short r and s (leading zeros dropped in DER), and malformed encodings.
        let short = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07];
        let raw = es256_raw(&short).unwrap();
        assert_eq!((raw[31], raw[63]), (5, 7));
        assert_eq!(raw.iter().filter(|b| **b != 0).count(), 2);
        for bad in [
            &[0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x07][..], // negative
            &[0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x07], // padded
            &[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01],           // truncated
            &[0x31, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07],     // not a SEQUENCE
            &[
                0x30, 0x09, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07, 0x02, 0x01, 0x01,
            ], // extra
            &[],
        ] {
            assert_eq!(es256_raw(bad), None, "{bad:02x?}");
        }
    }
}
