//! Responses (OpenID4VP 1.0, section 8): the wallet's `vp_token` (presentations keyed by
//! credential query id) and its `direct_post` body; the verifier's check of a response against
//! the request it made, which it takes from its pending requests once (a replayed response finds
//! nothing).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{
    Oid4vpError,
    dcql::{Candidate, CredentialQuery, DcqlQuery, FORMAT_SD_JWT_VC},
    request::{RequestObject, ResponseEncryption},
};
use crate::{
    jose::jwe::{self, ContentEncryption, DecryptionKey},
    verifier::{
        IssuerTrustData, KeyBindingPolicy, StatusListCache, StatusPolicy, Verification,
        VerificationPolicy, verify_presentation,
    },
};

/// Builds `vp_token`: for each credential query answered, its presentations.
pub fn vp_token(presentations: &[(String, String)]) -> Value {
    let mut token = Map::new();
    for (query, presentation) in presentations {
        if let Value::Array(list) = token
            .entry(query.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(Value::String(presentation.clone()));
        }
    }
    Value::Object(token)
}

/// The `application/x-www-form-urlencoded` body of a `direct_post` response.
pub fn direct_post_body(vp_token: &Value, state: Option<&str>) -> String {
    let enc = crate::urlencode::escape;
    let mut body = format!("vp_token={}", enc(&vp_token.to_string()));
    if let Some(state) = state {
        body.push_str("&state=");
        body.push_str(&enc(state));
    }
    body
}

/// The `application/x-www-form-urlencoded` body of a `direct_post.jwt` response: `response`, a
/// JWE of `{"vp_token": …, "state": …}` to the verifier's key.
pub fn direct_post_jwt_body(
    vp_token: &Value,
    state: Option<&str>,
    encryption: &ResponseEncryption,
) -> Result<String, Oid4vpError> {
    let mut payload = Map::new();
    payload.insert("vp_token".into(), vp_token.clone());
    if let Some(state) = state {
        payload.insert("state".into(), Value::String(state.to_owned()));
    }
    encrypted_body(&Value::Object(payload), encryption)
}

/// The `application/x-www-form-urlencoded` body of an error response under `direct_post`
/// (sections 8.2 and 8.5): `error`, `error_description` when given, and `state`.
pub fn error_body(error: &str, description: Option<&str>, state: Option<&str>) -> String {
    let mut fields = vec![("error", error)];
    fields.extend(description.map(|d| ("error_description", d)));
    fields.extend(state.map(|s| ("state", s)));
    crate::urlencode::form(&fields)
}

/// The body of an error response under `direct_post.jwt`: the same parameters as
/// [`error_body`], as members of a JWE to the verifier's key (section 8.3: responses travel in
/// the response mode asked for, errors included).
pub fn error_jwt_body(
    error: &str,
    description: Option<&str>,
    state: Option<&str>,
    encryption: &ResponseEncryption,
) -> Result<String, Oid4vpError> {
    let mut payload = Map::new();
    payload.insert("error".into(), Value::String(error.to_owned()));
    if let Some(description) = description {
        payload.insert("error_description".into(), description.into());
    }
    if let Some(state) = state {
        payload.insert("state".into(), state.into());
    }
    encrypted_body(&Value::Object(payload), encryption)
}

fn encrypted_body(payload: &Value, encryption: &ResponseEncryption) -> Result<String, Oid4vpError> {
    let jwe = jwe::encrypt(
        payload.to_string().as_bytes(),
        &encryption.key,
        encryption.kid.as_deref(),
        encryption.enc,
        None,
        None,
    )
    .map_err(|e| Oid4vpError::InvalidRequest(format!("encrypting the response: {e}")))?;
    // A JWE is base64url parts and dots: nothing to escape in a form value.
    Ok(format!("response={jwe}"))
}

/// Opens a `direct_post.jwt` response (the `response` JWE) with the verifier's key: the JSON
/// object of its parameters (`vp_token` and `state`, or an error response's).
pub fn open_encrypted_payload(
    jwe: &str,
    key: &DecryptionKey,
    accepted: &[ContentEncryption],
) -> Result<Map<String, Value>, Oid4vpError> {
    let invalid = |m: String| Oid4vpError::InvalidResponse(m);
    let (_, plain) = jwe::decrypt(jwe, key, accepted).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| invalid(format!("payload: {e}")))
}

