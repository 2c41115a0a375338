//! Document signatures through the `dinhdanh` CLI, checked by independent tools: OpenSSL
//! (`req -verify`, `cms -verify`, `ts -reply` as the time-stamp authority and `ts -verify` on the
//! tokens we embed, `ocsp` as the responder) and poppler's `pdfsig` (NSS) on signed PDFs.
//!
//! The certificate authority is the SDK's development PKI with the profile of issue 13
//! (root → citizen signing CA → citizen). A missing tool skips its test loudly, or fails it with
//! `DINHDANH_REQUIRE_INTEROP=1`.

use std::{
    io::{Read, Write},
    net::TcpListener,
    path::PathBuf,
    process::{Command, Output, Stdio},
    thread,
    time::{SystemTime, UNIX_EPOCH},
};

use dinhdanh_sdk::{
    cms::CmsSignature,
    jose::Es256KeyPair,
    pades,
    x509::dev::{DevCa, ServicePurpose, SigningProfile, der_to_pem},
};
use serde_json::Value;

const NAME: &str = "Nguyễn Văn An";
const ID_NUMBER: &str = "001090000001";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Whether `tool` runs; when not, says so loudly (or fails under DINHDANH_REQUIRE_INTEROP=1).
fn have(tool: &str, probe: &str) -> bool {
    let found = Command::new(tool)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert_ne!(
            std::env::var("DINHDANH_REQUIRE_INTEROP").as_deref(),
            Ok("1"),
            "DINHDANH_REQUIRE_INTEROP=1 but {tool} is not installed"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: signature interop with {tool}: not installed"
        );
    }
    found
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("signatures-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn dinhdanh(&self, args: &[&str], stdin: &[u8]) -> Output {
        run(
            Command::new(env!("CARGO_BIN_EXE_dinhdanh")).args(args),
            stdin,
        )
    }

    /// `dinhdanh signature verify …`: the JSON verdict and whether the exit status was 0.
    fn verify(&self, args: &[&str], stdin: &[u8]) -> (Value, bool) {
        let mut all = vec!["signature", "verify"];
        all.extend_from_slice(args);
        let output = self.dinhdanh(&all, stdin);
        let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "verdict is JSON ({e}): {} / {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert_eq!(
            verdict["valid"].as_bool(),
            Some(output.status.success()),
            "exit status 0 exactly when valid: {verdict}"
        );
        (verdict, output.status.success())
    }

    fn openssl(&self, args: &[&str]) -> Output {
        run(Command::new("openssl").args(args).current_dir(&self.0), b"")
    }
}

fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ok(output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn key_pem(key: &Es256KeyPair) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(key.to_pkcs8_der().unwrap());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The agency root, the citizen signing CA, a TSA, and a citizen with a key (JWK file) and a
/// certificate issued for the CSR the CLI made.
struct Pki {
    dir: Dir,
    ca: DevCa,
    ca_key: Es256KeyPair,
    root_pem: String,
    chain_pem: String,
    leaf_der: Vec<u8>,
    key_file: String,
}

fn pki(name: &str) -> Pki {
    let dir = Dir::new(name);
    let t = now();
    let root = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "agency root",
        t - 86_400,
        t + 86_400 * 365,
    )
    .unwrap();
    let ca_key = Es256KeyPair::generate().unwrap();
    let ca_der = root
        .issue_intermediate(
            ca_key.public_key(),
            "citizen signing CA",
            t - 86_400,
            t + 86_400 * 365,
        )
        .unwrap();
    let ca = DevCa::load(&ca_der, &ca_key).unwrap();
    let key_file = dir.write(
        "citizen.jwk",
        dir.dinhdanh(&["keygen"], b"").stdout.as_slice(),
    );
    let csr = ok(dir.dinhdanh(&["x509", "csr", "--key", &key_file], b""));
    let csr_file = dir.write("citizen.csr", &csr);
    if have("openssl", "version") {
        // OpenSSL checks the request's self-signature (proof of possession).
        ok(dir.openssl(&["req", "-in", &csr_file, "-verify", "-noout"]));
    }
    let csr_der = x509_parser::pem::Pem::iter_from_buffer(&csr)
        .next()
        .unwrap()
        .unwrap()
        .contents;
    let leaf_der = ca
        .issue_signing_certificate_for_csr(
            &csr_der,
            &SigningProfile {
                name: NAME,
                id_number: ID_NUMBER,
                crl_url: "http://127.0.0.1:8080/crl/signing.crl",
                ocsp_url: "http://127.0.0.1:8080/ocsp",
                not_before: t - 3600,
                not_after: t + 86_400 * 30,
            },
        )
        .unwrap();
    let root_pem = dir.write("root.pem", root.certificate_pem());
    let chain_pem = dir.write(
        "chain.pem",
        format!("{}{}", der_to_pem(&leaf_der), ca.certificate_pem()),
    );
    // The TSA's certificate, issued by the root, and its key for OpenSSL.
    let tsa_key = Es256KeyPair::generate().unwrap();
    let tsa = root
        .issue_service(
            tsa_key.public_key(),
            "time-stamp authority",
            ServicePurpose::TimeStamping,
            t - 86_400,
            t + 86_400 * 365,
        )
        .unwrap();
    dir.write("tsa.pem", der_to_pem(&tsa));
    dir.write("tsa.key", key_pem(&tsa_key));
    dir.write("ca.pem", ca.certificate_pem());
    dir.write("ca.key", key_pem(&ca_key));
    dir.write("leaf.pem", der_to_pem(&leaf_der));
    dir.write(
        "tsa.cnf",
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = .\nserial = ./tsaserial\n\
         crypto_device = builtin\nsigner_cert = ./tsa.pem\nsigner_key = ./tsa.key\n\
         signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
         accuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\n\
         ess_cert_id_alg = sha256\n",
    );
    dir.write("tsaserial", "01\n");
    Pki {
        dir,
        ca,
        ca_key,
        root_pem,
        chain_pem,
        leaf_der,
        key_file,
    }
}

