//! The OpenID4VCI 1.0 issuer: metadata, token, nonce and credential endpoints, and the status
//! lists. Errors use the specifications' format (`{"error": ..., "error_description": ...}`),
//! not problem+json.

use axum::{
    Form, Router,
    extract::{State, rejection::FormRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use dinhdanh_sdk::{
    openid4vci::{FORMAT_SD_JWT_VC, PRE_AUTHORIZED_GRANT},
    vc::{ClaimSchema, ClaimType, CredentialKind},
};
use serde_json::{Value, json};

use super::{AnonymousEndpoint, Json, Path};
use crate::{
    domain::issuance::{self, CredentialRequest, OauthError, TokenRequest},
    domain::status,
    domain::telecom,
    http::AppState,
    http::error::ApiError,
};

pub(super) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-credential-issuer",
            get(credential_issuer_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server_metadata),
        )
        .route("/.well-known/jwt-vc-issuer", get(jwt_vc_issuer_metadata))
        .route("/trust/issuer-root.pem", get(issuer_root))
        .route(
            "/par",
            // Each pushed request stores a row for a client nobody knows yet.
            post(pushed_authorization_request).layer(axum::middleware::from_fn_with_state(
                (state.clone(), AnonymousEndpoint::Par),
                super::anonymous_limit,
            )),
        )
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/status-lists/{list_id}", get(status_list))
}

fn display(kind: CredentialKind) -> Value {
    json!([
        { "name": kind.name_vi(), "locale": "vi" },
        { "name": kind.name_en(), "locale": "en" },
    ])
}

/// `credential_metadata.claims`: a path and display labels for every claim of the schema, at
/// every depth (`null` stands for all elements of an array).
fn claim_descriptions(schema: &[ClaimSchema], prefix: &[Value], out: &mut Vec<Value>) {
    for claim in schema {
        let mut path = prefix.to_vec();
        path.push(json!(claim.name));
        out.push(json!({
            "path": path,
            "mandatory": claim.required,
            "display": [
                { "name": claim.label_vi, "locale": "vi" },
                { "name": claim.label_en, "locale": "en" },
            ],
        }));
        match claim.ty {
            ClaimType::Object(members) => claim_descriptions(members, &path, out),
            ClaimType::ObjectList(members) => {
                path.push(Value::Null);
                claim_descriptions(members, &path, out);
            }
            _ => {}
        }
    }
}

/// The credential issuer metadata (OpenID4VCI 1.0 section 12.2).
fn issuer_metadata(public_url: &str, batch_size: u32) -> Value {
    let mut configurations = serde_json::Map::new();
    for kind in CredentialKind::ALL {
        let mut claims = Vec::new();
        claim_descriptions(kind.schema(), &[], &mut claims);
        configurations.insert(
            kind.id().to_owned(),
            json!({
                "format": FORMAT_SD_JWT_VC,
                "vct": kind.vct(),
                "scope": kind.id(),
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["ES256"],
                "proof_types_supported": {
                    "jwt": { "proof_signing_alg_values_supported": ["ES256"] }
                },
                "credential_metadata": { "display": display(kind), "claims": claims },
            }),
        );
    }
    json!({
        "credential_issuer": public_url,
        "credential_endpoint": format!("{public_url}/credential"),
        "nonce_endpoint": format!("{public_url}/nonce"),
        "batch_credential_issuance": { "batch_size": batch_size },
        "display": [
            { "name": "Bộ Công an — Định danh điện tử", "locale": "vi" },
            { "name": "Ministry of Public Security — electronic identification", "locale": "en" },
        ],
        "credential_configurations_supported": configurations,
    })
}

/// The credential issuer metadata.
#[utoipa::path(get, path = "/.well-known/openid-credential-issuer", tag = "issuance",
    responses((status = 200, description = "OpenID4VCI 1.0 credential issuer metadata")))]
pub(super) async fn credential_issuer_metadata(State(state): State<AppState>) -> Response {
    let services = &state.services;
    public_json(issuer_metadata(
        &services.public_url,
        services.config.issuance.batch_size,
    ))
}

