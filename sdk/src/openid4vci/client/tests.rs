use super::*;
use crate::wallet::{KeyStore as _, SoftwareKeyStore};

/// A network that fails every request: checks that must happen before any is sent.
struct Unreachable;

impl Transport for Unreachable {
    fn send(&self, _: &HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Connect("no request was expected".into()))
    }
}

#[test]
fn a_redirect_is_checked_before_the_code_is_redeemed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::open_with_master_key(dir.path(), &[2; 32]).unwrap();
    keys.generate_signing_key("dpop").unwrap();
    let dpop = KeyStoreSigner::new(&keys, "dpop").unwrap();
    let session = IssuerSession {
        offer: None,
        issuer: "https://id.dinhdanh.example".into(),
        token_endpoint: "https://id.dinhdanh.example/token".into(),
        authorization_endpoint: None,
        par_endpoint: None,
        credential_endpoint: "https://id.dinhdanh.example/credential".into(),
        nonce_endpoint: None,
        batch_size: 1,
        metadata: Value::Null,
    };
    // Without PAR and authorization endpoints there is nothing to start.
    assert!(matches!(
        start_authorization(&Unreachable, &session, &["pid"], "w", "app:/cb", &dpop, 0),
        Err(ClientError::Protocol(
            ProtocolError::NoAuthorizationEndpoint
        ))
    ));
    let start = AuthorizationStart {
        url: String::new(),
        state: "s1".into(),
        redirect_uri: "app:/cb".into(),
        client_id: "w".into(),
        code_verifier: Zeroizing::new("v".repeat(43)),
    };
    let finish =
        |redirect: &str| finish_authorization(&Unreachable, &session, &start, redirect, &dpop, 0);
    // The issuer's refusal comes back typed; other states, issuers and targets are refused.
    assert!(matches!(
        finish("app:/cb?error=access_denied&error_description=no&state=s1"),
        Err(ClientError::Issuer { code, .. }) if code == "access_denied"
    ));
    for (redirect, refused) in [
        ("app:/cb?code=c&state=s2", ProtocolError::StateMismatch),
        (
            "app:/cb?code=c&state=s1&iss=https%3A%2F%2Fevil.example",
            ProtocolError::RedirectIssuer,
        ),
        ("other:/cb?code=c&state=s1", ProtocolError::RedirectTarget),
        (
            "app:/cb?code=c&code=d&state=s1",
            ProtocolError::RedirectQuery(crate::urlencode::QueryError::Repeated("code".into())),
        ),
        (
            "app:/cb?state=s1",
            ProtocolError::Missing {
                document: "redirect",
                member: "code",
            },
        ),
    ] {
        assert_eq!(
            finish(redirect),
            Err(ClientError::Protocol(refused)),
            "{redirect}"
        );
    }
    // A good redirect goes on to the token endpoint (unreachable here).
    assert!(matches!(
        finish("app:/cb?code=c&state=s1&iss=https%3A%2F%2Fid.dinhdanh.example"),
        Err(ClientError::Transport(_))
    ));
}

#[test]
fn well_known_urls_insert_before_the_path() {
    assert_eq!(
        well_known("https://id.example.vn", "openid-credential-issuer"),
        "https://id.example.vn/.well-known/openid-credential-issuer"
    );
    assert_eq!(
        well_known(
            "https://id.example.vn/tenant/",
            "oauth-authorization-server"
        ),
        "https://id.example.vn/.well-known/oauth-authorization-server/tenant"
    );
}

#[test]
fn only_https_or_loopback() {
    assert!(https_or_local("https://id.example.vn").is_ok());
    assert!(https_or_local("http://localhost:8080").is_ok());
    assert!(https_or_local("http://127.0.0.1/x").is_ok());
    assert!(https_or_local("http://localhost.evil.example").is_err());
    assert!(https_or_local("http://id.example.vn").is_err());
    assert!(https_or_local("ftp://id.example.vn").is_err());
}

#[test]
fn forms_are_percent_encoded() {
    assert_eq!(
        crate::urlencode::form(&[("grant_type", PRE_AUTHORIZED_GRANT), ("tx_code", "12 34")]),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&tx_code=12%2034"
    );
}
