//! Secrets at rest in the verifier's database (a request's response-encryption key, the claims
//! a wallet disclosed): AES-256-GCM under a key derived from the relying party's own private
//! key (HKDF-SHA256), so every instance sharing the database opens them and a copy of the
//! database alone opens nothing. Each value is bound to its row and purpose (associated data).

use dinhdanh_sdk::jose::Es256KeyPair;
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf,
    rand::{SecureRandom, SystemRandom},
};
use zeroize::Zeroizing;

const VERSION: u8 = 1;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key could not be derived, or no randomness.
    #[error("sealing key or randomness unavailable")]
    Key,
    /// A sealed value that does not open under this key for this row (another RP key, or
    /// altered).
    #[error("a sealed value does not open")]
    Open,
}

/// The sealing key.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// The key derived from the relying party's private key.
    pub fn from_rp_key(rp_key: &Es256KeyPair) -> Result<Self, SealError> {
        let secret = rp_key.to_pkcs8_der().map_err(|_| SealError::Key)?;
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"dinhdanh-verifier storage");
        let info: &[&[u8]] = &[b"sealed request data v1"];
        let prk = salt.extract(&secret);
        let okm = prk.expand(info, &AES_256_GCM).map_err(|_| SealError::Key)?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            random: SystemRandom::new(),
        })
    }

    /// Seals `plain` for `purpose` of row `id`: version, nonce, ciphertext and tag.
    pub fn seal(&self, purpose: &str, id: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| SealError::Key)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plain.len() + 16);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated(purpose, id)),
                &mut body,
            )
            .map_err(|_| SealError::Key)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens what [`Sealer::seal`] sealed for the same `purpose` and `id`.
    pub fn open(
        &self,
        purpose: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (version, rest) = sealed.split_first().ok_or(SealError::Open)?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(associated(purpose, id)), &mut body)
            .map_err(|_| SealError::Open)?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

fn associated(purpose: &str, id: &str) -> Vec<u8> {
    [purpose.as_bytes(), b"\0", id.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_for_its_row_and_key() {
        let key = Es256KeyPair::generate().unwrap();
        let sealer = Sealer::from_rp_key(&key).unwrap();
        let sealed = sealer.seal("key", "r1", b"secret").unwrap();
        assert_eq!(&*sealer.open("key", "r1", &sealed).unwrap(), b"secret");
        assert!(sealer.open("key", "r2", &sealed).is_err());
        assert!(sealer.open("result", "r1", &sealed).is_err());
        let other = Sealer::from_rp_key(&Es256KeyPair::generate().unwrap()).unwrap();
        assert!(other.open("key", "r1", &sealed).is_err());
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(sealer.open("key", "r1", &altered).is_err());
        // The same key reloaded (another instance) opens it.
        let again = Sealer::from_rp_key(
            &Es256KeyPair::from_pkcs8_der(&key.to_pkcs8_der().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(&*again.open("key", "r1", &sealed).unwrap(), b"secret");
    }
}