impl Pki {
    fn serial(&self) -> Vec<u8> {
        use x509_parser::prelude::FromDer;
        let (_, leaf) =
            x509_parser::certificate::X509Certificate::from_der(&self.leaf_der).unwrap();
        leaf.raw_serial().to_vec()
    }

    /// A time-stamp authority over HTTP: each POSTed query is answered by `openssl ts -reply`.
    /// Returns its URL; the thread serves `count` queries.
    fn start_tsa(&self, count: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let dir = self.dir.0.clone();
        thread::spawn(move || {
            for _ in 0..count {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                let body = loop {
                    let n = stream.read(&mut buffer).unwrap_or(0);
                    if n == 0 {
                        break None;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break Some(request[end + 4..end + 4 + length].to_vec());
                    }
                };
                let Some(body) = body else { continue };
                std::fs::write(dir.join("query.tsq"), body).unwrap();
                let reply = Command::new("openssl")
                    .args([
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        "query.tsq",
                        "-out",
                        "reply.tsr",
                    ])
                    .current_dir(&dir)
                    .output()
                    .unwrap();
                assert!(
                    reply.status.success(),
                    "{}",
                    String::from_utf8_lossy(&reply.stderr)
                );
                let reply = std::fs::read(dir.join("reply.tsr")).unwrap();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&reply);
            }
        });
        url
    }

    fn crl(&self, revoked_at: Option<u64>, this_update: u64) -> String {
        let revoked: Vec<(Vec<u8>, u64)> = revoked_at
            .map(|at| (self.serial(), at))
            .into_iter()
            .collect();
        let crl = self
            .ca
            .crl(&revoked, this_update, this_update + 86_400)
            .unwrap();
        self.dir
            .write(&format!("crl-{this_update}-{revoked_at:?}.der"), crl)
    }
}

const DOCUMENT: &[u8] = b"Hop dong thue nha so 12/2026\nBen A: ...\n";

#[test]
fn cms_from_the_cli_verifies_with_openssl_and_with_us() {
    if !have("openssl", "version") {
        return;
    }
    let p = pki("cms");
    let signature = ok(p.dir.dinhdanh(
        &["sign", "cms", "--key", &p.key_file, "--cert", &p.chain_pem],
        DOCUMENT,
    ));
    let document = p.dir.write("doc.txt", DOCUMENT);
    let signature_file = p.dir.write("doc.p7s", &signature);
    // OpenSSL's default purpose for CMS (S/MIME signing) checks emailProtection too.
    ok(p.dir.openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-content",
        &document,
        "-inform",
        "DER",
        "-in",
        &signature_file,
        "-CAfile",
        &p.root_pem,
        "-certfile",
        &p.chain_pem,
        "-out",
        "/dev/null",
    ]));
    let (verdict, valid) = p.dir.verify(
        &["cms", "--content", &document, "--trust-anchor", &p.root_pem],
        &signature,
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["signer"]["name"], NAME);
    assert_eq!(verdict["signer"]["uid"], format!("CCCD:{ID_NUMBER}"));
    assert_eq!(verdict["timestamped"], false);
    assert_eq!(verdict["revocation"], "unknown");
    assert!(verdict["signing_time"].as_u64().unwrap() >= now() - 60);

    // Another document, a truncated signature, another root: JSON verdicts, exit status 1.
    let other = p.dir.write("other.txt", b"Hop dong thue nha so 13/2026\n");
    let (verdict, valid) = p.dir.verify(
        &["cms", "--content", &other, "--trust-anchor", &p.root_pem],
        &signature,
    );
    assert!(!valid);
    assert_eq!(verdict["reason"], "content_mismatch");
    let (verdict, _) = p.dir.verify(
        &["cms", "--content", &document, "--trust-anchor", &p.root_pem],
        &signature[..signature.len() - 7],
    );
    assert_eq!(verdict["reason"], "malformed");
    let stranger = pki("cms-stranger");
    let (verdict, _) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &stranger.root_pem,
        ],
        &signature,
    );
    assert_eq!(verdict["reason"], "untrusted");
    // OpenSSL agrees on the changed document.
    assert!(
        !p.dir
            .openssl(&[
                "cms",
                "-verify",
                "-binary",
                "-content",
                &other,
                "-inform",
                "DER",
                "-in",
                &signature_file,
                "-CAfile",
                &p.root_pem,
                "-out",
                "/dev/null",
            ])
            .status
            .success()
    );
}

