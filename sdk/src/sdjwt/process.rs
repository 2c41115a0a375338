//! The one traversal of an SD-JWT payload (RFC 9901 section 7.1, step 3): replaces digests by the
//! disclosures they reference and enforces every rule on the way. The verifier uses it to produce
//! the claims; the holder uses it to learn which disclosure sits at which path.

use serde_json::{Map, Value, map::Entry};

use super::{ClaimPath, Disclosure, MAX_DEPTH, SdJwtError};

/// Where a disclosure was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DisclosureSite {
    /// Index into the SD-JWT's disclosures.
    pub disclosure: usize,
    /// The claim path it discloses.
    pub path: ClaimPath,
    /// The disclosure whose value contains the digest of this one, if any.
    pub parent: Option<usize>,
}

/// The processed claims and where each disclosure went.
pub(crate) struct Processed {
    pub claims: Map<String, Value>,
    pub sites: Vec<DisclosureSite>,
}

/// The path to the value being processed, as a chain of borrowed segments on the stack: built
/// into a [`ClaimPath`] only where a disclosure is found.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

#[derive(Clone, Copy)]
struct At<'a> {
    parent: Option<&'a At<'a>>,
    segment: Segment<'a>,
}

fn materialize(at: Option<&At<'_>>) -> ClaimPath {
    let text = |node: &At<'_>| match node.segment {
        Segment::Name(name) => name.to_owned(),
        Segment::Index(index) => index.to_string(),
    };
    match at {
        // A top-level claim: the common case, one allocation.
        Some(node) if node.parent.is_none() => ClaimPath::one(text(node)),
        _ => {
            // Walks the chain twice (it is a few links long) to allocate the path once, at its
            // size.
            let chain = || std::iter::successors(at, |node| node.parent);
            let mut segments = vec![String::new(); chain().count()];
            for (slot, node) in segments.iter_mut().rev().zip(chain()) {
                *slot = text(node);
            }
            ClaimPath::from_segments(segments)
        }
    }
}

/// Length of a base64url SHA-256 digest: every real digest; other strings can only be decoys.
const DIGEST_LEN: usize = crate::jose::DIGEST_B64_LEN;

/// The lexicographic order of two digests. Digests are random, so their first eight bytes, compared
/// as one big-endian integer, almost always decide; the rest is compared only on a tie. Sorting and
/// searching the digests of a presentation with it (and looking for duplicates among them) avoids
/// a `memcmp` call per comparison.
fn digest_order(a: &[u8; DIGEST_LEN], b: &[u8; DIGEST_LEN]) -> std::cmp::Ordering {
    let prefix =
        |d: &[u8; DIGEST_LEN]| u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    prefix(a).cmp(&prefix(b)).then_with(|| a[8..].cmp(&b[8..]))
}

/// A digest-sized string as a fixed array; anything else (at best a decoy) is `None`.
fn fixed_digest(text: &str) -> Option<[u8; DIGEST_LEN]> {
    <[u8; DIGEST_LEN]>::try_from(text.as_bytes()).ok()
}

/// The top-level `_sd` of a payload, read without building a JSON value per digest.
pub(crate) enum TopDigests {
    /// No `_sd` member.
    Absent,
    /// The digests (strings of digest length kept inline; other strings, decoys at best, owned).
    Digests(Vec<Result<[u8; DIGEST_LEN], String>>),
    /// `_sd` is not an array of strings.
    Invalid(&'static str),
}

/// An issuer-signed payload: its claims without the top-level `_sd`, and that `_sd`.
pub(crate) struct Payload {
    pub claims: Map<String, Value>,
    pub top: TopDigests,
}

impl<'de> serde::Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> serde::de::Visitor<'de> for PayloadVisitor {
            type Value = Payload;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Payload, A::Error> {
                use serde::de::Error;
                let mut claims = Map::with_capacity(map.size_hint().unwrap_or(24).max(24));
                let mut top = TopDigests::Absent;
                while let Some(name) = map.next_key::<String>()? {
                    if name == "_sd" {
                        if !matches!(top, TopDigests::Absent) {
                            return Err(A::Error::custom("duplicate _sd"));
                        }
                        top = map.next_value::<SdArray>()?.0;
                    } else {
                        let value: Value = map.next_value()?;
                        if claims.insert(name, value).is_some() {
                            return Err(A::Error::custom("duplicate claim name"));
                        }
                    }
                }
                Ok(Payload { claims, top })
            }
        }
        deserializer.deserialize_map(PayloadVisitor)
    }
}