/// Opens a `direct_post.jwt` response (the `response` JWE) with the verifier's key: its
/// `vp_token` and `state`.
pub fn open_encrypted_response(
    jwe: &str,
    key: &DecryptionKey,
    accepted: &[ContentEncryption],
) -> Result<(Value, Option<String>), Oid4vpError> {
    let invalid = |m: String| Oid4vpError::InvalidResponse(m);
    let payload = open_encrypted_payload(jwe, key, accepted)?;
    let vp_token = payload
        .get("vp_token")
        .cloned()
        .ok_or_else(|| invalid("no vp_token".into()))?;
    let state = match payload.get("state") {
        None => None,
        Some(Value::String(state)) => Some(state.clone()),
        Some(_) => return Err(invalid("state is not a string".into())),
    };
    Ok((vp_token, state))
}

/// The requests a verifier has made and not yet seen answered, by `state`; each is taken once.
#[derive(Debug, Default)]
pub struct PendingRequests {
    pending: HashMap<String, (RequestObject, u64)>,
}

impl PendingRequests {
    /// No requests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `request` (which must carry a `state`) until `expires_at`.
    pub fn insert(&mut self, request: RequestObject, expires_at: u64) -> Result<(), Oid4vpError> {
        let state = request
            .state
            .clone()
            .ok_or_else(|| Oid4vpError::InvalidRequest("a pending request needs a state".into()))?;
        if self.pending.contains_key(&state) {
            return Err(Oid4vpError::InvalidRequest(
                "state is already pending".into(),
            ));
        }
        self.pending.insert(state, (request, expires_at));
        Ok(())
    }

    /// Takes the request answered by a response carrying `state`, if it is pending and not
    /// expired at `now`; expired ones are dropped.
    pub fn take(&mut self, state: &str, now: u64) -> Result<RequestObject, Oid4vpError> {
        self.pending.retain(|_, (_, expires_at)| *expires_at > now);
        self.pending
            .remove(state)
            .map(|(request, _)| request)
            .ok_or(Oid4vpError::UnknownOrReplayed)
    }

    /// The request pending under `state`, if it is not expired at `now`; it stays pending.
    pub fn get(&self, state: &str, now: u64) -> Result<&RequestObject, Oid4vpError> {
        self.pending
            .get(state)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(request, _)| request)
            .ok_or(Oid4vpError::UnknownOrReplayed)
    }

    /// How many are pending.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What a verifier trusts, and how fresh its cached data must be.
#[derive(Debug, Clone)]
pub struct ResponsePolicy {
    /// Issuer keys or trust anchors.
    pub issuer_trust: IssuerTrustData,
    /// When the trust data was fetched.
    pub trust_as_of: u64,
    /// How old it may be, seconds.
    pub max_trust_age: u64,
    /// Clock skew tolerated, seconds.
    pub skew: u64,
    /// How old a KB-JWT may be, seconds.
    pub max_presentation_age: u64,
    /// Status list freshness and whether a status is required.
    pub status: StatusPolicy,
}

impl ResponsePolicy {
    /// Clock skew tolerated unless the relying party says otherwise: one minute between phones,
    /// the relying party and the agency.
    pub const DEFAULT_SKEW: u64 = 60;
    /// How old a presentation's key binding may be by default: five minutes, time to scan a
    /// code and read a consent.
    pub const DEFAULT_MAX_PRESENTATION_AGE: u64 = 300;
    /// How old trust data may be by default: one day.
    pub const DEFAULT_MAX_TRUST_AGE: u64 = 86_400;

    /// A policy trusting `issuer_trust`, obtained at `trust_as_of` (Unix seconds), with the
    /// defaults: trust data at most [`Self::DEFAULT_MAX_TRUST_AGE`] old,
    /// [`Self::DEFAULT_SKEW`] of clock skew, key binding at most
    /// [`Self::DEFAULT_MAX_PRESENTATION_AGE`] old, and [`StatusPolicy::default`].
    pub fn new(issuer_trust: IssuerTrustData, trust_as_of: u64) -> Self {
        Self {
            issuer_trust,
            trust_as_of,
            max_trust_age: Self::DEFAULT_MAX_TRUST_AGE,
            skew: Self::DEFAULT_SKEW,
            max_presentation_age: Self::DEFAULT_MAX_PRESENTATION_AGE,
            status: StatusPolicy::default(),
        }
    }
}

/// One verified presentation and the query it answers.
#[derive(Debug, Clone)]
pub struct VerifiedAnswer {
    /// The credential query id.
    pub query: String,
    /// The verification (claims, status).
    pub verification: Verification,
}