/// The token a B-T signature carries, and the signature value it covers.
fn embedded_token(cms: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let parsed = CmsSignature::parse(cms).unwrap();
    (parsed.timestamp_tokens[0].clone(), parsed.signature.clone())
}

#[test]
fn time_stamped_cms_proves_it_was_made_before_a_revocation() {
    if !have("openssl", "version") {
        return;
    }
    let p = pki("tsa");
    let url = p.start_tsa(1);
    let signature = ok(p.dir.dinhdanh(
        &[
            "sign",
            "cms",
            "--key",
            &p.key_file,
            "--cert",
            &p.chain_pem,
            "--tsa",
            &url,
        ],
        DOCUMENT,
    ));
    // OpenSSL verifies the token we embedded, over the signature value.
    let (token, value) = embedded_token(&signature);
    let token_file = p.dir.write("token.der", &token);
    let value_file = p.dir.write("signature-value.bin", &value);
    ok(p.dir.openssl(&[
        "ts",
        "-verify",
        "-data",
        &value_file,
        "-in",
        &token_file,
        "-token_in",
        "-CAfile",
        &p.root_pem,
        "-untrusted",
        "tsa.pem",
    ]));
    let document = p.dir.write("doc.txt", DOCUMENT);
    let signature_file = p.dir.write("doc.p7s", &signature);
    ok(p.dir.openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-content",
        &document,
        "-inform",
        "DER",
        "-in",
        &signature_file,
        "-CAfile",
        &p.root_pem,
        "-certfile",
        &p.chain_pem,
        "-out",
        "/dev/null",
    ]));

    let (verdict, valid) = p.dir.verify(
        &["cms", "--content", &document, "--trust-anchor", &p.root_pem],
        &signature,
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["timestamped"], true);
    let stamped_at = verdict["timestamp"].as_u64().unwrap();

    // Revoked after the time-stamp: the signature was made while the certificate was good.
    let later = stamped_at + 100;
    let crl = p.crl(Some(later), later + 100);
    let check_time = (later + 200).to_string();
    let (verdict, valid) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--crl",
            &crl,
            "--now",
            &check_time,
        ],
        &signature,
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["revocation"], "good");

    // The same revocation, a signature without a time-stamp: checked at the verification time.
    let unstamped = ok(p.dir.dinhdanh(
        &["sign", "cms", "--key", &p.key_file, "--cert", &p.chain_pem],
        DOCUMENT,
    ));
    let (verdict, valid) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--crl",
            &crl,
            "--now",
            &check_time,
        ],
        &unstamped,
    );
    assert!(!valid);
    assert_eq!(verdict["reason"], "revoked");
    assert_eq!(verdict["revocation"], "revoked");

    // Revoked before the time-stamp: revoked, time-stamp or not. The CRL as PEM works too.
    let crl = p.crl(Some(stamped_at - 30), stamped_at + 10);
    let pem = p.dir.openssl(&["crl", "-inform", "DER", "-in", &crl]);
    let crl_pem = p.dir.write("crl.pem", ok(pem));
    let (verdict, valid) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--crl",
            &crl_pem,
            "--now",
            &(stamped_at + 20).to_string(),
        ],
        &signature,
    );
    assert!(!valid);
    assert_eq!(verdict["reason"], "revoked");
}

