//! Issue 13 end to end, on both backends: the two halves of document signatures meeting. A
//! level-2 citizen's keystore key (SDK) → its CSR (SDK) → `POST /v1/me/signing-certificates`
//! (server) → CMS, PAdES and JWS signatures (SDK) → time-stamps from the server's `/tsa` →
//! verification (SDK) against the agency root from `/trust/issuer-root.pem` with the CRL from
//! `/crl/signing.crl` and an OCSP answer from `/ocsp`; then the citizen revokes the certificate:
//! a signature time-stamped after that is refused as revoked, the one time-stamped before still
//! verifies, and one without a time-stamp is refused. openssl (`cms -verify`, `ts -verify`,
//! `ocsp`) and poppler's `pdfsig` check the same material independently.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use dinhdanh_sdk::{
    cms::{CmsSignature, SignerChain},
    pades,
    signatures::{self, Rejection, Revocation, Verdict, VerificationContext},
    tsp::TimeStampQuery,
    wallet::{KeyStore, KeyStoreSigner, SoftwareKeyStore},
    x509::{self, TrustAnchor},
};
use serde_json::json;

use crate::signing::{
    AN, listen, openssl, openssl_present, pem_chain, raw, request, stepped_up_an,
};
use crate::support::{TestApp, databases};

const MINIMAL_PDF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sdk/tests/vectors/pdf/minimal.pdf"
);

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn have(tool: &str, probe: &str) -> bool {
    let present = std::process::Command::new(tool).arg(probe).output().is_ok();
    if !present {
        eprintln!("SKIPPED LOUDLY: {tool} is not installed; its checks of the journey did not run");
    }
    present
}

