use std::fmt;

use serde_json::{Map, Value};

use super::{
    ClaimPath, DisclosureStyle, MAX_DEPTH, SD_ALG, SdJwtError,
    disclosure::{write_json, write_json_str, write_value},
    path::array_index,
};
use crate::jose::{self, JwsHeader, JwsSigner, b64};

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
    /// Writes, as a JSON string, the salt for the disclosure of `name` (none for array
    /// elements) with the encoded value.
    fn write_salt(
        &mut self,
        name: Option<&str>,
        encoded: &[u8],
        out: &mut Vec<u8>,
        style: DisclosureStyle,
    ) -> Result<(), SdJwtError>;
    fn random_byte(&mut self) -> Result<u8, SdJwtError>;
}

/// Random salts drawn from [`jose::random`] in blocks.
struct RandomSalts {
    pool: [u8; 256],
    used: usize,
}

impl RandomSalts {
    fn new() -> Self {
        Self {
            pool: [0; 256],
            used: 256,
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], SdJwtError> {
        if self.used + n > self.pool.len() {
            jose::random::fill(&mut self.pool)?;
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
    fn write_salt(
        &mut self,
        _: Option<&str>,
        _: &[u8],
        out: &mut Vec<u8>,
        _: DisclosureStyle,
    ) -> Result<(), SdJwtError> {
        out.push(b'"');
        let salt = self.take(SALT_BYTES)?;
        b64::encode_to_vec(salt, out);
        out.push(b'"');
        Ok(())
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
    fn write_salt(
        &mut self,
        name: Option<&str>,
        encoded: &[u8],
        out: &mut Vec<u8>,
        style: DisclosureStyle,
    ) -> Result<(), SdJwtError> {
        let value: Value = serde_json::from_slice(encoded)?;
        let salt = (self.salts)(name, &value);
        write_json(out, &salt, style)
    }

    fn random_byte(&mut self) -> Result<u8, SdJwtError> {
        self.random.random_byte()
    }
}

/// The disclosable paths as a tree, so encoding walks the claims once.
#[derive(Default)]
struct SdNode<'p> {
    disclosable: bool,
    children: Vec<(&'p str, SdNode<'p>)>,
}

impl<'p> SdNode<'p> {
    fn build(paths: &'p [ClaimPath]) -> Result<(Self, usize), SdJwtError> {
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
                        node.children.push((segment.as_str(), SdNode::default()));
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

    fn child(&self, segment: &str) -> Option<&SdNode<'p>> {
        self.children
            .iter()
            .find(|(s, _)| *s == segment)
            .map(|(_, node)| node)
    }
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
        self.issue_from(b"", claims, disclosable, &mut RandomSalts::new())
    }

    /// Like [`SdJwtIssuer::issue`], with `visible` (JSON object members, `"name":value,...`,
    /// already serialized and never disclosable: the registered claims of a credential) written
    /// first in the payload. The caller guarantees `visible` is well-formed and that its names do
    /// not occur in `claims`.
    pub(crate) fn issue_with_visible(
        &self,
        visible: &[u8],
        claims: &Map<String, Value>,
        disclosable: &[ClaimPath],
    ) -> Result<String, SdJwtError> {
        self.issue_from(visible, claims, disclosable, &mut RandomSalts::new())
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
        self.issue_from(b"", claims, disclosable, &mut source)
    }

    fn issue_from(
        &self,
        visible: &[u8],
        claims: &Map<String, Value>,
        disclosable: &[ClaimPath],
        salts: &mut dyn SaltSource,
    ) -> Result<String, SdJwtError> {
        if claims.keys().any(|name| name == "_sd_alg") {
            return Err(SdJwtError::InvalidInput(
                "claims must not contain _sd_alg".into(),
            ));
        }
        let (tree, expected) = SdNode::build(disclosable)?;
        let mut writer = Writer {
            salts,
            style: self.style,
            decoys: self.decoys,
            disclosures: Vec::with_capacity(expected * 96),
            count: 0,
            buffers: Vec::new(),
        };
        let mut payload = Vec::with_capacity(1024 + visible.len());
        writer.object(claims, Some(&tree), &mut payload, Some(visible), 0)?;
        if writer.count != expected {
            let claims = Value::Object(claims.clone());
            let missing = disclosable
                .iter()
                .find(|path| path.lookup(&claims).is_none())
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(SdJwtError::UnknownPath(missing));
        }
        let mut out = Vec::with_capacity(payload.len() * 4 / 3 + writer.disclosures.len() + 200);
        jose::sign_compact_into(&self.header_json, &payload, self.signer, &mut out)?;
        out.push(b'~');
        out.extend_from_slice(&writer.disclosures);
        Ok(b64::ascii_string(out))
    }
}

type Digest = [u8; jose::DIGEST_B64_LEN];

/// Writes the issuer-signed payload as JSON text directly, and the disclosures beside it, in one
/// walk over the claims: no intermediate JSON tree, so issuing costs little beyond the signature.
struct Writer<'s> {
    salts: &'s mut dyn SaltSource,
    style: DisclosureStyle,
    decoys: DecoyPolicy,
    /// `<D1>~<D2>~...~`, ASCII.
    disclosures: Vec<u8>,
    count: usize,
    /// Scratch buffers, reused so a credential costs a handful of allocations.
    buffers: Vec<Vec<u8>>,
}

impl Writer<'_> {
    fn buffer(&mut self) -> Vec<u8> {
        self.buffers
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(256))
    }

    fn give_back(&mut self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.buffers.push(buffer);
    }

    /// Writes the encoded form of `value` (digests in place of its disclosable parts).
    ///
    /// `depth` counts nesting as the verifier will (`process.rs`): one level per object or
    /// array, two per disclosure, so nothing is issued that [`MAX_DEPTH`] would refuse.
    fn value(
        &mut self,
        value: &Value,
        node: Option<&SdNode<'_>>,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        match (value, node) {
            (Value::Object(map), Some(node)) if !node.children.is_empty() => {
                self.object(map, Some(node), out, None, depth + 1)
            }
            (Value::Array(items), Some(node)) if !node.children.is_empty() => {
                self.array(items, node, out, depth + 1)
            }
            _ => {
                check_plain(value, depth)?;
                write_value(out, value, self.style)
            }
        }
    }

    /// Writes an object. `top` is given for the payload itself: the already serialized members
    /// that open it, after which `_sd_alg` closes it.
    fn object(
        &mut self,
        map: &Map<String, Value>,
        node: Option<&SdNode<'_>>,
        out: &mut Vec<u8>,
        top: Option<&[u8]>,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let (comma, colon) = (self.style.comma(), self.style.colon());
        let mut digests: Vec<Digest> = Vec::new();
        let mut members = self.buffer();
        for (name, value) in map {
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::InvalidInput(format!(
                    "claim name {name:?} is reserved"
                )));
            }
            let child = node.and_then(|node| node.child(name));
            if let Some(child) = child.filter(|child| child.disclosable) {
                let mut encoded = self.buffer();
                self.value(value, Some(child), &mut encoded, depth + 1)?;
                digests.push(self.disclose(Some(name), &encoded)?);
                self.give_back(encoded);
            } else {
                if !members.is_empty() {
                    members.extend_from_slice(comma);
                }
                write_json_str(&mut members, name, self.style)?;
                members.extend_from_slice(colon);
                self.value(value, child, &mut members, depth)?;
            }
        }
        out.push(b'{');
        let mut first = true;
        if let Some(visible) = top.filter(|visible| !visible.is_empty()) {
            out.extend_from_slice(visible);
            first = false;
        }
        if !digests.is_empty() {
            self.add_decoys(&mut digests)?;
            digests.sort_unstable();
            if !first {
                out.extend_from_slice(comma);
            }
            out.extend_from_slice(b"\"_sd\"");
            out.extend_from_slice(colon);
            out.push(b'[');
            for (i, digest) in digests.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(comma);
                }
                out.push(b'"');
                out.extend_from_slice(digest);
                out.push(b'"');
            }
            out.push(b']');
            first = false;
        }
        if !members.is_empty() {
            if !first {
                out.extend_from_slice(comma);
            }
            out.extend_from_slice(&members);
            first = false;
        }
        self.give_back(members);
        if top.is_some() {
            if !first {
                out.extend_from_slice(comma);
            }
            out.extend_from_slice(b"\"_sd_alg\"");
            out.extend_from_slice(colon);
            out.push(b'"');
            out.extend_from_slice(SD_ALG.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(())
    }

    fn array(
        &mut self,
        items: &[Value],
        node: &SdNode<'_>,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        if let Some((segment, _)) = node
            .children
            .iter()
            .find(|(segment, _)| array_index(segment).is_none_or(|i| i >= items.len()))
        {
            return Err(SdJwtError::UnknownPath(format!(
                "array element {segment:?}"
            )));
        }
        let (comma, colon) = (self.style.comma(), self.style.colon());
        out.push(b'[');
        let mut index = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(comma);
            }
            index.clear();
            fmt::Write::write_fmt(&mut index, format_args!("{i}"))
                .map_err(|_| SdJwtError::InvalidInput("index".into()))?;
            let child = node.child(&index);
            if let Some(child) = child.filter(|child| child.disclosable) {
                let mut encoded = self.buffer();
                self.value(item, Some(child), &mut encoded, depth + 1)?;
                let digest = self.disclose(None, &encoded)?;
                self.give_back(encoded);
                out.extend_from_slice(b"{\"...\"");
                out.extend_from_slice(colon);
                out.push(b'"');
                out.extend_from_slice(&digest);
                out.extend_from_slice(b"\"}");
            } else {
                self.value(item, child, out, depth)?;
            }
        }
        out.push(b']');
        Ok(())
    }

    /// Makes the disclosure `[salt, name, value]` (or `[salt, value]`) around an already encoded
    /// value, appends it to the disclosures, and returns its digest.
    fn disclose(&mut self, name: Option<&str>, encoded: &[u8]) -> Result<Digest, SdJwtError> {
        let comma = self.style.comma();
        let mut json = self.buffer();
        json.push(b'[');
        self.salts
            .write_salt(name, encoded, &mut json, self.style)?;
        json.extend_from_slice(comma);
        if let Some(name) = name {
            write_json_str(&mut json, name, self.style)?;
            json.extend_from_slice(comma);
        }
        json.extend_from_slice(encoded);
        json.push(b']');
        let start = self.disclosures.len();
        b64::encode_to_vec(&json, &mut self.disclosures);
        self.give_back(json);
        let digest = digest_of(&self.disclosures[start..]);
        self.disclosures.push(b'~');
        self.count += 1;
        Ok(digest)
    }

    fn add_decoys(&mut self, digests: &mut Vec<Digest>) -> Result<(), SdJwtError> {
        if self.decoys.max_per_object == 0 {
            return Ok(());
        }
        let count =
            u16::from(self.salts.random_byte()?) % (u16::from(self.decoys.max_per_object) + 1);
        for _ in 0..count {
            let mut random = [0u8; SALT_BYTES];
            for byte in &mut random {
                *byte = self.salts.random_byte()?;
            }
            digests.push(digest_of(b64::encode(random).as_bytes()));
        }
        Ok(())
    }
}

fn digest_of(data: &[u8]) -> Digest {
    jose::sha256_b64_array(data)
}

fn too_deep() -> SdJwtError {
    SdJwtError::InvalidInput(format!(
        "claims nested deeper than {MAX_DEPTH} levels (disclosures count two)"
    ))
}

/// Checks a value written as is: no reserved names, and no nesting beyond [`MAX_DEPTH`].
fn check_plain(value: &Value, depth: usize) -> Result<(), SdJwtError> {
    match value {
        Value::Object(map) => {
            if depth + 1 > MAX_DEPTH {
                return Err(too_deep());
            }
            if map.keys().any(|name| name == "_sd" || name == "...") {
                return Err(SdJwtError::InvalidInput(
                    "claim names _sd and ... are reserved".into(),
                ));
            }
            map.values().try_for_each(|v| check_plain(v, depth + 1))
        }
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                return Err(too_deep());
            }
            items.iter().try_for_each(|v| check_plain(v, depth + 1))
        }
        _ => Ok(()),
    }
}
