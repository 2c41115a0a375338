//! The Digital Credentials Query Language (OpenID4VP 1.0, section 6): parsing, with every rule
//! the specification sets on a query, and evaluation against the credentials a wallet holds.
//!
//! Evaluation follows section 6.4: a credential matches a credential query when its format and
//! `vct` fit, its issuer is among the `trusted_authorities` (when given), and it holds the
//! requested claims (the first satisfiable `claim_sets` option, else all of `claims`), with the
//! requested `values` where given. Credential set queries then pick, per set, the first option
//! whose every query has a match; a required set that none satisfies makes the whole query
//! unsatisfiable.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::sdjwt::ClaimPath;

/// The credential format of SD-JWT VCs.
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";

/// Limits on a query's size (a request is untrusted input).
pub const MAX_CREDENTIAL_QUERIES: usize = 32;
/// Most claims queries per credential query.
pub const MAX_CLAIMS: usize = 128;
/// Most elements of a claims path.
pub const MAX_PATH: usize = 16;

/// Why a DCQL query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DcqlError {
    /// Not valid JSON of the DCQL shape.
    #[error("DCQL: {0}")]
    Malformed(String),
    /// Valid JSON that breaks one of the query rules of section 6.
    #[error("DCQL: {0}")]
    Invalid(String),
}

/// A DCQL query.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DcqlQuery {
    /// The credential queries.
    pub credentials: Vec<CredentialQuery>,
    /// Which combinations of credentials are acceptable; absent: all queries are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// One credential requested.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CredentialQuery {
    /// The query's id (the key of its presentations in `vp_token`).
    pub id: String,
    /// The credential format, e.g. `dc+sd-jwt`.
    pub format: String,
    /// Whether several credentials may answer it.
    #[serde(default)]
    pub multiple: bool,
    /// Format-specific constraints; for `dc+sd-jwt`, `vct_values`.
    pub meta: Map<String, Value>,
    /// Accepted issuers (authority key identifiers, trust lists, federations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_authorities: Option<Vec<TrustedAuthoritiesQuery>>,
    /// Whether the presentation must prove possession of the credential's key.
    #[serde(default = "yes")]
    pub require_cryptographic_holder_binding: bool,
    /// The claims requested; absent: only what is always disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimsQuery>>,
    /// Acceptable combinations of claims (ids of `claims`), in order of preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
}

fn yes() -> bool {
    true
}

/// One claim requested.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ClaimsQuery {
    /// Its id, needed when the credential query has `claim_sets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The claims path pointer (section 7).
    pub path: Vec<PathElement>,
    /// Acceptable values; the claim matches when it equals one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// An element of a claims path pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// An object member.
    Name(String),
    /// An array element.
    Index(u64),
    /// Every element of an array (`null`).
    All,
}

impl<'de> Deserialize<'de> for PathElement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(name) => Ok(Self::Name(name)),
            Value::Null => Ok(Self::All),
            Value::Number(n) => n
                .as_u64()
                .map(Self::Index)
                .ok_or_else(|| D::Error::custom("a path index is a non-negative integer")),
            _ => Err(D::Error::custom(
                "a path element is a string, a non-negative integer or null",
            )),
        }
    }
}

impl Serialize for PathElement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Name(name) => serializer.serialize_str(name),
            Self::Index(i) => serializer.serialize_u64(*i),
            Self::All => serializer.serialize_unit(),
        }
    }
}

/// A set of acceptable combinations of credential queries.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CredentialSetQuery {
    /// Each option is a list of credential query ids that together satisfy the set.
    pub options: Vec<Vec<String>>,
    /// Whether the set must be satisfied.
    #[serde(default = "yes")]
    pub required: bool,
}

/// Accepted issuers of one kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TrustedAuthoritiesQuery {
    /// `aki` (authority key identifiers), `etsi_tl` or `openid_federation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The accepted values.
    pub values: Vec<String>,
}

impl DcqlQuery {
    /// Parses and checks a query given as JSON.
    pub fn from_json(json: &Value) -> Result<Self, DcqlError> {
        let query = Self::deserialize(json).map_err(|e| DcqlError::Malformed(e.to_string()))?;
        query.check()?;
        Ok(query)
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }

