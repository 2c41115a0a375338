//! The `dinhdanh` command line, run as a process: every subcommand, its JSON output, and its
//! errors (JSON on stderr, non-zero exit).

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use serde_json::{Value, json};

struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dinhdanh"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The tool may exit (usage error, unreadable file) before it reads stdin: a broken pipe
        // here is expected then.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns stdout without the final newline.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .trim_end()
            .to_owned()
    }

    /// Runs and expects failure; returns the JSON error from stderr.
    fn fails(&self, args: &[&str], stdin: &str) -> Value {
        let output = self.run(args, stdin);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(output.stdout.is_empty());
        serde_json::from_slice(&output.stderr).unwrap_or_else(|e| {
            panic!(
                "stderr is JSON ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    fn keygen(&self, name: &str) -> String {
        let jwk = self.ok(&["keygen"], "");
        let parsed: Value = serde_json::from_str(&jwk).unwrap();
        assert_eq!(
            (parsed["kty"].as_str(), parsed["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert!(parsed["d"].is_string());
        self.write(name, &jwk)
    }
}

fn claims() -> Value {
    json!({
        "iss": "https://id.dinhdanh.example",
        "exp": 4_000_000_000u64,
        "personal_identifier": "001204012345",
        "family_name": "Nguyễn",
        "given_name": "Văn An",
        "birthdate": "2004-03-15",
        "sex": 1,
        "nationalities": ["VN", "FR"],
        "address": {"formatted": "12 Tràng Tiền, Hà Nội", "street_address": "12 Tràng Tiền", "country": "VN"},
        "issuing_authority": "Bộ Công an",
        "issuing_country": "VN",
    })
}

const PID: &str = "urn:vn:dinhdanh:pid:1";
/// `sd-jwt issue` of a PID with the given keys and claims file, then `extra` flags.
fn issue_args<'a>(
    issuer: &'a str,
    holder: &'a str,
    claims: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "sd-jwt",
        "issue",
        "--issuer-key",
        issuer,
        "--holder-jwk",
        holder,
        "--vct",
        PID,
        "--claims",
        claims,
    ];
    args.extend_from_slice(extra);
    args
}

const SD: &str = "/personal_identifier,/family_name,/given_name,/birthdate,/address,/address/street_address,/nationalities/0,/nationalities/1";

#[test]
fn issue_present_verify_with_status() {
    let w = Workspace::new("roundtrip");
    let issuer = w.keygen("issuer.jwk");
    let holder = w.keygen("holder.jwk");
    let claims = w.write("claims.json", &claims().to_string());
    let uri = "https://id.dinhdanh.example/status/3";
    let credential = w.ok(
        &issue_args(
            &issuer,
            &holder,
            &claims,
            &["--sd", SD, "--status-idx", "9", "--status-uri", uri],
        ),
        "",
    );
    assert_eq!(credential.matches('~').count(), 9);
    let presentation = w.ok(
        &[
            "sd-jwt",
            "present",
            "--holder-key",
            &holder,
            "--disclose",
            "/given_name,/address/street_address,/nationalities/1",
            "--aud",
            "https://rp.example",
            "--nonce",
            "n-42",
        ],
        &credential,
    );
    let mut statuses = vec![0u8; 64];
    let list = w.write("list.json", &serde_json::to_string(&statuses).unwrap());
    let token = w.ok(
        &[
            "status-list",
            "sign",
            "--key",
            &issuer,
            "--uri",
            uri,
            "--bits",
            "2",
            "--ttl",
            "600",
        ],
        &std::fs::read_to_string(&list).unwrap(),
    );
    let token_file = w.write("status.jwt", &token);

    let verify = |token_file: &str, nonce: &str| {
        w.run(
            &[
                "sd-jwt",
                "verify",
                "--issuer-jwk",
                &issuer,
                "--aud",
                "https://rp.example",
                "--nonce",
                nonce,
                "--status-list",
                token_file,
                "--status-key",
                &issuer,
            ],
            &presentation,
        )
    };
    let output = verify(&token_file, "n-42");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["vct"], PID);
    assert_eq!(result["status"], "valid");
    assert_eq!(result["kind"], "pid");
    assert_eq!(result["claims"]["given_name"], "Văn An");
    assert_eq!(
        result["claims"]["address"],
        json!({"formatted": "12 Tràng Tiền, Hà Nội", "street_address": "12 Tràng Tiền", "country": "VN"})
    );
    assert_eq!(result["claims"]["nationalities"], json!(["FR"]));
    assert!(result["claims"].get("family_name").is_none());
    let mut disclosed: Vec<&str> = result["disclosed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    disclosed.sort_unstable();
    assert_eq!(
        disclosed,
        [
            "/address",
            "/address/street_address",
            "/given_name",
            "/nationalities/0"
        ]
    );

    // Wrong nonce, then a revoked entry.
    let error: Value = serde_json::from_slice(&verify(&token_file, "n-43").stderr).unwrap();
    assert_eq!(error["error"], "verification");
    statuses[9] = 1;
    let revoked = w.ok(
        &[
            "status-list",
            "sign",
            "--key",
            &issuer,
            "--uri",
            uri,
            "--bits",
            "2",
        ],
        &serde_json::to_string(&statuses).unwrap(),
    );
    let revoked_file = w.write("revoked.jwt", &revoked);
    let output = verify(&revoked_file, "n-42");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid"));
    let check = w.ok(
        &[
            "status-list",
            "check",
            "--token",
            &revoked_file,
            "--idx",
            "9",
            "--key",
            &issuer,
        ],
        "",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&check).unwrap(),
        json!({"idx": 9, "status": "invalid", "value": 1})
    );
}

#[test]
fn x5c_chain_and_trust_anchor() {
    let w = Workspace::new("x5c");
    let ca_key = w.keygen("ca.jwk");
    let issuer = w.keygen("issuer.jwk");
    let holder = w.keygen("holder.jwk");
    let ca = w.write("ca.pem", &w.ok(&["x509", "dev-ca", "--key", &ca_key], ""));
    let cert = w.write(
        "issuer.pem",
        &w.ok(
            &[
                "x509",
                "dev-cert",
                "--ca-key",
                &ca_key,
                "--ca-cert",
                &ca,
                "--subject-key",
                &issuer,
                "--uri",
                "https://id.dinhdanh.example",
            ],
            "",
        ),
    );
    let claims = w.write("claims.json", &claims().to_string());
    let credential = w.ok(
        &issue_args(&issuer, &holder, &claims, &["--x5c", &cert, "--sd", SD]),
        "",
    );
    let presentation = w.ok(
        &[
            "sd-jwt",
            "present",
            "--holder-key",
            &holder,
            "--disclose",
            "/birthdate",
            "--aud",
            "a",
            "--nonce",
            "n",
        ],
        &credential,
    );
    let result: Value = serde_json::from_str(&w.ok(
        &[
            "sd-jwt",
            "verify",
            "--trust-anchor",
            &ca,
            "--aud",
            "a",
            "--nonce",
            "n",
        ],
        &presentation,
    ))
    .unwrap();
    assert_eq!(result["claims"]["birthdate"], "2004-03-15");
    assert_eq!(result["status"], "none");

    // Another CA does not vouch for this issuer.
    let other_key = w.keygen("other.jwk");
    let other = w.write(
        "other.pem",
        &w.ok(&["x509", "dev-ca", "--key", &other_key], ""),
    );
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "verify",
                "--trust-anchor",
                &other,
                "--aud",
                "a",
                "--nonce",
                "n"
            ],
            &presentation
        )["error"],
        "verification"
    );
    // Verification time after the certificate expired.
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "verify",
                "--trust-anchor",
                &ca,
                "--now",
                "4100000000"
            ],
            &presentation
        )["error"],
        "verification"
    );
}