#[test]
fn ocsp_responses_from_openssl() {
    if !have("openssl", "version") {
        return;
    }
    let p = pki("ocsp");
    let document = p.dir.write("doc.txt", DOCUMENT);
    let signature = ok(p.dir.dinhdanh(
        &["sign", "cms", "--key", &p.key_file, "--cert", &p.chain_pem],
        DOCUMENT,
    ));
    let serial: String = p.serial().iter().map(|b| format!("{b:02X}")).collect();
    let respond = |index: &str, name: &str| {
        p.dir.write("index.txt", index);
        ok(p.dir.openssl(&[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "leaf.pem",
            "-reqout",
            "req.der",
            "-no_nonce",
        ]));
        ok(p.dir.openssl(&[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "req.der",
            "-respout",
            name,
            "-ndays",
            "1",
        ]));
        p.dir.path(name)
    };
    let good = respond(
        &format!("V\t301231235959Z\t\t{serial}\tunknown\t/CN=x\n"),
        "good.der",
    );
    let (verdict, valid) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--ocsp",
            &good,
        ],
        &signature,
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["revocation"], "good");

    let revoked_at = time_of(now() - 600);
    let revoked = respond(
        &format!("R\t301231235959Z\t{revoked_at}\t{serial}\tunknown\t/CN=x\n"),
        "revoked.der",
    );
    let (verdict, valid) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--ocsp",
            &revoked,
        ],
        &signature,
    );
    assert!(!valid);
    assert_eq!(verdict["reason"], "revoked");

    // Too old for the maximum age.
    let (verdict, _) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--ocsp",
            &good,
            "--revocation-max-age",
            "1",
            "--now",
            &(now() + 120).to_string(),
        ],
        &signature,
    );
    assert_eq!(verdict["reason"], "stale_revocation_data");
    // Not an OCSP response.
    let junk = p.dir.write("junk.der", b"\x30\x03\x0a\x01\x00");
    let (verdict, _) = p.dir.verify(
        &[
            "cms",
            "--content",
            &document,
            "--trust-anchor",
            &p.root_pem,
            "--ocsp",
            &junk,
        ],
        &signature,
    );
    assert_eq!(verdict["reason"], "invalid_revocation_data");
    let _ = &p.ca_key;
}

/// `YYMMDDHHMMSSZ` for OpenSSL's index file.
fn time_of(unix: u64) -> String {
    let time = der::DateTime::from_unix_duration(std::time::Duration::from_secs(unix)).unwrap();
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        time.year() % 100,
        time.month(),
        time.day(),
        time.hour(),
        time.minutes(),
        time.seconds()
    )
}

