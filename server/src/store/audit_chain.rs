//! The hash of an audit entry: it commits to the previous entry's hash and to every field,
//! each length-prefixed so that no two different entries encode alike.

use ring::digest;

/// How many independent chains the log is spread over. Appends to different chains do not
/// wait for each other; `audit verify` checks each chain from its first entry to its head.
pub const AUDIT_CHAINS: i64 = 16;

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The chain an event about `subject` goes to.
pub fn chain_of(subject: &str) -> i64 {
    let digest = digest::digest(&digest::SHA256, subject.as_bytes());
    i64::from(digest.as_ref()[0]) % AUDIT_CHAINS
}

/// The hash of an entry.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &[u8],
    chain: i64,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"dinhdanh-audit-v1");
    context.update(prev_hash);
    for number in [chain, seq, at] {
        context.update(&number.to_be_bytes());
    }
    for field in [actor, action, subject, detail] {
        context.update(&(field.len() as u64).to_be_bytes());
        context.update(field.as_bytes());
    }
    context.finish().as_ref().to_vec()
}

/// Lower-case hexadecimal, as hashes are shown to people and recorded in anchors.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of an anchor: the previous anchor's hash, its number and time, and the heads it
/// records (as stored: JSON `[[chain, seq, "hex"], ...]`).
pub fn anchor_hash(prev_hash: &[u8], seq: i64, at: i64, heads: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"dinhdanh-audit-anchor-v1");
    context.update(prev_hash);
    context.update(&seq.to_be_bytes());
    context.update(&at.to_be_bytes());
    context.update(heads.as_bytes());
    context.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_run_into_each_other() {
        let a = entry_hash(&GENESIS, 0, 1, 0, "ab", "c", "s", "{}");
        let b = entry_hash(&GENESIS, 0, 1, 0, "a", "bc", "s", "{}");
        assert_ne!(a, b);
    }

    #[test]
    fn chains_are_in_range() {
        for subject in ["a", "b", "account-1", ""] {
            assert!((0..AUDIT_CHAINS).contains(&chain_of(subject)));
        }
    }
}