/// The authorization server metadata (RFC 8414) of the issuer, which is its own authorization
/// server.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "issuance",
    responses((status = 200, description = "RFC 8414 authorization server metadata")))]
pub(super) async fn authorization_server_metadata(State(state): State<AppState>) -> Response {
    let url = &state.services.public_url;
    public_json(json!({
        "issuer": url,
        "token_endpoint": format!("{url}/token"),
        "authorization_endpoint": format!("{url}/authorize"),
        "pushed_authorization_request_endpoint": format!("{url}/par"),
        "require_pushed_authorization_requests": true,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "grant_types_supported": [
            PRE_AUTHORIZED_GRANT,
            "authorization_code",
            telecom::client_auth::CLIENT_CREDENTIALS,
        ],
        "pre-authorized_grant_anonymous_access_supported": true,
        // Wallets are public clients; relying parties (telecom operators) sign a client
        // assertion with their access-certificate key.
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["code"],
        "authorization_details_types_supported": ["openid_credential"],
        "scopes_supported": CredentialKind::ALL
            .iter()
            .map(|k| k.id())
            .chain([telecom::SCOPE])
            .collect::<Vec<_>>(),
    }))
}

/// JWT VC issuer metadata (SD-JWT VC draft 24 section 5): the issuer's key, for verifiers that
/// do not use its certificate chain.
#[utoipa::path(get, path = "/.well-known/jwt-vc-issuer", tag = "issuance",
    responses((status = 200, description = "JWT VC issuer metadata")))]
pub(super) async fn jwt_vc_issuer_metadata(State(state): State<AppState>) -> Response {
    let services = &state.services;
    let mut jwk = services.issuer.signer.public_key().to_jwk();
    if let Some(object) = jwk.as_object_mut() {
        object.insert("kid".into(), json!(services.issuer.kid));
        object.insert("use".into(), json!("sig"));
        object.insert("alg".into(), json!("ES256"));
        object.insert("x5c".into(), json!(services.issuer.x5c));
    }
    public_json(json!({ "issuer": services.public_url, "jwks": { "keys": [jwk] } }))
}

/// The root certificate credentials chain to (PEM): the trust anchor verifiers configure.
#[utoipa::path(get, path = "/trust/issuer-root.pem", tag = "issuance",
    responses((status = 200, content_type = "application/x-pem-file")))]
pub(super) async fn issuer_root(State(state): State<AppState>) -> Response {
    let mut response = state.services.issuer.root_pem.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    response
}

fn public_json(value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The values of a request's `DPoP` headers (the domain decides what they must be).
fn dpop_values(headers: &HeaderMap) -> Vec<&[u8]> {
    headers
        .get_all("dpop")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect()
}

/// The token endpoint, dispatched on `grant_type`: for wallets the pre-authorized code grant
/// (with `tx_code`) and the authorization code grant, where a DPoP proof binds the token to its
/// key; for relying parties (telecom operators) the client credentials grant with a
/// `private_key_jwt` client assertion (RFC 7523), answering a Bearer token of scope `telecom`.
#[utoipa::path(post, path = "/token", tag = "issuance",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Wallets: grant_type (pre-authorized_code or authorization_code), pre-authorized_code, tx_code, code, redirect_uri, code_verifier, client_id. Relying parties: grant_type=client_credentials, scope=telecom, client_id, client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer, client_assertion"),
    responses((status = 200, body = issuance::TokenResponse, description = "A wallet's token, or a relying party's Bearer token of scope telecom (OperatorTokenResponse)"),
        (status = 400, description = "OAuth error"),
        (status = 401, description = "invalid_client: the client assertion or the client is not valid")))]
pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OauthError> {
    let Form(request) = form.map_err(|e| OauthError::InvalidRequest(e.body_text()))?;
    if request.grant_type.as_deref() == Some(telecom::client_auth::CLIENT_CREDENTIALS) {
        let request = telecom::client_auth::ClientCredentialsRequest {
            grant_type: request.grant_type,
            scope: request.scope,
            client_id: request.client_id,
            client_assertion_type: request.client_assertion_type,
            client_assertion: request.client_assertion,
        };
        let response = telecom::client_auth::token(&state.services, &request).await?;
        return Ok(Json(response).into_response());
    }
    let dpop = issuance::dpop::request_proof(
        &state.services,
        &dpop_values(&headers),
        "/token",
        None,
        None,
    )?;
    let response = issuance::token(&state.services, &request, dpop.as_ref()).await?;
    Ok(Json(response).into_response())
}