/// Checks a response's `vp_token` against the `request` it answers (taken from
/// [`PendingRequests`]): every presentation verifies offline (issuer trust, key binding to this
/// request's `client_id` and `nonce`, status) and answers its credential query (type and claims
/// as asked), each query has as many presentations as it allows, and the answered queries
/// satisfy the query's credential sets.
pub fn verify_response(
    vp_token: &Value,
    request: &RequestObject,
    policy: &ResponsePolicy,
    status_lists: &StatusListCache,
    now: u64,
) -> Result<Vec<VerifiedAnswer>, Oid4vpError> {
    let invalid = |m: String| Oid4vpError::InvalidResponse(m);
    let token = vp_token
        .as_object()
        .ok_or_else(|| invalid("vp_token is not a JSON object".into()))?;
    let query = &request.dcql_query;
    let mut answers = Vec::new();
    let mut answered = HashSet::new();
    for (id, presentations) in token {
        let credential_query = query
            .credential(id)
            .ok_or_else(|| invalid(format!("{id:?} is not a query of the request")))?;
        let presentations = presentations
            .as_array()
            .ok_or_else(|| invalid(format!("{id:?}: presentations are not an array")))?;
        if presentations.is_empty() || (presentations.len() > 1 && !credential_query.multiple) {
            return Err(invalid(format!(
                "{id:?}: {} presentations where {} allowed",
                presentations.len(),
                if credential_query.multiple {
                    "one or more are"
                } else {
                    "one is"
                }
            )));
        }
        for presentation in presentations {
            let presentation = presentation
                .as_str()
                .ok_or_else(|| invalid(format!("{id:?}: a presentation is not a string")))?;
            let verification = verify_answer(
                presentation,
                credential_query,
                request,
                policy,
                status_lists,
                now,
            )?;
            answers.push(VerifiedAnswer {
                query: id.clone(),
                verification,
            });
        }
        answered.insert(id.as_str());
    }
    if !satisfied(query, &answered) {
        return Err(invalid(
            "the presentations do not satisfy the query's required credentials".into(),
        ));
    }
    Ok(answers)
}

fn verify_answer(
    presentation: &str,
    credential_query: &CredentialQuery,
    request: &RequestObject,
    policy: &ResponsePolicy,
    status_lists: &StatusListCache,
    now: u64,
) -> Result<Verification, Oid4vpError> {
    let id = &credential_query.id;
    if credential_query.format != FORMAT_SD_JWT_VC {
        return Err(Oid4vpError::InvalidResponse(format!(
            "{id:?}: format {} is not verified here",
            credential_query.format
        )));
    }
    let accepted_vcts = credential_query
        .meta
        .get("vct_values")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let verification_policy = VerificationPolicy {
        accepted_vcts,
        issuer_trust: policy.issuer_trust.clone(),
        trust_as_of: policy.trust_as_of,
        max_trust_age: policy.max_trust_age,
        skew: policy.skew,
        key_binding: Some(KeyBindingPolicy {
            audience: request.client_id.clone(),
            nonce: request.nonce.clone(),
            max_age: policy.max_presentation_age,
        }),
        status: policy.status.clone(),
    };
    let verification = verify_presentation(presentation, &verification_policy, status_lists, now)
        .map_err(|error| Oid4vpError::Presentation {
        query: id.clone(),
        error,
    })?;
    // The claims asked for must be there (as disclosed), with the values asked for.
    let candidate = Candidate {
        format: FORMAT_SD_JWT_VC,
        vct: &verification.vct,
        claims: &verification.claims,
        // Issuer trust was established above, under the verifier's own policy.
        authority_key_ids: &[],
        holder_bound: true,
    };
    if credential_query
        .matches_ignoring_authorities(&candidate)
        .is_none()
    {
        return Err(Oid4vpError::InvalidResponse(format!(
            "{id:?}: the presentation does not disclose the claims asked for"
        )));
    }
    Ok(verification)
}

/// Whether `answered` query ids satisfy the query: all of them without credential sets, else an
/// option of every required set.
fn satisfied(query: &DcqlQuery, answered: &HashSet<&str>) -> bool {
    match &query.credential_sets {
        None => query
            .credentials
            .iter()
            .all(|c| answered.contains(c.id.as_str())),
        Some(sets) => sets.iter().filter(|set| set.required).all(|set| {
            set.options
                .iter()
                .any(|option| option.iter().all(|id| answered.contains(id.as_str())))
        }),
    }
}
