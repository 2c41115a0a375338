//! SD-JWT VC verification (draft-ietf-oauth-sd-jwt-vc): `vc::verify_vc` under each way of
//! trusting the issuer (pinned key, `x5c` chain to a trust anchor, JWT VC Issuer Metadata), and
//! `JwtVcIssuerMetadata::parse` of metadata documents.
//!
//! Input, either:
//! - any text: verified as a compact SD-JWT VC presentation and parsed as issuer metadata;
//! - when it starts with `{`: a template `<payload>~<disclosure>~...` (see
//!   [`dinhdanh_sdk_fuzz::sd_jwt_from_template`]), signed twice with `typ: dc+sd-jwt` — by the
//!   fixed issuer key with `kid: k1`, and by the fuzz leaf key with `x5c` naming the leaf
//!   certificate — so the VC rules (`vct`, never-disclosable claims, `iss` bound to the
//!   certificate, `status`, `cnf`) run behind valid signatures.

#![no_main]

use dinhdanh_sdk::jose::JwsHeader;
use dinhdanh_sdk::sdjwt::KeyBindingExpectation;
use dinhdanh_sdk::vc::{IssuerTrust, JwtVcIssuerMetadata, VC_TYP, VcVerifyOptions, verify_vc};
use dinhdanh_sdk::x509::der_chain_to_x5c;
use dinhdanh_sdk_fuzz::{
    FUZZ_CA, FUZZ_LEAF_DER, ISSUER_KEY, LEAF_KEY, NOW, issuer_public, sd_jwt_from_template,
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ISSUER: &str = "https://issuer.example.vn";

static METADATA: LazyLock<Vec<JwtVcIssuerMetadata>> = LazyLock::new(|| {
    let mut jwk = issuer_public().to_jwk();
    if let Some(map) = jwk.as_object_mut() {
        map.insert("kid".into(), "k1".into());
    }
    let document = serde_json::json!({ "issuer": ISSUER, "jwks": { "keys": [jwk] } });
    #[allow(clippy::expect_used)]
    let metadata = JwtVcIssuerMetadata::parse(&document.to_string()).expect("fixed metadata");
    vec![metadata]
});

fn verify_every_way(presentation: &str) {
    let anchors = std::slice::from_ref(&*FUZZ_CA);
    let accepted: &[&str] = &["urn:vn:dinhdanh:pid:1", "urn:vn:dinhdanh:driving_licence:1"];
    for trust in [
        IssuerTrust::Key(issuer_public()),
        IssuerTrust::Anchors(anchors),
        IssuerTrust::Metadata(&METADATA),
    ] {
        let mut options = VcVerifyOptions {
            trust,
            now: NOW,
            skew: 60,
            key_binding: None,
            accepted_vcts: None,
        };
        let _ = verify_vc(presentation, &options);
        options.key_binding = Some(KeyBindingExpectation {
            aud: "a",
            nonce: "n",
            max_age: 300,
        });
        options.accepted_vcts = Some(accepted);
        let _ = verify_vc(presentation, &options);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    verify_every_way(&text);
    if let Ok(metadata) = JwtVcIssuerMetadata::parse(&text) {
        let _ = metadata.key_for(ISSUER, Some("k1"));
        let _ = metadata.key_for(&metadata.issuer, None);
    }
    let _ = JwtVcIssuerMetadata::well_known_url(&text);

    if data.first() == Some(&b'{') {
        let mut header = JwsHeader::es256(VC_TYP);
        header.kid = Some("k1".into());
        if let Some(presentation) = sd_jwt_from_template(data, &header, &*ISSUER_KEY) {
            verify_every_way(&presentation);
        }
        let mut header = JwsHeader::es256(VC_TYP);
        header.x5c = Some(der_chain_to_x5c(std::slice::from_ref(&*FUZZ_LEAF_DER)));
        if let Some(presentation) = sd_jwt_from_template(data, &header, &*LEAF_KEY) {
            verify_every_way(&presentation);
        }
    }
});