#[test]
fn status_list_draft_examples() {
    let w = Workspace::new("status");
    assert_eq!(
        w.ok(&["status-list", "decode", "--bits", "1"], "eNrbuRgAAhcBXQ"),
        "[1,0,0,1,1,1,0,1,1,1,0,0,0,1,0,1]"
    );
    assert_eq!(
        w.ok(
            &["status-list", "decode", "--bits", "2"],
            "\"eNo76fITAAPfAgc\""
        ),
        "[1,2,0,3,0,1,0,1,1,2,3,3]"
    );
    let encoded: Value = serde_json::from_str(&w.ok(
        &["status-list", "encode", "--bits", "2"],
        "[1,2,0,3,0,1,0,1,1,2,3,3]",
    ))
    .unwrap();
    assert_eq!(encoded["bits"], 2);
    assert_eq!(
        w.ok(
            &["status-list", "decode", "--bits", "2"],
            &encoded.to_string()
        ),
        "[1,2,0,3,0,1,0,1,1,2,3,3]"
    );
    assert_eq!(
        w.fails(&["status-list", "encode", "--bits", "3"], "[1]")["error"],
        "status_list"
    );
    assert_eq!(
        w.fails(&["status-list", "encode", "--bits", "1"], "[2]")["error"],
        "status_list"
    );
    assert_eq!(
        w.fails(&["status-list", "decode", "--bits", "1"], "not base64!")["error"],
        "status_list"
    );
}

