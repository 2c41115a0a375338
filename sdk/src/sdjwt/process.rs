//! The one traversal of an SD-JWT payload (RFC 9901 section 7.1, step 3): replaces digests by the
//! disclosures they reference and enforces every rule on the way. The verifier uses it to produce
//! the claims; the holder uses it to learn which disclosure sits at which path.

use std::collections::HashSet;

use serde_json::{Map, Value};

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

struct Walk<'d> {
    disclosures: &'d mut [Disclosure],
    /// `(digest, index)` sorted by digest.
    by_digest: Vec<(String, usize)>,
    referenced: Vec<bool>,
    seen: HashSet<String>,
    sites: Vec<DisclosureSite>,
    path: ClaimPath,
    parent: Option<usize>,
}

/// Processes `payload` (the issuer-signed JWT's claims) against `disclosures`. The disclosures'
/// values are moved into the result; the disclosures keep their encoded form and digests.
pub(crate) fn process(
    mut payload: Map<String, Value>,
    disclosures: &mut [Disclosure],
) -> Result<Processed, SdJwtError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == super::SD_ALG => {}
        Some(Value::String(alg)) => return Err(SdJwtError::UnsupportedHashAlgorithm(alg)),
        Some(_) => return Err(SdJwtError::UnsupportedHashAlgorithm(String::new())),
    }
    let mut by_digest: Vec<(String, usize)> = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| (d.digest().to_owned(), i))
        .collect();
    by_digest.sort_unstable();
    if by_digest.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(SdJwtError::DuplicateDisclosure);
    }
    let count = disclosures.len();
    let mut walk = Walk {
        disclosures,
        by_digest,
        referenced: vec![false; count],
        seen: HashSet::with_capacity(count * 2 + 8),
        sites: Vec::with_capacity(count),
        path: ClaimPath::root(),
        parent: None,
    };
    let claims = walk.object(payload, 0)?;
    if walk.referenced.iter().any(|r| !r) {
        return Err(SdJwtError::UnreferencedDisclosure);
    }
    Ok(Processed {
        claims,
        sites: walk.sites,
    })
}

impl Walk<'_> {
    fn value(&mut self, value: Value, depth: usize) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(map) => Ok(Value::Object(self.object(map, depth + 1)?)),
            Value::Array(items) => Ok(Value::Array(self.array(items, depth + 1)?)),
            other => Ok(other),
        }
    }

    fn object(
        &mut self,
        mut map: Map<String, Value>,
        depth: usize,
    ) -> Result<Map<String, Value>, SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooDeep);
        }
        let digests = map.remove("_sd");
        let mut out = Map::with_capacity(map.len() + 8);
        for (name, value) in map {
            if name == "..." {
                return Err(SdJwtError::InvalidDigestUse(
                    "\"...\" outside an array element",
                ));
            }
            self.path.push(name.as_str());
            let value = self.value(value, depth);
            self.path.pop();
            out.insert(name, value?);
        }
        let Some(digests) = digests else {
            return Ok(out);
        };
        let Value::Array(digests) = digests else {
            return Err(SdJwtError::InvalidDigestUse("_sd is not an array"));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(SdJwtError::InvalidDigestUse("_sd holds a non-string"));
            };
            let Some(index) = self.claim(&digest)? else {
                continue; // a decoy, or a claim the holder did not disclose
            };
            let disclosure = &mut self.disclosures[index];
            let Some(name) = disclosure.name().map(str::to_owned) else {
                return Err(SdJwtError::InvalidDigestUse(
                    "array-element disclosure referenced from _sd",
                ));
            };
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::ReservedClaimName(name));
            }
            if out.contains_key(&name) {
                return Err(SdJwtError::ClaimNameCollision(name));
            }
            let value = disclosure.take_value();
            self.path.push(name.as_str());
            let value = self.disclosed(index, value, depth);
            self.path.pop();
            out.insert(name, value?);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>, depth: usize) -> Result<Vec<Value>, SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooDeep);
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let digest = match &item {
                Value::Object(map) if map.contains_key("...") => {
                    if map.len() != 1 {
                        return Err(SdJwtError::InvalidDigestUse(
                            "\"...\" beside other keys in an array element",
                        ));
                    }
                    match map.get("...") {
                        Some(Value::String(digest)) => Some(digest.clone()),
                        _ => return Err(SdJwtError::InvalidDigestUse("\"...\" is not a string")),
                    }
                }
                _ => None,
            };
            self.path.push(out.len().to_string());
            let result = match digest {
                None => self.value(item, depth).map(Some),
                Some(digest) => match self.claim(&digest)? {
                    None => Ok(None), // undisclosed element or decoy: removed
                    Some(index) => {
                        let disclosure = &mut self.disclosures[index];
                        if disclosure.name().is_some() {
                            return Err(SdJwtError::InvalidDigestUse(
                                "object-property disclosure referenced from an array",
                            ));
                        }
                        let value = disclosure.take_value();
                        self.disclosed(index, value, depth).map(Some)
                    }
                },
            };
            self.path.pop();
            if let Some(value) = result? {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// Records a digest as seen (each may appear once) and finds its disclosure.
    fn claim(&mut self, digest: &str) -> Result<Option<usize>, SdJwtError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest(digest.to_owned()));
        }
        let found = self
            .by_digest
            .binary_search_by(|(d, _)| d.as_str().cmp(digest))
            .ok()
            .map(|position| self.by_digest[position].1);
        if let Some(index) = found {
            self.referenced[index] = true;
        }
        Ok(found)
    }

    /// Processes the value of disclosure `index`, found at the current path.
    fn disclosed(&mut self, index: usize, value: Value, depth: usize) -> Result<Value, SdJwtError> {
        self.sites.push(DisclosureSite {
            disclosure: index,
            path: self.path.clone(),
            parent: self.parent,
        });
        let outer = self.parent.replace(index);
        let value = self.value(value, depth + 1);
        self.parent = outer;
        value
    }
}
