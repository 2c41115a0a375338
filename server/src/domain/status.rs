//! Status lists (Token Status List draft 21): unpredictable indexes for issued copies, and the
//! signed `statuslist+jwt` tokens verifiers fetch.
//!
//! Indexes: each list hands out the positions of a counter through a keyed permutation of
//! `[0, size)` (a Feistel network whose round keys derive from the server key and the list id),
//! so consecutive issuances land at random-looking, never colliding positions, with O(1) state
//! per list (DESIGN §7). Each server process reserves counter blocks from the database and
//! spends them in memory: one database write per block, not per copy.

use dinhdanh_sdk::status_list::{StatusList, StatusListToken};
use ring::hmac;
use tokio::sync::Mutex;

use crate::{
    domain::pki::IssuerKeys,
    platform::secrets::ServerKey,
    store::{CredentialStatus, StatusBlock, Store, StoreError},
};

/// Bits per entry: enough for valid (0), invalid (1) and suspended (2), the values of
/// [`CredentialStatus`].
pub const BITS: u8 = 2;

/// Counter positions reserved per database round trip.
const BLOCK: i64 = 1024;
/// Feistel rounds (more than enough for a permutation that only has to look random to someone
/// without the key).
const ROUNDS: u8 = 8;

/// A keyed permutation of `[0, 2^log2)`.
pub struct Permutation {
    key: hmac::Key,
    half_bits: u32,
    log2: u32,
}

impl Permutation {
    /// The permutation of one list.
    pub fn new(server_key: &ServerKey, list_id: i64, log2: u32) -> Self {
        let seed = server_key.mac("status-list-permutation", &[&list_id.to_be_bytes()]);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            // An even number of bits splits in two equal halves; an odd size walks the cycle of
            // the next even size until it lands inside.
            half_bits: log2.div_ceil(2),
            log2,
        }
    }

    fn round(&self, round: u8, half: u64) -> u64 {
        let tag = hmac::sign(&self.key, &[&[round][..], &half.to_be_bytes()].concat());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&tag.as_ref()[..8]);
        u64::from_be_bytes(bytes) & ((1 << self.half_bits) - 1)
    }

    fn feistel(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (value >> self.half_bits, value & mask);
        for round in 0..ROUNDS {
            let next = left ^ self.round(round, right);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }

    /// The index of counter position `n` (`n < 2^log2`).
    pub fn index(&self, n: u64) -> u64 {
        let mut value = n;
        loop {
            value = self.feistel(value);
            if value >> self.log2 == 0 {
                return value;
            }
        }
    }
}

/// Hands out status-list positions from blocks reserved in the database.
pub struct Allocator {
    log2: u32,
    current: Mutex<Option<(StatusBlock, i64, Permutation)>>,
}

impl std::fmt::Debug for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allocator")
            .field("log2", &self.log2)
            .finish_non_exhaustive()
    }
}

impl Allocator {
    /// An allocator for lists of `2^log2` entries.
    pub fn new(log2: u32) -> Self {
        Self {
            log2,
            current: Mutex::new(None),
        }
    }

    /// The size of this allocator's lists.
    pub fn size(&self) -> i64 {
        1 << self.log2
    }

    /// `count` fresh `(list id, index)` positions.
    pub async fn allocate(
        &self,
        store: &Store,
        key: &ServerKey,
        count: usize,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut out = Vec::with_capacity(count);
        let mut current = self.current.lock().await;
        while out.len() < count {
            match current.as_mut() {
                Some((block, next, permutation)) if *next < block.first + block.count => {
                    out.push((block.list_id, permutation.index(*next as u64) as i64));
                    *next += 1;
                }
                _ => {
                    let block = self.reserve(store).await?;
                    let permutation = Permutation::new(key, block.list_id, self.log2);
                    *current = Some((block, block.first, permutation));
                }
            }
        }
        Ok(out)
    }

    async fn reserve(&self, store: &Store) -> Result<StatusBlock, StoreError> {
        // Two processes opening the next list at once: one wins the id, the other retries.
        let mut attempts = 0;
        loop {
            match store
                .reserve_status_indexes(i64::from(BITS), self.size(), BLOCK)
                .await
            {
                Err(error) if error.is_unique_violation() && attempts < 3 => attempts += 1,
                other => return other,
            }
        }
    }
}

