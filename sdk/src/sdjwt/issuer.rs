use serde_json::{Map, Value};

use super::{ClaimPath, Disclosure, DisclosureStyle, SD_ALG, SdJwtError, path::array_index};
use crate::jose::{self, JwsHeader, JwsSigner, b64, sha256_b64};

/// Salt length in bytes: 128 bits, as RFC 9901 section 4.2.1 recommends.
const SALT_BYTES: usize = 16;

/// How many decoy digests to add (RFC 9901 section 4.2.5): each object that has selectively
/// disclosable claims gets a random number of decoys between 0 and `max_per_object`, so the
/// length of its `_sd` array does not reveal how many claims it hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoyPolicy {
    /// Upper bound of decoys per `_sd` array.
    pub max_per_object: u8,
}

impl Default for DecoyPolicy {
    fn default() -> Self {
        Self { max_per_object: 3 }
    }
}

/// Issues SD-JWTs with one signer and one protected header.
pub struct SdJwtIssuer<'a> {
    signer: &'a dyn JwsSigner,
    header_json: Vec<u8>,
    decoys: DecoyPolicy,
    style: DisclosureStyle,
}

/// Where salts and decoy bytes come from.
trait SaltSource {
    fn salt(&mut self, name: Option<&str>, value: &Value) -> Result<String, SdJwtError>;
    fn random_byte(&mut self) -> Result<u8, SdJwtError>;
}

/// Random salts drawn from the system CSPRNG in blocks, so issuing a credential with a dozen
/// disclosures costs one system call rather than a dozen.
struct RandomSalts {
    pool: [u8; 512],
    used: usize,
}

impl RandomSalts {
    fn new() -> Self {
        Self {
            pool: [0; 512],
            used: 512,
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], SdJwtError> {
        if self.used + n > self.pool.len() {
            jose::random_bytes(&mut self.pool)?;
            self.used = 0;
        }
        let start = self.used;
        self.used += n;
        Ok(&self.pool[start..self.used])
    }
}

impl Drop for RandomSalts {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pool);
    }
}

impl SaltSource for RandomSalts {
    fn salt(&mut self, _: Option<&str>, _: &Value) -> Result<String, SdJwtError> {
        Ok(b64::encode(self.take(SALT_BYTES)?))
    }

    fn random_byte(&mut self) -> Result<u8, SdJwtError> {
        Ok(self.take(1)?[0])
    }
}

struct GivenSalts<'f> {
    salts: &'f mut dyn FnMut(Option<&str>, &Value) -> String,
    random: RandomSalts,
}

impl SaltSource for GivenSalts<'_> {
    fn salt(&mut self, name: Option<&str>, value: &Value) -> Result<String, SdJwtError> {
        Ok((self.salts)(name, value))
    }

    fn random_byte(&mut self) -> Result<u8, SdJwtError> {
        self.random.random_byte()
    }
}

/// The disclosable paths as a tree, so encoding walks the claims once.
#[derive(Default)]
struct SdNode {
    disclosable: bool,
    children: Vec<(String, SdNode)>,
}