struct SdArray(TopDigests);

impl<'de> serde::Deserialize<'de> for SdArray {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SdVisitor;
        impl<'de> serde::de::Visitor<'de> for SdVisitor {
            type Value = SdArray;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SdArray, A::Error> {
                let mut digests = Vec::with_capacity(seq.size_hint().unwrap_or(16));
                let mut invalid = false;
                while let Some(item) = seq.next_element::<DigestItem>()? {
                    match item {
                        DigestItem::Digest(digest) => digests.push(digest),
                        DigestItem::NotAString => invalid = true,
                    }
                }
                Ok(SdArray(if invalid {
                    TopDigests::Invalid("_sd holds a non-string")
                } else {
                    TopDigests::Digests(digests)
                }))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SdArray, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_bool<E>(self, _: bool) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_i64<E>(self, _: i64) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_u64<E>(self, _: u64) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_f64<E>(self, _: f64) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_str<E>(self, _: &str) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }

            fn visit_unit<E>(self) -> Result<SdArray, E> {
                Ok(SdArray(TopDigests::Invalid("_sd is not an array")))
            }
        }
        deserializer.deserialize_any(SdVisitor)
    }
}

enum DigestItem {
    Digest(Result<[u8; DIGEST_LEN], String>),
    NotAString,
}

impl<'de> serde::Deserialize<'de> for DigestItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> serde::de::Visitor<'de> for ItemVisitor {
            type Value = DigestItem;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_str<E>(self, text: &str) -> Result<DigestItem, E> {
                Ok(DigestItem::Digest(
                    fixed_digest(text).ok_or_else(|| text.to_owned()),
                ))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DigestItem, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(DigestItem::NotAString)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DigestItem, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(DigestItem::NotAString)
            }

            fn visit_bool<E>(self, _: bool) -> Result<DigestItem, E> {
                Ok(DigestItem::NotAString)
            }

            fn visit_i64<E>(self, _: i64) -> Result<DigestItem, E> {
                Ok(DigestItem::NotAString)
            }

            fn visit_u64<E>(self, _: u64) -> Result<DigestItem, E> {
                Ok(DigestItem::NotAString)
            }

            fn visit_f64<E>(self, _: f64) -> Result<DigestItem, E> {
                Ok(DigestItem::NotAString)
            }

            fn visit_unit<E>(self) -> Result<DigestItem, E> {
                Ok(DigestItem::NotAString)
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

struct Walk<'d> {
    disclosures: &'d mut [Disclosure],
    /// Disclosure indexes sorted by digest.
    by_digest: Vec<usize>,
    referenced: Vec<bool>,
    /// Every digest met, to find duplicates at the end; odd-length strings kept aside.
    seen: Vec<[u8; DIGEST_LEN]>,
    seen_other: Vec<String>,
    sites: Vec<DisclosureSite>,
    parent: Option<usize>,
}