/// A status list token as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedToken {
    /// The signed `statuslist+jwt`.
    pub token: String,
    /// Seconds the client may cache it.
    pub max_age: i64,
}

/// The URI a list is published at (the `uri` of credentials' status references).
pub fn list_uri(public_url: &str, list_id: i64) -> String {
    format!("{public_url}/status-lists/{list_id}")
}

/// The current token of a list: the cached one while it is for the list's current version and
/// has more than a `ttl` of validity left, else a freshly built and signed one (then cached).
pub async fn token(
    store: &Store,
    keys: &IssuerKeys,
    public_url: &str,
    settings: &crate::platform::config::IssuanceSettings,
    list_id: i64,
    now: i64,
) -> Result<Option<ServedToken>, StatusError> {
    let Some(row) = store.status_list(list_id).await? else {
        return Ok(None);
    };
    let ttl = settings.status_ttl_seconds;
    if let (Some(token), Some(version), Some(exp)) = (&row.token, row.token_version, row.token_exp)
        && version == row.version
        && exp - now > ttl
    {
        return Ok(Some(ServedToken {
            token: token.clone(),
            max_age: ttl,
        }));
    }
    let entries = store.status_entries(list_id).await?;
    let token = build(keys, public_url, &row, &entries, now, settings)?;
    store
        .save_status_token(
            list_id,
            &token,
            row.version,
            now + settings.status_validity_seconds,
        )
        .await?;
    Ok(Some(ServedToken {
        token,
        max_age: ttl,
    }))
}

/// Builds and signs the token of a list from its non-valid entries.
pub fn build(
    keys: &IssuerKeys,
    public_url: &str,
    row: &crate::store::StatusListRow,
    entries: &[(i64, CredentialStatus)],
    now: i64,
    settings: &crate::platform::config::IssuanceSettings,
) -> Result<String, StatusError> {
    let bits = u8::try_from(row.bits).map_err(|_| StatusError::Corrupt)?;
    let size = usize::try_from(row.size).map_err(|_| StatusError::Corrupt)?;
    let mut list = StatusList::new(bits, size).map_err(|_| StatusError::Corrupt)?;
    for (idx, status) in entries {
        let idx = usize::try_from(*idx).map_err(|_| StatusError::Corrupt)?;
        list.set(idx, status.as_u8())
            .map_err(|_| StatusError::Corrupt)?;
    }
    let mut token = StatusListToken::new(list_uri(public_url, row.id), now.max(0) as u64, list);
    token.exp = Some((now + settings.status_validity_seconds).max(0) as u64);
    token.ttl = Some(settings.status_ttl_seconds.max(1) as u64);
    token
        .sign(
            &keys.header(dinhdanh_sdk::status_list::STATUS_LIST_JWT_TYP),
            &keys.signer,
        )
        .map_err(|e| StatusError::Sign(e.to_string()))
}

/// Why a status list token could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored list or entry is out of range.
    #[error("corrupt status list")]
    Corrupt,
    /// Signing failed.
    #[error("signing the status list: {0}")]
    Sign(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_a_bijection_that_looks_random() {
        let key = ServerKey::new(&[7u8; 32]);
        for log2 in [16u32, 17] {
            let permutation = Permutation::new(&key, 1, log2);
            let size = 1usize << log2;
            let mut seen = vec![false; size];
            for n in 0..size as u64 {
                let idx = permutation.index(n) as usize;
                assert!(idx < size);
                assert!(!seen[idx], "collision at {n}");
                seen[idx] = true;
            }
            // Consecutive counters are not neighbours.
            let first: Vec<u64> = (0..16).map(|n| permutation.index(n)).collect();
            let close = first
                .windows(2)
                .filter(|w| w[0].abs_diff(w[1]) < 64)
                .count();
            assert!(close < 3, "{first:?}");
        }
        // Another list (or another server key) permutes differently.
        let a = Permutation::new(&key, 1, 16);
        let b = Permutation::new(&key, 2, 16);
        let c = Permutation::new(&ServerKey::new(&[8u8; 32]), 1, 16);
        let same = |p: &Permutation, q: &Permutation| {
            (0..64).filter(|n| p.index(*n) == q.index(*n)).count()
        };
        assert!(same(&a, &b) < 4 && same(&a, &c) < 4);
    }
}