/// `pdfsig` with the root trusted in a fresh NSS database: its report.
fn pdfsig(p: &Pki, pdf: &str) -> String {
    let db = p.dir.path("nssdb");
    if !std::path::Path::new(&db).exists() {
        std::fs::create_dir_all(&db).unwrap();
        let nss = format!("sql:{db}");
        ok(run(
            Command::new("certutil").args(["-N", "-d", &nss, "--empty-password"]),
            b"",
        ));
        ok(run(
            Command::new("certutil").args([
                "-A",
                "-d",
                &nss,
                "-n",
                "agency root",
                "-t",
                "CT,C,C",
                "-i",
                &p.root_pem,
            ]),
            b"",
        ));
    }
    let output = run(
        // No online OCSP: the certificate's responder URL is not served in this test.
        Command::new("pdfsig").args(["-no-ocsp", "-nssdir", &format!("sql:{db}"), pdf]),
        b"",
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const MINIMAL_PDF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/pdf/minimal.pdf");
const ENCRYPTED_PDF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/pdf/encrypted.pdf"
);

#[test]
fn signed_pdfs_are_valid_for_pdfsig_and_a_second_signature_keeps_the_first() {
    if !have("pdfsig", "-v") || !have("certutil", "-H") || !have("openssl", "version") {
        return;
    }
    let p = pki("pdf");
    let url = p.start_tsa(1);
    let once = p.dir.path("once.pdf");
    ok(p.dir.dinhdanh(
        &[
            "sign",
            "pdf",
            "--key",
            &p.key_file,
            "--cert",
            &p.chain_pem,
            "--tsa",
            &url,
            "--in",
            MINIMAL_PDF,
            "--out",
            &once,
        ],
        b"",
    ));
    assert!(
        p.dir
            .read("once.pdf")
            .starts_with(&std::fs::read(MINIMAL_PDF).unwrap())
    );
    let report = pdfsig(&p, &once);
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Certificate is Trusted"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    let (verdict, valid) = p.dir.verify(
        &["pdf", "--trust-anchor", &p.root_pem],
        &p.dir.read("once.pdf"),
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["timestamped"], true);
    assert_eq!(verdict["signer"]["uid"], format!("CCCD:{ID_NUMBER}"));
    // OpenSSL verifies the token inside the PDF's CMS.
    let found = pades::signatures(&p.dir.read("once.pdf")).unwrap();
    let (token, value) = embedded_token(&found[0].cms);
    let token_file = p.dir.write("pdf-token.der", &token);
    let value_file = p.dir.write("pdf-signature-value.bin", &value);
    ok(p.dir.openssl(&[
        "ts",
        "-verify",
        "-data",
        &value_file,
        "-in",
        &token_file,
        "-token_in",
        "-CAfile",
        &p.root_pem,
        "-untrusted",
        "tsa.pem",
    ]));

    // A second signer signs the signed PDF: both signatures stay valid.
    let second = pki("pdf-second");
    let twice = p.dir.path("twice.pdf");
    ok(second.dir.dinhdanh(
        &[
            "sign",
            "pdf",
            "--key",
            &second.key_file,
            "--cert",
            &second.chain_pem,
            "--in",
            &once,
            "--out",
            &twice,
        ],
        b"",
    ));
    let report = pdfsig(&p, &twice);
    assert_eq!(report.matches("Signature is Valid").count(), 2, "{report}");
    // Our verifier, trusting both roots.
    let roots = p.dir.write(
        "roots.pem",
        format!(
            "{}{}",
            std::fs::read_to_string(&p.root_pem).unwrap(),
            std::fs::read_to_string(&second.root_pem).unwrap()
        ),
    );
    let (verdict, valid) = p
        .dir
        .verify(&["pdf", "--trust-anchor", &roots], &p.dir.read("twice.pdf"));
    assert!(valid, "{verdict}");
    assert_eq!(verdict["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(verdict["signatures"][0]["signer"]["name"], NAME);
}

#[test]
fn bad_pdfs_and_jws_through_the_cli() {
    let p = pki("bad");
    let out = p.dir.path("out.pdf");
    let refused = p.dir.dinhdanh(
        &[
            "sign",
            "pdf",
            "--key",
            &p.key_file,
            "--cert",
            &p.chain_pem,
            "--in",
            ENCRYPTED_PDF,
            "--out",
            &out,
        ],
        b"",
    );
    assert!(!refused.status.success());
    let error: Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert_eq!(error["error"], "pdf");
    assert!(error["message"].as_str().unwrap().contains("encrypted"));
    let garbage = p.dir.write("garbage.pdf", b"%PDF-1.7\n1 0 obj <<");
    assert!(
        !p.dir
            .dinhdanh(
                &[
                    "sign",
                    "pdf",
                    "--key",
                    &p.key_file,
                    "--cert",
                    &p.chain_pem,
                    "--in",
                    &garbage,
                    "--out",
                    &out,
                ],
                b"",
            )
            .status
            .success()
    );
    assert!(
        !std::path::Path::new(&out).exists(),
        "nothing written on refusal"
    );
    let (verdict, _) = p
        .dir
        .verify(&["pdf", "--trust-anchor", &p.root_pem], b"%PDF-1.7\n");
    assert_eq!(verdict["reason"], "malformed");

    // JWS with a detached payload.
    let document = br#"{"form":"dang-ky-tam-tru"}"#;
    let content = p.dir.write("form.json", document);
    let jws = ok(p.dir.dinhdanh(
        &["sign", "jws", "--key", &p.key_file, "--cert", &p.chain_pem],
        document,
    ));
    let jws = String::from_utf8(jws).unwrap();
    assert!(jws.trim().contains(".."));
    let (verdict, valid) = p.dir.verify(
        &["jws", "--content", &content, "--trust-anchor", &p.root_pem],
        jws.as_bytes(),
    );
    assert!(valid, "{verdict}");
    assert_eq!(verdict["signer"]["name"], NAME);
    let changed = p.dir.write("changed.json", br#"{"form":"other"}"#);
    let (verdict, valid) = p.dir.verify(
        &["jws", "--content", &changed, "--trust-anchor", &p.root_pem],
        jws.as_bytes(),
    );
    assert!(!valid);
    assert_eq!(verdict["reason"], "bad_signature");

    // A key that does not match the certificate is refused before anything is signed.
    let other_key = p.dir.write(
        "other.jwk",
        p.dir.dinhdanh(&["keygen"], b"").stdout.as_slice(),
    );
    let refused = p.dir.dinhdanh(
        &["sign", "cms", "--key", &other_key, "--cert", &p.chain_pem],
        DOCUMENT,
    );
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
}