/// Processes `payload` (the issuer-signed JWT's claims) against `disclosures`, in place: digests
/// are replaced by the disclosed claims, `_sd` and `_sd_alg` removed. The disclosures' values are
/// moved into the result; the disclosures keep their encoded form and digests.
pub(crate) fn process(
    payload: Payload,
    disclosures: &mut [Disclosure],
) -> Result<Processed, SdJwtError> {
    let Payload {
        claims: mut payload,
        top,
    } = payload;
    match payload.shift_remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == super::SD_ALG => {}
        Some(Value::String(alg)) => return Err(SdJwtError::UnsupportedHashAlgorithm(alg)),
        Some(_) => return Err(SdJwtError::UnsupportedHashAlgorithm(String::new())),
    }
    let mut by_digest: Vec<usize> = (0..disclosures.len()).collect();
    by_digest.sort_unstable_by(|&a, &b| {
        digest_order(disclosures[a].digest_bytes(), disclosures[b].digest_bytes())
    });
    if by_digest.windows(2).any(|pair| {
        digest_order(
            disclosures[pair[0]].digest_bytes(),
            disclosures[pair[1]].digest_bytes(),
        )
        .is_eq()
    }) {
        return Err(SdJwtError::DuplicateDisclosure);
    }
    let count = disclosures.len();
    let mut walk = Walk {
        disclosures,
        by_digest,
        referenced: vec![false; count],
        seen: Vec::with_capacity(count * 2 + 8),
        seen_other: Vec::new(),
        sites: Vec::with_capacity(count),
        parent: None,
    };
    walk.object(&mut payload, None, 0, Some(top))?;
    walk.seen.sort_unstable_by(digest_order);
    if let Some(pair) = walk
        .seen
        .windows(2)
        .find(|pair| digest_order(&pair[0], &pair[1]).is_eq())
    {
        return Err(SdJwtError::DuplicateDigest(
            String::from_utf8_lossy(&pair[0]).into_owned(),
        ));
    }
    walk.seen_other.sort_unstable();
    if let Some(pair) = walk.seen_other.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(SdJwtError::DuplicateDigest(pair[0].clone()));
    }
    if walk.referenced.iter().any(|r| !r) {
        return Err(SdJwtError::UnreferencedDisclosure);
    }
    Ok(Processed {
        claims: payload,
        sites: walk.sites,
    })
}

