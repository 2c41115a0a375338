//! An SD-JWT taken apart: the issuer-signed JWT, its disclosures and the claim path each one
//! reveals ([`SdJwt`]); the compact form split into those parts; a presentation put back
//! together from the parts chosen, with a Key Binding JWT.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest;

use super::{
    ClaimPath, Disclosure, SdJwtError,
    process::{DisclosureSite, Payload, process},
};
use crate::jose::{self, JwsHeader, JwsSigner, UnverifiedJws};

/// What the holder needs to add a Key Binding JWT (RFC 9901 section 4.3).
#[derive(Clone, Copy)]
pub struct KeyBindingInput<'a> {
    /// The holder key named by the SD-JWT's `cnf`.
    pub signer: &'a dyn JwsSigner,
    /// The verifier this presentation is for.
    pub aud: &'a str,
    /// The verifier's fresh nonce.
    pub nonce: &'a str,
    /// Issued-at, seconds since the Unix epoch.
    pub iat: u64,
}

/// An SD-JWT as the holder keeps it: the issuer-signed JWT, all disclosures, and which claim
/// path each disclosure reveals.
///
/// Parsing does not verify the issuer's signature (the wallet verifies when it receives the
/// credential, with the verifier of [`super::verify`]); it does apply the structural rules of
/// RFC 9901 section 7.1, so a malformed credential is refused before it is stored.
#[derive(Clone)]
pub struct SdJwt {
    jwt: String,
    /// SHA-256 state after `<JWT>~`: every presentation's `sd_hash` starts with it.
    prefix_hash: sha2::Sha256,
    header: JwsHeader,
    disclosures: Vec<Disclosure>,
    sites: Vec<DisclosureSite>,
    claims: Map<String, Value>,
}

#[derive(Serialize)]
struct KbPayload<'a> {
    iat: u64,
    aud: &'a str,
    nonce: &'a str,
    sd_hash: &'a str,
}

/// Splits `<JWT>~<D1>~...~<Dn>~<KB>` into its parts; the KB part is empty when absent.
pub(crate) fn split(text: &str) -> Result<(&str, Vec<&str>, &str), SdJwtError> {
    // memchr's vectorized search: the issuer-signed JWT, most of the text, is scanned once.
    let mut separators = memchr::memchr_iter(b'~', text.as_bytes());
    let Some(first) = separators.next() else {
        return Err(SdJwtError::Malformed("no ~ separator"));
    };
    let jwt = &text[..first];
    let mut rest: Vec<&str> = Vec::with_capacity(16);
    let mut start = first + 1;
    for end in separators {
        rest.push(&text[start..end]);
        start = end + 1;
    }
    let kb = &text[start..];
    if jwt.is_empty() {
        return Err(SdJwtError::Malformed("empty issuer-signed JWT"));
    }
    if rest.iter().any(|d| d.is_empty()) {
        return Err(SdJwtError::Malformed("empty disclosure"));
    }
    Ok((jwt, rest, kb))
}

impl SdJwt {
    /// Parses an SD-JWT in compact serialization as issued (`<JWT>~<D1>~...~<Dn>~`). A trailing
    /// Key Binding JWT is refused: a holder stores credentials, not presentations.
    pub fn parse(text: &str) -> Result<Self, SdJwtError> {
        let (jwt, encoded, kb) = split(text)?;
        if !kb.is_empty() {
            return Err(SdJwtError::Malformed(
                "a presentation with key binding is not an issued SD-JWT",
            ));
        }
        let jws = UnverifiedJws::parse(jwt)?;
        let payload: Payload = crate::jose::json_from_utf8(jws.unverified_payload())?;
        let disclosures: Vec<Disclosure> = encoded
            .iter()
            .map(|d| Disclosure::parse(d))
            .collect::<Result<_, _>>()?;
        let mut working = disclosures.clone();
        let processed = process(payload, &mut working)?;
        let mut sites = processed.sites;
        sites.sort_by_key(|site| site.disclosure);
        let mut prefix_hash = sha2::Sha256::new();
        prefix_hash.update(jwt.as_bytes());
        prefix_hash.update(b"~");
        Ok(Self {
            prefix_hash,
            jwt: jwt.to_owned(),
            header: jws.header().clone(),
            disclosures,
            sites,
            claims: processed.claims,
        })
    }