/// The server's time-stamp for a signature value: the query POSTed to `/tsa`, the token out
/// of the reply (granted, imprint and nonce checked by the SDK).
async fn timestamp(app: &TestApp, signature_value: &[u8]) -> Vec<u8> {
    let query = TimeStampQuery::for_signature(signature_value).unwrap();
    let (status, content_type, reply) = raw(
        app,
        Request::post("/tsa")
            .header("content-type", "application/timestamp-query")
            .body(Body::from(query.der().to_vec()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/timestamp-reply");
    query.token_from_response(&reply).unwrap()
}

async fn crl(app: &TestApp) -> Vec<u8> {
    let (status, _, der) = raw(
        app,
        Request::get("/crl/signing.crl")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    der
}

/// `openssl ocsp -url <server>/ocsp` for the leaf: its report and the DER answer it saved.
async fn ocsp(url: &str, dir: &std::path::Path) -> (String, Vec<u8>) {
    let (ok, out) = openssl(
        &[
            "ocsp",
            "-url",
            &format!("{url}/ocsp"),
            "-issuer",
            "ca.pem",
            "-cert",
            "leaf.pem",
            "-CAfile",
            "bundle.pem",
            "-respout",
            "ocsp.der",
        ],
        dir,
    )
    .await;
    assert!(ok, "{out}");
    (out, std::fs::read(dir.join("ocsp.der")).unwrap())
}

fn assert_valid(verdict: &Verdict, revocation: Revocation, what: &str) {
    assert!(verdict.valid, "{what}: {:?}", verdict);
    assert_eq!(verdict.revocation, revocation, "{what}: {verdict:?}");
    let signer = verdict.signer.as_ref().unwrap();
    assert_eq!(signer.uid, format!("CCCD:{AN}"), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_with_the_server_certificate_and_revocation_splits_old_from_new() {
    if !openssl_present() {
        return;
    }
    let pdf_tools = have("pdfsig", "-v") && have("certutil", "-H");
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let url = listen(&app).await;
        let token = stepped_up_an(&app).await;
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();

        // The phone: a keystore key and its certification request (SDK).
        let keystore = SoftwareKeyStore::open_with_master_key(&dir.join("keys"), &[7; 32]).unwrap();
        keystore.generate_signing_key("signing").unwrap();
        let signer = KeyStoreSigner::new(&keystore, "signing").unwrap();
        let csr = x509::csr::csr_pem(&signer, signer.public_key()).unwrap();

        // The server certifies it.
        let issued = request(&app, &token, json!({ "csr": csr })).await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
        let certificate_id = issued.body["id"].as_str().unwrap().to_owned();
        let chain_pem = issued.body["certificate_chain"].as_str().unwrap();
        let chain = pem_chain(chain_pem);
        assert_eq!(chain.len(), 2, "the certificate and the signing CA");
        let root = app
            .call(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        let anchors = TrustAnchor::from_pem(&root.text).unwrap();
        std::fs::write(dir.join("root.pem"), &root.text).unwrap();
        std::fs::write(dir.join("chain.pem"), chain_pem).unwrap();
        std::fs::write(dir.join("leaf.pem"), x509::der_to_pem(&chain[0])).unwrap();
        std::fs::write(dir.join("ca.pem"), x509::der_to_pem(&chain[1])).unwrap();
        std::fs::write(
            dir.join("bundle.pem"),
            format!("{}{}", root.text, x509::der_to_pem(&chain[1])),
        )
        .unwrap();
        let signer_chain = SignerChain::new(&chain, signer.public_key()).unwrap();

        // Signatures made with the keystore key and the server's chain.
        let document = "Hợp đồng thuê nhà số 12/2026\n".as_bytes();
        std::fs::write(dir.join("contract.txt"), document).unwrap();
        let untimed = signatures::sign_cms(document, &signer, &signer_chain, now()).unwrap();
        // The value the time-stamp covers, as the facade reads it for a query.
        assert!(signatures::cms_timestamp_query(&untimed).is_ok());
        let value = CmsSignature::parse(&untimed).unwrap().signature;
        let old = signatures::add_cms_timestamp(&untimed, &timestamp(&app, &value).await).unwrap();
        std::fs::write(dir.join("contract.p7s"), &old).unwrap();
        let pdf = std::fs::read(MINIMAL_PDF).unwrap();
        let signed_pdf = signatures::sign_pdf(&pdf, &signer, &signer_chain, now()).unwrap();
        let pdf_value = pades::last_signature_value(&signed_pdf).unwrap();
        let signed_pdf =
            pades::add_timestamp(&signed_pdf, &timestamp(&app, &pdf_value).await).unwrap();
        std::fs::write(dir.join("contract.pdf"), &signed_pdf).unwrap();
        let form = br#"{"form":"dang-ky-tam-tru","address":"12 H\u00e0ng B\u1ea1c"}"#;
        let jws = signatures::sign_jws(form, &signer, &chain, now()).unwrap();

        // Verified by the SDK against the agency root, with the server's CRL, then its OCSP.
        let crl_before = crl(&app).await;
        let (report, ocsp_before) = ocsp(&url, dir).await;
        assert!(report.contains("leaf.pem: good"), "{report}");
        for (name, revocation_data) in [("crl", &crl_before), ("ocsp", &ocsp_before)] {
            let mut context = VerificationContext::new(&anchors, now());
            if name == "crl" {
                context.crl = Some(revocation_data);
            } else {
                context.ocsp = Some(revocation_data);
            }
            let verdict = signatures::verify_cms(&old, document, &context);
            assert_valid(&verdict, Revocation::Good, name);
            assert!(verdict.timestamped(), "{verdict:?}");
            let verdicts = signatures::verify_pdf(&signed_pdf, &context);
            assert_eq!(verdicts.len(), 1);
            assert_valid(&verdicts[0], Revocation::Good, name);
            assert!(verdicts[0].timestamped(), "{:?}", verdicts[0]);
            assert_valid(
                &signatures::verify_jws(&jws, form, &context),
                Revocation::Good,
                name,
            );
        }

        // The independent tools on the server-issued material.
        let (ok, out) = openssl(
            &[
                "cms",
                "-verify",
                "-binary",
                "-content",
                "contract.txt",
                "-inform",
                "DER",
                "-in",
                "contract.p7s",
                "-CAfile",
                "root.pem",
                "-certfile",
                "chain.pem",
                "-out",
                "/dev/null",
            ],
            dir,
        )
        .await;
        assert!(ok && out.contains("Verification successful"), "{out}");
        let embedded = CmsSignature::parse(&old).unwrap();
        std::fs::write(dir.join("token.der"), &embedded.timestamp_tokens[0]).unwrap();
        std::fs::write(dir.join("value.bin"), &embedded.signature).unwrap();
        let (ok, out) = openssl(
            &[
                "ts",
                "-verify",
                "-data",
                "value.bin",
                "-in",
                "token.der",
                "-token_in",
                "-CAfile",
                "root.pem",
            ],
            dir,
        )
        .await;
        assert!(ok && out.contains("Verification: OK"), "{out}");
        if pdf_tools {
            let report = pdfsig(dir);
            assert!(report.contains("Signature is Valid"), "{report}");
            assert!(report.contains("Certificate is Trusted"), "{report}");
        }

        // The citizen revokes, strictly after the old time-stamp's second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/me/signing-certificates/{certificate_id}/revoke"),
                Some(&token),
                Some(json!({ "reason": "key_compromise" })),
            )
            .await;
        assert!(revoked.status.is_success(), "{}", revoked.text);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let crl_after = crl(&app).await;
        let (report, ocsp_after) = ocsp(&url, dir).await;
        assert!(report.contains("leaf.pem: revoked"), "{report}");

        // A new signature, time-stamped after the revocation: revoked.
        let fresh = signatures::sign_cms(document, &signer, &signer_chain, now()).unwrap();
        let fresh_value = CmsSignature::parse(&fresh).unwrap().signature;
        let fresh =
            signatures::add_cms_timestamp(&fresh, &timestamp(&app, &fresh_value).await).unwrap();
        for (name, revocation_data) in [("crl", &crl_after), ("ocsp", &ocsp_after)] {
            let mut context = VerificationContext::new(&anchors, now());
            if name == "crl" {
                context.crl = Some(revocation_data);
            } else {
                context.ocsp = Some(revocation_data);
            }
            let verdict = signatures::verify_cms(&fresh, document, &context);
            assert!(!verdict.valid, "{name}: {verdict:?}");
            assert_eq!(
                verdict.reason,
                Some(Rejection::Revoked),
                "{name}: {verdict:?}"
            );
            assert_eq!(verdict.revocation, Revocation::Revoked, "{name}");
            // The old one was time-stamped before the revocation: still valid, good then.
            let verdict = signatures::verify_cms(&old, document, &context);
            assert_valid(&verdict, Revocation::Good, name);
            let verdicts = signatures::verify_pdf(&signed_pdf, &context);
            assert_valid(&verdicts[0], Revocation::Good, name);
            // Without a time-stamp, it is checked now: revoked.
            let verdict = signatures::verify_cms(&untimed, document, &context);
            assert!(!verdict.valid, "{name}: {verdict:?}");
            assert_eq!(
                verdict.reason,
                Some(Rejection::Revoked),
                "{name}: {verdict:?}"
            );
            let verdict = signatures::verify_jws(&jws, form, &context);
            assert_eq!(
                verdict.reason,
                Some(Rejection::Revoked),
                "{name}: {verdict:?}"
            );
        }
    }
}

/// `pdfsig` on `contract.pdf` with the agency root trusted in a fresh NSS database.
fn pdfsig(dir: &std::path::Path) -> String {
    let nss = dir.join("nssdb");
    std::fs::create_dir_all(&nss).unwrap();
    let nss = format!("sql:{}", nss.display());
    let run = |program: &str, args: &[&str]| {
        let output = std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run("certutil", &["-N", "-d", &nss, "--empty-password"]);
    run(
        "certutil",
        &[
            "-A",
            "-d",
            &nss,
            "-n",
            "agency root",
            "-t",
            "CT,C,C",
            "-i",
            "root.pem",
        ],
    );
    // No online OCSP: the certificate names the app's public URL, not this test's port.
    run("pdfsig", &["-no-ocsp", "-nssdir", &nss, "contract.pdf"])
}