/// The pushed authorization request endpoint (RFC 9126): PKCE S256 required; a DPoP proof binds
/// the code to its key.
#[utoipa::path(post, path = "/par", tag = "issuance",
    request_body(content_type = "application/x-www-form-urlencoded", description = "response_type=code, client_id, redirect_uri, code_challenge, code_challenge_method=S256, scope or authorization_details, state"),
    responses((status = 201, body = issuance::authorization::PushedResponse), (status = 400, description = "OAuth error"),
        (status = 401, description = "invalid_client: the client is not registered")))]
pub(super) async fn pushed_authorization_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<issuance::authorization::PushedRequest>, FormRejection>,
) -> Result<Response, OauthError> {
    let Form(request) = form.map_err(|e| OauthError::InvalidRequest(e.body_text()))?;
    let dpop =
        issuance::dpop::request_proof(&state.services, &dpop_values(&headers), "/par", None, None)?;
    let response = issuance::authorization::push(&state.services, &request, dpop.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// The nonce endpoint: a fresh `c_nonce` for key proofs.
#[utoipa::path(post, path = "/nonce", tag = "issuance",
    responses((status = 200, description = "{\"c_nonce\": \"...\"}")))]
pub(super) async fn nonce(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "c_nonce": issuance::nonce(&state.services) }))
}

/// The access token of a credential request and its scheme (`Bearer` or `DPoP`).
fn access_token(headers: &HeaderMap) -> Result<(&str, bool), OauthError> {
    let missing = || OauthError::InvalidToken("an access token is required".into());
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok((token.trim(), false))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Ok((token.trim(), true))
    } else {
        Err(missing())
    }
}

/// The credential endpoint: one SD-JWT VC per key proof.
#[utoipa::path(post, path = "/credential", tag = "issuance",
    request_body = issuance::CredentialRequest,
    responses((status = 200, body = issuance::CredentialResponse), (status = 400, description = "OpenID4VCI error"),
        (status = 401, description = "invalid_token")))]
pub(super) async fn credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<axum::Json<CredentialRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<issuance::CredentialResponse>, OauthError> {
    let services = &state.services;
    let (token, dpop_scheme) = access_token(&headers)?;
    let grant = issuance::check_access_token(services, token, crate::platform::clock::now())?;
    let dpop = issuance::dpop::credential_proof(
        services,
        &grant,
        token,
        dpop_scheme,
        &dpop_values(&headers),
    )?;
    let axum::Json(request) =
        body.map_err(|e| OauthError::InvalidCredentialRequest(e.body_text()))?;
    let response = issuance::credential(services, &grant, dpop.as_ref(), &request).await?;
    Ok(Json(response))
}

/// A status list token (`application/statuslist+jwt`), cacheable for its `ttl`.
#[utoipa::path(get, path = "/status-lists/{list_id}", tag = "issuance",
    params(("list_id" = i64, Path)),
    responses((status = 200, content_type = "application/statuslist+jwt"), (status = 404)))]
pub(super) async fn status_list(
    State(state): State<AppState>,
    Path(list_id): Path<String>,
) -> Result<Response, ApiError> {
    let list_id: i64 = list_id
        .parse()
        .map_err(|_| ApiError::not_found(Some("no such status list".to_owned())))?;
    let services = &state.services;
    let served = status::token(
        &services.store,
        &services.issuer,
        &services.public_url,
        &services.config.issuance,
        list_id,
        crate::platform::clock::now(),
    )
    .await
    .map_err(|e| ApiError::internal(&e))?
    .ok_or_else(|| ApiError::not_found(Some("no such status list".to_owned())))?;
    let mut response = served.token.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/statuslist+jwt"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={}", served.max_age)) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}