#[test]
fn bad_input_gives_json_errors() {
    let w = Workspace::new("errors");
    let issuer = w.keygen("issuer.jwk");
    let holder = w.keygen("holder.jwk");
    let claims = w.write("claims.json", &claims().to_string());
    for (sd, error) in [
        ("/nope", "issuance"),
        ("/vct", "issuance"),
        ("no-slash", "invalid_path"),
    ] {
        assert_eq!(
            w.fails(&issue_args(&issuer, &holder, &claims, &["--sd", sd]), "")["error"],
            error,
            "{sd}"
        );
    }
    // Schema of the PID: the ID number must have 12 digits.
    let bad_claims = w.write(
        "bad.json",
        &json!({"personal_identifier": "123"}).to_string(),
    );
    assert_eq!(
        w.fails(&issue_args(&issuer, &holder, &bad_claims, &[]), "")["error"],
        "issuance"
    );
    // A public key where a private key is needed, a missing file, a bad presentation.
    let public = w.write("public.jwk", &{
        let mut jwk: Value =
            serde_json::from_str(&std::fs::read_to_string(&holder).unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("d");
        jwk.to_string()
    });
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "present",
                "--holder-key",
                &public,
                "--aud",
                "a",
                "--nonce",
                "n"
            ],
            "x~"
        )["error"],
        "invalid_key"
    );
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "present",
                "--holder-key",
                "/nonexistent.jwk",
                "--aud",
                "a",
                "--nonce",
                "n"
            ],
            "x~"
        )["error"],
        "io"
    );
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "present",
                "--holder-key",
                &holder,
                "--aud",
                "a",
                "--nonce",
                "n"
            ],
            "garbage"
        )["error"],
        "invalid_sd_jwt"
    );
    assert_eq!(
        w.fails(&["sd-jwt", "verify", "--issuer-jwk", &issuer], "garbage~")["error"],
        "verification"
    );
    // A status list given for a credential without a status reference is an error, not a no-op.
    let no_status = w.ok(&issue_args(&issuer, &holder, &claims, &[]), "");
    let presented = w.ok(
        &[
            "sd-jwt",
            "present",
            "--holder-key",
            &holder,
            "--aud",
            "a",
            "--nonce",
            "n",
        ],
        &no_status,
    );
    let token = w.ok(
        &[
            "status-list",
            "sign",
            "--key",
            &issuer,
            "--uri",
            "https://s.example/1",
            "--bits",
            "1",
        ],
        "[0,0]",
    );
    let token_file = w.write("unused-status.jwt", &token);
    assert_eq!(
        w.fails(
            &[
                "sd-jwt",
                "verify",
                "--issuer-jwk",
                &issuer,
                "--status-list",
                &token_file,
                "--status-key",
                &issuer
            ],
            &presented
        )["error"],
        "verification"
    );
    // Usage errors exit with 2, whether clap or the tool finds them.
    let output = w.run(
        &[
            "sd-jwt",
            "verify",
            "--issuer-jwk",
            &issuer,
            "--status-list",
            &token_file,
        ],
        &presented,
    );
    assert_eq!(output.status.code(), Some(2));
    let output = w.run(
        &[
            "x509",
            "dev-ca",
            "--key",
            &issuer,
            "--days",
            "300000000000000",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let output = w.run(&["sd-jwt", "verify"], "");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stderr).unwrap()["error"],
        "usage"
    );
    assert_eq!(
        w.run(
            &["sd-jwt", "verify", "--aud", "a", "--issuer-jwk", &issuer],
            ""
        )
        .status
        .code(),
        Some(2)
    );
}

/// The README's journey, run as written (with the binary under test on the PATH and a scratch
/// folder for `data/journey`): the newcomer's commands must keep working.
#[test]
fn readme_journey_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("**3. Credential, presentation, verification (offline, the CLI alone).**")
        .nth(1)
        .expect("journey section");
    let script = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    let w = Workspace::new("journey");
    let script: String = script
        .lines()
        .filter(|line| !line.starts_with("cargo build"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("data/journey", &w.path("journey"));
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_dinhdanh"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&w.dir)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], "valid");
    assert_eq!(result["claims"]["given_name"], "Văn An");
    assert_eq!(result["disclosed"], json!(["/given_name"]));
}
