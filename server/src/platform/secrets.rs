//! Random tokens and how they are kept: bearer secrets are stored as SHA-256 digests, short
//! codes (which a digest alone would not protect: there are only 10^6) as HMACs under the
//! server's secret key, and compared in constant time.

use ring::{
    digest, hmac,
    rand::{SecureRandom, SystemRandom},
};
use zeroize::Zeroizing;

/// A fresh random token: 32 bytes, base64url.
pub fn token() -> String {
    dinhdanh_sdk::jose::b64::encode(random_bytes::<32>())
}

/// A fresh random id (UUID v4 form).
pub fn id() -> String {
    uuid::Builder::from_random_bytes(random_bytes::<16>())
        .into_uuid()
        .to_string()
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator only fails when it has no entropy yet (early boot): wait for it, never
    // fall back to anything weaker.
    while SystemRandom::new().fill(&mut bytes).is_err() {
        std::thread::yield_now();
    }
    bytes
}

/// A six-digit one-time code, uniform over 000000..=999999.
pub fn six_digit_code() -> Zeroizing<String> {
    loop {
        let n = u32::from_be_bytes(random_bytes::<4>());
        // Rejection sampling: no bias towards small codes.
        if n < 4_294_000_000 {
            return Zeroizing::new(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The stored form of a bearer token.
pub fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// Constant-time equality of two byte strings.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's secret key for HMACs (codes, rate-limit keys). Never logged.
pub struct ServerKey(hmac::Key);

impl ServerKey {
    /// From raw key bytes (at least 32).
    pub fn new(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// HMAC-SHA-256 of `parts`, each length-prefixed, under a purpose label.
    pub fn mac(&self, purpose: &str, parts: &[&[u8]]) -> Vec<u8> {
        let mut context = hmac::Context::with_key(&self.0);
        for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        context.sign().as_ref().to_vec()
    }

    /// A keyed, non-reversible reference to a personal value (for counters and logs).
    pub fn pseudonym(&self, purpose: &str, value: &str) -> String {
        dinhdanh_sdk::jose::b64::encode(&self.mac(purpose, &[value.as_bytes()])[..16])
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = six_digit_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn equality() {
        assert!(equal(b"abc", b"abc"));
        assert!(!equal(b"abc", b"abd"));
        assert!(!equal(b"abc", b"ab"));
    }

    #[test]
    fn macs_are_keyed_and_separated() {
        let (a, b) = (ServerKey::new(&[1; 32]), ServerKey::new(&[2; 32]));
        assert_ne!(a.mac("x", &[b"1"]), b.mac("x", &[b"1"]));
        assert_ne!(a.mac("x", &[b"1", b"2"]), a.mac("x", &[b"12"]));
        assert_ne!(a.mac("x", &[b"1"]), a.mac("y", &[b"1"]));
    }
}