impl SdNode {
    fn build(paths: &[ClaimPath]) -> Result<(Self, usize), SdJwtError> {
        let mut root = SdNode::default();
        let mut count = 0;
        for path in paths {
            if path.segments().is_empty() {
                return Err(SdJwtError::InvalidInput(
                    "the claims object itself cannot be disclosable".into(),
                ));
            }
            let mut node = &mut root;
            for segment in path.segments() {
                let position = match node.children.iter().position(|(s, _)| s == segment) {
                    Some(position) => position,
                    None => {
                        node.children.push((segment.clone(), SdNode::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[position].1;
            }
            if !node.disclosable {
                node.disclosable = true;
                count += 1;
            }
        }
        Ok((root, count))
    }

    fn child(&self, segment: &str) -> Option<&SdNode> {
        self.children
            .iter()
            .find(|(s, _)| s == segment)
            .map(|(_, node)| node)
    }
}

struct Encoding<'s> {
    salts: &'s mut dyn SaltSource,
    disclosures: Vec<Disclosure>,
    style: DisclosureStyle,
    decoys: DecoyPolicy,
}

impl<'a> SdJwtIssuer<'a> {
    /// An issuer signing with `signer` under `header` (whose `alg` is set to ES256; give it the
    /// `typ`, and `x5c` or `kid` as the credential format requires).
    pub fn new(signer: &'a dyn JwsSigner, mut header: JwsHeader) -> Result<Self, SdJwtError> {
        header.alg = "ES256".into();
        Ok(Self {
            signer,
            header_json: serde_json::to_vec(&header)?,
            decoys: DecoyPolicy::default(),
            style: DisclosureStyle::Compact,
        })
    }

    /// Sets the decoy policy.
    pub fn with_decoys(mut self, decoys: DecoyPolicy) -> Self {
        self.decoys = decoys;
        self
    }

    /// Sets the disclosure layout.
    pub fn with_style(mut self, style: DisclosureStyle) -> Self {
        self.style = style;
        self
    }

    /// Issues `claims` with the claims at `disclosable` paths made selectively disclosable, and
    /// returns the SD-JWT in compact serialization (`<JWT>~<D1>~...~<Dn>~`).
    ///
    /// A path may name an object property or an array element at any depth, including inside
    /// another disclosable claim (recursive disclosure). Every path must exist in `claims`, and
    /// `claims` must not use the reserved names `_sd`, `...` or `_sd_alg`.
    pub fn issue(
        &self,
        claims: &Map<String, Value>,
        disclosable: &[ClaimPath],
    ) -> Result<String, SdJwtError> {
        self.issue_from(claims, disclosable, &mut RandomSalts::new())
    }

    /// Issues with salts chosen by the caller, given each disclosure's claim name and value.
    ///
    /// # Warning
    /// Salts must be unpredictable, fresh 128-bit random values, or anyone holding the payload can
    /// guess the undisclosed claims by hashing candidates. This exists only to reproduce published
    /// test vectors.
    pub fn danger_issue_with_salts(
        &self,
        claims: &Map<String, Value>,
        disclosable: &[ClaimPath],
        salts: &mut dyn FnMut(Option<&str>, &Value) -> String,
    ) -> Result<String, SdJwtError> {
        let mut source = GivenSalts {
            salts,
            random: RandomSalts::new(),
        };
        self.issue_from(claims, disclosable, &mut source)
    }

    fn issue_from(
        &self,
        claims: &Map<String, Value>,
        disclosable: &[ClaimPath],
        salts: &mut dyn SaltSource,
    ) -> Result<String, SdJwtError> {
        if claims.contains_key("_sd_alg") {
            return Err(SdJwtError::InvalidInput(
                "claims must not contain _sd_alg".into(),
            ));
        }
        let (tree, expected) = SdNode::build(disclosable)?;
        let mut encoding = Encoding {
            salts,
            disclosures: Vec::with_capacity(expected),
            style: self.style,
            decoys: self.decoys,
        };
        let mut payload = encoding.object(claims, Some(&tree))?;
        if encoding.disclosures.len() != expected {
            let missing = disclosable
                .iter()
                .find(|path| path.lookup(&Value::Object(claims.clone())).is_none())
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(SdJwtError::UnknownPath(missing));
        }
        payload.insert("_sd_alg".into(), Value::String(SD_ALG.into()));
        let payload = serde_json::to_vec(&payload)?;
        let jwt = jose::sign_compact_raw(&self.header_json, &payload, self.signer)?;
        let mut out = String::with_capacity(
            jwt.len()
                + encoding
                    .disclosures
                    .iter()
                    .map(|d| d.encoded().len() + 1)
                    .sum::<usize>()
                + 1,
        );
        out.push_str(&jwt);
        out.push('~');
        for disclosure in &encoding.disclosures {
            out.push_str(disclosure.encoded());
            out.push('~');
        }
        Ok(out)
    }
}

impl Encoding<'_> {
    fn value(&mut self, value: &Value, node: Option<&SdNode>) -> Result<Value, SdJwtError> {
        match (value, node) {
            (Value::Object(map), _) => Ok(Value::Object(self.object(map, node)?)),
            (Value::Array(items), Some(node)) if !node.children.is_empty() => {
                Ok(Value::Array(self.array(items, node)?))
            }
            (Value::Array(items), _) => {
                // No disclosable element below: still refuse reserved names inside.
                items.iter().try_for_each(check_reserved)?;
                Ok(value.clone())
            }
            (other, _) => Ok(other.clone()),
        }
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        node: Option<&SdNode>,
    ) -> Result<Map<String, Value>, SdJwtError> {
        let mut plain = Vec::with_capacity(map.len());
        let mut digests = Vec::new();
        for (name, value) in map {
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::InvalidInput(format!(
                    "claim name {name:?} is reserved"
                )));
            }
            let child = node.and_then(|node| node.child(name));
            let encoded = self.value(value, child)?;
            if child.is_some_and(|child| child.disclosable) {
                let salt = self.salts.salt(Some(name), &encoded)?;
                let disclosure = Disclosure::new(salt, Some(name.clone()), encoded, self.style)?;
                digests.push(Value::String(disclosure.digest().to_owned()));
                self.disclosures.push(disclosure);
            } else {
                plain.push((name.clone(), encoded));
            }
        }
        let mut out = Map::with_capacity(plain.len() + 1);
        if !digests.is_empty() {
            self.add_decoys(&mut digests)?;
            digests.sort_unstable_by(|a, b| a.as_str().cmp(&b.as_str()));
            // `_sd` first, as in the RFC's examples.
            out.insert("_sd".into(), Value::Array(digests));
        }
        out.extend(plain);
        Ok(out)
    }

