//! The wallet's encryption at rest: a versioned AEAD envelope.
//!
//! Version 1 is AES-256-GCM with a random 96-bit nonce:
//!
//! ```text
//! 0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)
//! ```
//!
//! The associated data names where the envelope belongs (the table and row it is stored in), so a
//! ciphertext moved to another row, or another file, does not open. A later version changes the
//! first byte; every version this code knows stays readable.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::jose;

/// The envelope version written.
pub const VERSION: u8 = 1;

/// Length of a data key.
pub const KEY_LEN: usize = 32;

const TAG_LEN: usize = 16;

/// Why an envelope did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not an envelope of a version this code reads.
    #[error("unknown envelope version {0}")]
    UnknownVersion(u8),
    /// Shorter than a version byte, a nonce and a tag.
    #[error("truncated envelope")]
    Truncated,
    /// The tag does not match: wrong key, wrong place (associated data), or altered bytes.
    #[error("the envelope does not open (wrong key, wrong place, or altered)")]
    Forged,
    /// The system's random number generator failed.
    #[error("no randomness for a nonce")]
    Random,
}

/// A data key, wiped from memory when dropped.
pub struct DataKey(LessSafeKey);

impl DataKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8; KEY_LEN]) -> Self {
        // A 32-byte key is always a valid AES-256 key.
        #[allow(clippy::expect_used)]
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256 takes 32-byte keys");
        Self(LessSafeKey::new(key))
    }

    /// A fresh random key, with its bytes (to be wrapped and stored).
    pub fn generate() -> Result<(Self, Zeroizing<[u8; KEY_LEN]>), EnvelopeError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        jose::random_bytes(&mut bytes[..]).map_err(|_| EnvelopeError::Random)?;
        Ok((Self::new(&bytes), bytes))
    }

    /// Seals `plaintext` for the place named by `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let mut nonce = [0u8; NONCE_LEN];
        jose::random_bytes(&mut nonce).map_err(|_| EnvelopeError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| EnvelopeError::Forged)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens an envelope sealed for the place named by `aad`.
    pub fn open(&self, aad: &[u8], envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let (&version, rest) = envelope.split_first().ok_or(EnvelopeError::Truncated)?;
        if version != VERSION {
            return Err(EnvelopeError::UnknownVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(EnvelopeError::Truncated);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| EnvelopeError::Truncated)?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let len = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| EnvelopeError::Forged)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_in_its_place_only() {
        let (key, _) = DataKey::generate().unwrap();
        let sealed = key.seal(b"credentials/a", b"secret").unwrap();
        assert_eq!(sealed[0], VERSION);
        assert_eq!(sealed.len(), 1 + 12 + 6 + 16);
        assert_eq!(&key.open(b"credentials/a", &sealed).unwrap()[..], b"secret");
        // Another row, another key, altered bytes, another version, truncation.
        assert_eq!(
            key.open(b"credentials/b", &sealed),
            Err(EnvelopeError::Forged)
        );
        let (other, _) = DataKey::generate().unwrap();
        assert_eq!(
            other.open(b"credentials/a", &sealed),
            Err(EnvelopeError::Forged)
        );
        for i in 1..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 1;
            assert_eq!(
                key.open(b"credentials/a", &altered),
                Err(EnvelopeError::Forged)
            );
        }
        let mut future = sealed.clone();
        future[0] = 2;
        assert_eq!(
            key.open(b"credentials/a", &future),
            Err(EnvelopeError::UnknownVersion(2))
        );
        assert_eq!(key.open(b"x", &sealed[..28]), Err(EnvelopeError::Truncated));
        assert_eq!(key.open(b"x", &[]), Err(EnvelopeError::Truncated));
    }

    #[test]
    fn nonces_are_fresh() {
        let (key, bytes) = DataKey::generate().unwrap();
        let a = key.seal(b"", b"same").unwrap();
        let b = key.seal(b"", b"same").unwrap();
        assert_ne!(a, b);
        // The same bytes make the same key.
        assert_eq!(&DataKey::new(&bytes).open(b"", &a).unwrap()[..], b"same");
    }
}
