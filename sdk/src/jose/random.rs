//! Random bytes for salts, decoys and nonces: a per-thread ChaCha20 keystream keyed from the
//! operating system's CSPRNG.
//!
//! Issuing one credential takes a dozen 128-bit salts. Asking the kernel for each (or even once
//! per credential) costs a system call that is a measurable share of issuance; a keystream
//! generator keyed with 256 bits from the OS is as unpredictable and costs a fraction of it. The
//! key is replaced after [`RESEED_AFTER`] uses and whenever the process id changes (after a
//! `fork`, parent and child must not share a stream). Signing nonces are not drawn from here:
//! `ring` takes its own from the OS.

use std::cell::RefCell;

use ring::aead::{self, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroize;

use super::JoseError;

/// Calls before the generator takes a fresh key from the OS.
pub const RESEED_AFTER: u64 = 1 << 16;

struct Generator {
    key: LessSafeKey,
    counter: u64,
    pid: u32,
}

impl Generator {
    fn new() -> Result<Self, JoseError> {
        let mut seed = [0u8; 32];
        super::random_bytes(&mut seed)?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &seed)
            .map_err(|_| JoseError::Signing("random generator key".into()));
        seed.zeroize();
        Ok(Self {
            key: LessSafeKey::new(key?),
            counter: 0,
            pid: std::process::id(),
        })
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<(), JoseError> {
        // The keystream is ChaCha20 under a fresh nonce per call: encrypting zeros yields it.
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter += 1;
        out.fill(0);
        self.key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                out,
            )
            .map(|_| ())
            .map_err(|_| JoseError::Signing("random generator".into()))
    }
}

thread_local! {
    static GENERATOR: RefCell<Option<Generator>> = const { RefCell::new(None) };
}

/// Fills `out` with unpredictable bytes.
pub fn fill(out: &mut [u8]) -> Result<(), JoseError> {
    GENERATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let stale = slot
            .as_ref()
            .is_none_or(|g| g.counter >= RESEED_AFTER || g.pid != std::process::id());
        if stale {
            *slot = Some(Generator::new()?);
        }
        match slot.as_mut() {
            Some(generator) => generator.fill(out),
            None => Err(JoseError::Signing("random generator".into())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_differ_and_look_random() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 64]);
        // Roughly half the bits set over a larger sample.
        let mut big = vec![0u8; 1 << 16];
        fill(&mut big).unwrap();
        let ones: u32 = big.iter().map(|b| b.count_ones()).sum();
        let expected = (big.len() * 4) as f64;
        assert!((ones as f64 - expected).abs() < expected * 0.01, "{ones}");
    }

    #[test]
    fn threads_get_their_own_streams() {
        let mut here = [0u8; 32];
        fill(&mut here).unwrap();
        let there = std::thread::spawn(|| {
            let mut out = [0u8; 32];
            fill(&mut out).unwrap();
            out
        })
        .join()
        .unwrap();
        assert_ne!(here, there);
    }

    #[test]
    fn reseeds() {
        GENERATOR.with(|cell| {
            if let Some(g) = cell.borrow_mut().as_mut() {
                g.counter = RESEED_AFTER;
            }
        });
        let mut out = [0u8; 16];
        fill(&mut out).unwrap();
        GENERATOR.with(|cell| assert_eq!(cell.borrow().as_ref().unwrap().counter, 1));
    }
}