    fn array(&mut self, items: &[Value], node: &SdNode) -> Result<Vec<Value>, SdJwtError> {
        if let Some((segment, _)) = node
            .children
            .iter()
            .find(|(segment, _)| array_index(segment).is_none_or(|i| i >= items.len()))
        {
            return Err(SdJwtError::UnknownPath(format!(
                "array element {segment:?}"
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let child = node.child(&index.to_string());
            let encoded = self.value(item, child)?;
            if child.is_some_and(|child| child.disclosable) {
                let salt = self.salts.salt(None, &encoded)?;
                let disclosure = Disclosure::new(salt, None, encoded, self.style)?;
                let mut element = Map::with_capacity(1);
                element.insert("...".into(), Value::String(disclosure.digest().to_owned()));
                out.push(Value::Object(element));
                self.disclosures.push(disclosure);
            } else {
                out.push(encoded);
            }
        }
        Ok(out)
    }

    fn add_decoys(&mut self, digests: &mut Vec<Value>) -> Result<(), SdJwtError> {
        if self.decoys.max_per_object == 0 {
            return Ok(());
        }
        let count = self.salts.random_byte()? % (self.decoys.max_per_object + 1);
        for _ in 0..count {
            let mut random = [0u8; SALT_BYTES];
            for byte in &mut random {
                *byte = self.salts.random_byte()?;
            }
            digests.push(Value::String(sha256_b64(b64::encode(random))));
        }
        Ok(())
    }
}

fn check_reserved(value: &Value) -> Result<(), SdJwtError> {
    match value {
        Value::Object(map) => {
            if map.contains_key("_sd") || map.contains_key("...") {
                return Err(SdJwtError::InvalidInput(
                    "claim names _sd and ... are reserved".into(),
                ));
            }
            map.values().try_for_each(check_reserved)
        }
        Value::Array(items) => items.iter().try_for_each(check_reserved),
        _ => Ok(()),
    }
}