    /// The issuer-signed JWT's protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// All claims with every disclosure applied (what the holder can show its user).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The disclosures in issuance order.
    pub fn disclosures(&self) -> &[Disclosure] {
        &self.disclosures
    }

    /// The claim path of each disclosure, in issuance order.
    pub fn disclosable_paths(&self) -> impl Iterator<Item = &ClaimPath> {
        self.sites.iter().map(|site| &site.path)
    }

    /// The issuer-signed JWT in compact form.
    pub fn issuer_jwt(&self) -> &str {
        &self.jwt
    }

    /// The SD-JWT as issued, with every disclosure.
    pub fn serialize(&self) -> String {
        self.assemble(self.disclosures.iter().map(Disclosure::encoded))
    }

    /// Builds a presentation revealing the claims at `disclose` (and everything beneath them),
    /// with the disclosures of their enclosing claims, and a Key Binding JWT when
    /// `key_binding` is given. A path that names no claim is an error; a path to a claim that is
    /// always visible adds nothing.
    pub fn present(
        &self,
        disclose: &[ClaimPath],
        key_binding: Option<KeyBindingInput<'_>>,
    ) -> Result<String, SdJwtError> {
        let chosen = self.select(disclose)?;
        let selected = self
            .disclosures
            .iter()
            .zip(&chosen)
            .filter(|(_, chosen)| **chosen)
            .map(|(d, _)| d.encoded());
        let mut out = self.assemble(selected);
        if let Some(kb) = key_binding {
            let mut hash = self.prefix_hash.clone();
            hash.update(&out.as_bytes()[self.jwt.len() + 1..]);
            let sd_hash = crate::jose::b64::encode(hash.finalize());
            let payload = serde_json::to_vec(&KbPayload {
                iat: kb.iat,
                aud: kb.aud,
                nonce: kb.nonce,
                sd_hash: &sd_hash,
            })?;
            let jwt = jose::sign_compact_raw(KB_HEADER.as_bytes(), &payload, kb.signer)?;
            out.push_str(&jwt);
        }
        Ok(out)
    }

    /// Which disclosures a presentation of `disclose` needs, indexed like `self.disclosures`.
    fn select(&self, disclose: &[ClaimPath]) -> Result<Vec<bool>, SdJwtError> {
        let mut chosen = vec![false; self.disclosures.len()];
        for path in disclose {
            if path.lookup_in(&self.claims).is_none() {
                return Err(SdJwtError::UnknownPath(path.to_string()));
            }
            for site in &self.sites {
                // The claim itself or anything beneath it, and every claim that encloses it.
                if path.is_prefix_of(&site.path) || site.path.is_prefix_of(path) {
                    self.choose(site.disclosure, &mut chosen);
                }
            }
        }
        Ok(chosen)
    }

    fn choose(&self, disclosure: usize, chosen: &mut [bool]) {
        let mut next = Some(disclosure);
        while let Some(index) = next {
            if chosen[index] {
                break;
            }
            chosen[index] = true;
            next = self.sites[index].parent;
        }
    }

    fn assemble<'d>(&self, disclosures: impl Iterator<Item = &'d str>) -> String {
        let mut out = String::with_capacity(
            self.jwt.len()
                + self
                    .disclosures
                    .iter()
                    .map(|d| d.encoded().len() + 1)
                    .sum::<usize>()
                + 400,
        );
        out.push_str(&self.jwt);
        out.push('~');
        for disclosure in disclosures {
            out.push_str(disclosure);
            out.push('~');
        }
        out
    }
}

impl std::fmt::Debug for SdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdJwt")
            .field("header", &self.header)
            .field("disclosures", &self.disclosures.len())
            .finish_non_exhaustive()
    }
}

/// `{"alg":"ES256","typ":"kb+jwt"}`, serialized once.
const KB_HEADER: &str = r#"{"alg":"ES256","typ":"kb+jwt"}"#;