    fn check(&self) -> Result<(), DcqlError> {
        let invalid = |m: String| Err(DcqlError::Invalid(m));
        if self.credentials.is_empty() {
            return invalid("credentials must not be empty".into());
        }
        if self.credentials.len() > MAX_CREDENTIAL_QUERIES {
            return invalid(format!(
                "more than {MAX_CREDENTIAL_QUERIES} credential queries"
            ));
        }
        let mut ids = HashSet::new();
        for credential in &self.credentials {
            if !is_identifier(&credential.id) {
                return invalid(format!(
                    "credential query id {:?} is not alphanumeric, underscore or hyphen",
                    credential.id
                ));
            }
            if !ids.insert(credential.id.as_str()) {
                return invalid(format!(
                    "credential query id {:?} is repeated",
                    credential.id
                ));
            }
            credential.check()?;
        }
        if let Some(sets) = &self.credential_sets {
            if sets.is_empty() {
                return invalid("credential_sets must not be empty".into());
            }
            for set in sets {
                if set.options.is_empty() || set.options.iter().any(Vec::is_empty) {
                    return invalid(
                        "a credential set's options and each option must not be empty".into(),
                    );
                }
                for id in set.options.iter().flatten() {
                    if !ids.contains(id.as_str()) {
                        return invalid(format!("credential set names unknown query {id:?}"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl CredentialQuery {
    fn check(&self) -> Result<(), DcqlError> {
        let invalid = |m: String| {
            Err(DcqlError::Invalid(format!(
                "credential query {:?}: {m}",
                self.id
            )))
        };
        if self.format == FORMAT_SD_JWT_VC {
            let vcts = self.meta.get("vct_values");
            if !vcts.is_some_and(|v| {
                v.as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
            }) {
                return invalid("meta.vct_values must be a non-empty array of strings".into());
            }
        }
        if let Some(authorities) = &self.trusted_authorities
            && (authorities.is_empty() || authorities.iter().any(|a| a.values.is_empty()))
        {
            return invalid("trusted_authorities and their values must not be empty".into());
        }
        let Some(claims) = &self.claims else {
            if self.claim_sets.is_some() {
                return invalid("claim_sets without claims".into());
            }
            return Ok(());
        };
        if claims.is_empty() {
            return invalid("claims must not be empty".into());
        }
        if claims.len() > MAX_CLAIMS {
            return invalid(format!("more than {MAX_CLAIMS} claims"));
        }
        let mut ids = HashSet::new();
        for claim in claims {
            if claim.path.is_empty() || claim.path.len() > MAX_PATH {
                return invalid(format!("a claims path has 1 to {MAX_PATH} elements"));
            }
            if let Some(values) = &claim.values
                && (values.is_empty()
                    || !values
                        .iter()
                        .all(|v| v.is_string() || v.is_i64() || v.is_u64() || v.is_boolean()))
            {
                return invalid(
                    "values must be a non-empty array of strings, integers or booleans".into(),
                );
            }
            match &claim.id {
                Some(id) if !is_identifier(id) => {
                    return invalid(format!(
                        "claim id {id:?} is not alphanumeric, underscore or hyphen"
                    ));
                }
                Some(id) if !ids.insert(id.as_str()) => {
                    return invalid(format!("claim id {id:?} is repeated"));
                }
                Some(_) => {}
                None if self.claim_sets.is_some() => {
                    return invalid("with claim_sets every claim needs an id".into());
                }
                None => {}
            }
        }
        if let Some(sets) = &self.claim_sets {
            if sets.is_empty() || sets.iter().any(Vec::is_empty) {
                return invalid("claim_sets and each claim set must not be empty".into());
            }
            for id in sets.iter().flatten() {
                if !ids.contains(id.as_str()) {
                    return invalid(format!("claim set names unknown claim {id:?}"));
                }
            }
        }
        Ok(())
    }
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A credential the wallet could present.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its format.
    pub format: &'a str,
    /// Its `vct`.
    pub vct: &'a str,
    /// Every claim it holds, disclosures applied.
    pub claims: &'a Map<String, Value>,
    /// Base64url key identifiers of the certificates of its issuer's chain (for `aki`).
    pub authority_key_ids: &'a [String],
    /// Whether it is bound to a key the wallet holds.
    pub holder_bound: bool,
}

/// How one credential answers one credential query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateMatch {
    /// Index into the candidates given to [`DcqlQuery::evaluate`].
    pub candidate: usize,
    /// The claims to disclose (concrete paths).
    pub claims: Vec<ClaimPath>,
}

/// The credentials that answer a credential query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryMatch {
    /// The credential query id.
    pub query: String,
    /// Matching credentials, in the order given.
    pub matches: Vec<CandidateMatch>,
    /// Whether several may be presented.
    pub multiple: bool,
}

/// The outcome of evaluating a query against a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The credential queries to answer (those of the chosen options), each with its matches.
    pub queries: Vec<QueryMatch>,
    /// Optional credential sets that the wallet cannot satisfy (left unanswered).
    pub unsatisfied_optional: usize,
}

/// What a wallet is willing to present, on top of what a query asks (its own policy: a relying
/// party's registration, the citizen's choices). A claim it will not disclose is treated as if the
/// credential did not hold it, and a credential it will not present as if the wallet did not
/// (section 6.4): a claim set needing a withheld claim is not satisfiable, and neither is a
/// credential query whose every candidate is withheld.
pub trait DisclosurePolicy {
    /// Whether the candidate at this index may be presented at all.
    fn presents(&self, candidate: usize) -> bool;
    /// Whether its claim at `path` may be disclosed.
    fn discloses(&self, candidate: usize, path: &ClaimPath) -> bool;
}

/// Everything the query selects may be presented.
struct Unrestricted;

impl DisclosurePolicy for Unrestricted {
    fn presents(&self, _: usize) -> bool {
        true
    }
    fn discloses(&self, _: usize, _: &ClaimPath) -> bool {
        true
    }
}

impl DcqlQuery {
    /// Evaluates the query against `candidates`. `None` when the wallet cannot satisfy it.
    pub fn evaluate(&self, candidates: &[Candidate<'_>]) -> Option<Evaluation> {
        self.evaluate_within(candidates, &Unrestricted)
    }

    /// Evaluates the query against `candidates` as far as `policy` lets the wallet present them:
    /// the first claim set and the first credential set option satisfiable within it. `None`
    /// when nothing satisfiable remains of a required credential set.
    pub fn evaluate_within(
        &self,
        candidates: &[Candidate<'_>],
        policy: &dyn DisclosurePolicy,
    ) -> Option<Evaluation> {
        let per_query: Vec<QueryMatch> = self
            .credentials
            .iter()
            .map(|query| QueryMatch {
                query: query.id.clone(),
                matches: candidates
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| policy.presents(*i))
                    .filter_map(|(i, c)| {
                        query
                            .matches_within(c, &|path| policy.discloses(i, path))
                            .map(|claims| CandidateMatch {
                                candidate: i,
                                claims,
                            })
                    })
                    .collect(),
                multiple: query.multiple,
            })
            .collect();
        let answerable = |id: &str| {
            per_query
                .iter()
                .any(|q| q.query == id && !q.matches.is_empty())
        };
        let mut chosen: Vec<&str> = Vec::new();
        let mut unsatisfied_optional = 0;
        match &self.credential_sets {
            None => {
                if !self.credentials.iter().all(|q| answerable(&q.id)) {
                    return None;
                }
                chosen.extend(self.credentials.iter().map(|q| q.id.as_str()));
            }
            Some(sets) => {
                for set in sets {
                    match set
                        .options
                        .iter()
                        .find(|option| option.iter().all(|id| answerable(id)))
                    {
                        Some(option) => chosen.extend(option.iter().map(String::as_str)),
                        None if set.required => return None,
                        None => unsatisfied_optional += 1,
                    }
                }
            }
        }
        Some(Evaluation {
            queries: per_query
                .into_iter()
                .filter(|q| chosen.contains(&q.query.as_str()))
                .collect(),
            unsatisfied_optional,
        })
    }
}

impl CredentialQuery {
    /// The claims to disclose when `candidate` answers this query; `None` if it does not.
    pub fn matches(&self, candidate: &Candidate<'_>) -> Option<Vec<ClaimPath>> {
        self.matches_within(candidate, &|_| true)
    }

    /// [`CredentialQuery::matches`] where only claims `disclosable` accepts count as held.
    fn matches_within(
        &self,
        candidate: &Candidate<'_>,
        disclosable: &dyn Fn(&ClaimPath) -> bool,
    ) -> Option<Vec<ClaimPath>> {
        if let Some(authorities) = &self.trusted_authorities {
            // Only authority key identifiers can be checked offline; other kinds never match.
            let trusted = authorities.iter().any(|a| {
                a.kind == "aki"
                    && a.values
                        .iter()
                        .any(|v| candidate.authority_key_ids.contains(v))
            });
            if !trusted {
                return None;
            }
        }
        self.matches_claims(candidate, disclosable)
    }

    /// [`CredentialQuery::matches`] without `trusted_authorities`: for a verifier, which trusts
    /// issuers under its own policy.
    pub(crate) fn matches_ignoring_authorities(
        &self,
        candidate: &Candidate<'_>,
    ) -> Option<Vec<ClaimPath>> {
        self.matches_claims(candidate, &|_| true)
    }

    fn matches_claims(
        &self,
        candidate: &Candidate<'_>,
        disclosable: &dyn Fn(&ClaimPath) -> bool,
    ) -> Option<Vec<ClaimPath>> {
        if candidate.format != self.format {
            return None;
        }
        if self.require_cryptographic_holder_binding && !candidate.holder_bound {
            return None;
        }
        if self.format == FORMAT_SD_JWT_VC {
            let vcts = self.meta.get("vct_values")?.as_array()?;
            if !vcts.iter().any(|v| v.as_str() == Some(candidate.vct)) {
                return None;
            }
        }
        let Some(claims) = &self.claims else {
            return Some(Vec::new());
        };
        let resolve = |claim: &ClaimsQuery| claim_paths(claim, candidate.claims, disclosable);
        match &self.claim_sets {
            None => {
                let mut out = Vec::new();
                for claim in claims {
                    out.extend(resolve(claim)?);
                }
                Some(out)
            }
            Some(sets) => sets.iter().find_map(|set| {
                let mut out = Vec::new();
                for id in set {
                    let claim = claims.iter().find(|c| c.id.as_deref() == Some(id))?;
                    out.extend(resolve(claim)?);
                }
                Some(out)
            }),
        }
    }
}

/// The concrete paths a claims query selects in `claims` (section 7.1), if it selects any that
/// `disclosable` accepts and (with `values`) one of them has an accepted value.
fn claim_paths(
    claim: &ClaimsQuery,
    claims: &Map<String, Value>,
    disclosable: &dyn Fn(&ClaimPath) -> bool,
) -> Option<Vec<ClaimPath>> {
    let (first, rest) = claim.path.split_first()?;
    let PathElement::Name(name) = first else {
        return None;
    };
    let mut selected: Vec<(ClaimPath, &Value)> =
        vec![(ClaimPath::root().child(name.clone()), claims.get(name)?)];
    for element in rest {
        let mut next = Vec::new();
        for (path, value) in selected {
            match (element, value) {
                (PathElement::Name(name), Value::Object(map)) => {
                    if let Some(v) = map.get(name) {
                        next.push((path.child(name.clone()), v));
                    }
                }
                (PathElement::Index(i), Value::Array(items)) => {
                    if let Some(v) = usize::try_from(*i).ok().and_then(|i| items.get(i)) {
                        next.push((path.child(i.to_string()), v));
                    }
                }
                (PathElement::All, Value::Array(items)) => {
                    next.extend(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (path.child(i.to_string()), v)),
                    );
                }
                // A path that does not fit the value selects nothing there.
                _ => {}
            }
        }
        selected = next;
    }
    if let Some(values) = &claim.values {
        selected.retain(|(_, v)| values.contains(v));
    }
    selected.retain(|(path, _)| disclosable(path));
    if selected.is_empty() {
        return None;
    }
    Some(selected.into_iter().map(|(path, _)| path).collect())
}

#[cfg(test)]
mod tests;