impl Walk<'_> {
    fn value(&mut self, value: &mut Value, at: &At<'_>, depth: usize) -> Result<(), SdJwtError> {
        match value {
            Value::Object(map) => self.object(map, Some(at), depth + 1, None),
            Value::Array(items) => self.array(items, at, depth + 1),
            _ => Ok(()),
        }
    }

    /// Processes an object in place; `top` carries the payload's own `_sd`, read apart.
    fn object(
        &mut self,
        map: &mut Map<String, Value>,
        at: Option<&At<'_>>,
        depth: usize,
        top: Option<TopDigests>,
    ) -> Result<(), SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooDeep);
        }
        if map.contains_key("...") {
            return Err(SdJwtError::InvalidDigestUse(
                "\"...\" outside an array element",
            ));
        }
        let digests = match top {
            Some(top) => top,
            None => match map.shift_remove("_sd") {
                None => TopDigests::Absent,
                Some(Value::Array(items)) => {
                    let mut digests = Vec::with_capacity(items.len());
                    for item in items {
                        let Value::String(digest) = item else {
                            return Err(SdJwtError::InvalidDigestUse("_sd holds a non-string"));
                        };
                        digests.push(fixed_digest(&digest).ok_or(digest));
                    }
                    TopDigests::Digests(digests)
                }
                Some(_) => TopDigests::Invalid("_sd is not an array"),
            },
        };
        for (name, value) in map.iter_mut() {
            let here = At {
                parent: at,
                segment: Segment::Name(name),
            };
            self.value(value, &here, depth)?;
        }
        let digests = match digests {
            TopDigests::Absent => return Ok(()),
            TopDigests::Invalid(reason) => return Err(SdJwtError::InvalidDigestUse(reason)),
            TopDigests::Digests(digests) => digests,
        };
        for digest in digests {
            let Some(index) = self.claim(digest)? else {
                continue; // a decoy, or a claim the holder did not disclose
            };
            let disclosure = &mut self.disclosures[index];
            let Some(name) = disclosure.take_name() else {
                return Err(SdJwtError::InvalidDigestUse(
                    "array-element disclosure referenced from _sd",
                ));
            };
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::ReservedClaimName(name));
            }
            // One lookup finds a collision and keeps the slot the claim goes into.
            let slot = match map.entry(name) {
                Entry::Occupied(taken) => {
                    return Err(SdJwtError::ClaimNameCollision(taken.key().clone()));
                }
                Entry::Vacant(slot) => slot,
            };
            let mut value = disclosure.take_value();
            let here = At {
                parent: at,
                segment: Segment::Name(slot.key()),
            };
            self.disclosed(index, &mut value, &here, depth)?;
            slot.insert(value);
        }
        Ok(())
    }

    fn array(
        &mut self,
        items: &mut Vec<Value>,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooDeep);
        }
        let input = std::mem::take(items);
        items.reserve(input.len());
        for item in input {
            let here = At {
                parent: Some(at),
                segment: Segment::Index(items.len()),
            };
            let digest = match item {
                Value::Object(mut map) if map.contains_key("...") => {
                    if map.len() != 1 {
                        return Err(SdJwtError::InvalidDigestUse(
                            "\"...\" beside other keys in an array element",
                        ));
                    }
                    match map.shift_remove("...") {
                        Some(Value::String(digest)) => fixed_digest(&digest).ok_or(digest),
                        _ => return Err(SdJwtError::InvalidDigestUse("\"...\" is not a string")),
                    }
                }
                mut item => {
                    self.value(&mut item, &here, depth)?;
                    items.push(item);
                    continue;
                }
            };
            let Some(index) = self.claim(digest)? else {
                continue; // undisclosed element or decoy: removed
            };
            let disclosure = &mut self.disclosures[index];
            if disclosure.name().is_some() {
                return Err(SdJwtError::InvalidDigestUse(
                    "object-property disclosure referenced from an array",
                ));
            }
            let mut value = disclosure.take_value();
            self.disclosed(index, &mut value, &here, depth)?;
            items.push(value);
        }
        Ok(())
    }

    /// Records a digest as seen and finds its disclosure. A disclosure referenced twice is
    /// refused at once; repeated decoys are found by the check at the end of the walk.
    fn claim(
        &mut self,
        digest: Result<[u8; DIGEST_LEN], String>,
    ) -> Result<Option<usize>, SdJwtError> {
        let fixed = match digest {
            Ok(fixed) => fixed,
            Err(other) => {
                // Not digest-sized: no disclosure can match it.
                self.seen_other.push(other);
                return Ok(None);
            }
        };
        let found = self
            .by_digest
            .binary_search_by(|&i| digest_order(self.disclosures[i].digest_bytes(), &fixed))
            .ok()
            .map(|position| self.by_digest[position]);
        if let Some(index) = found {
            if self.referenced[index] {
                return Err(SdJwtError::DuplicateDigest(
                    String::from_utf8_lossy(&fixed).into_owned(),
                ));
            }
            self.referenced[index] = true;
        }
        self.seen.push(fixed);
        Ok(found)
    }

    /// Processes the value of disclosure `index`, found at `at`.
    fn disclosed(
        &mut self,
        index: usize,
        value: &mut Value,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        self.sites.push(DisclosureSite {
            disclosure: index,
            path: materialize(Some(at)),
            parent: self.parent,
        });
        let outer = self.parent.replace(index);
        let result = self.value(value, at, depth + 1);
        self.parent = outer;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_order_is_lexicographic() {
        let digest = |prefix: &[u8], last: u8| {
            let mut d = [b'A'; DIGEST_LEN];
            d[..prefix.len()].copy_from_slice(prefix);
            d[DIGEST_LEN - 1] = last;
            d
        };
        let samples = [
            digest(b"zzzzzzzz", b'A'),
            digest(b"AAAAAAAB", b'A'),
            digest(b"AAAAAAAA", b'B'),
            digest(b"AAAAAAAA", b'A'),
            digest(b"-_09azAZ", b'z'),
            digest(b"AAAAAAAA", b'A'),
        ];
        for a in &samples {
            for b in &samples {
                assert_eq!(digest_order(a, b), a.cmp(b));
            }
        }
    }
}
