//! The README's journey, section 2 (level 2 and a credential from the server), run as written
//! against the zero-config server: the commands a newcomer copies must work.

use std::{io::BufRead, process::Command};

use dinhdanh_journeys::server_binary;

/// Runs the first `sh` block after `marker` in the README against a zero-config server on a free
/// port (`localhost:8080` in the block becomes its address), in a scratch directory with the
/// built binaries first on `PATH`: its standard output.
fn run_readme_block(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("the README's section {marker}"));
    let script = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    let server = server_binary();
    let bin_dir = server.parent().unwrap();
    assert!(
        bin_dir.join("dinhdanh").exists(),
        "the dinhdanh CLI is not built (cargo test --workspace builds it)"
    );
    let work = tempfile::tempdir().unwrap();
    // The zero-config start, as the README's quick start, on a free port.
    let mut child = Command::new(&server)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(work.path())
        .env("DINHDANH_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("DINHDANH_PUBLIC_URL")
        .env_remove("DINHDANH_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let public_url = first
        .split("(public URL ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    let port = public_url.rsplit(':').next().unwrap();
    let script: String = script
        .lines()
        .filter(|line| !line.starts_with("cargo build"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("localhost:8080", &format!("localhost:{port}"));
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .env_remove("DINHDANH_DATA_DIR")
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn readme_server_journey_runs_as_written() {
    let stdout = run_readme_block("**2. Level 2 and a credential from the server.**");
    let verified: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(verified["status"], "valid");
    assert_eq!(verified["vct"], "urn:vn:dinhdanh:pid:1");
    // Disclosures come in the order of the digests, which is random: compare as a set.
    let mut disclosed: Vec<&str> = verified["disclosed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    disclosed.sort_unstable();
    assert_eq!(disclosed, ["/birthdate", "/given_name"]);
}

#[test]
fn readme_relying_party_journey_runs_as_written() {
    let stdout = run_readme_block("**4. A relying party registered with the agency.**");
    let lines: Vec<&str> = stdout.lines().collect();
    // openssl verify: trusted, then (after `rp revoke`) revoked.
    assert!(lines.contains(&"access.pem: OK"), "{stdout}");
    assert!(stdout.contains("certificate revoked"), "{stdout}");
    let bundle: serde_json::Value = serde_json::from_str(
        lines
            .iter()
            .find(|line| line.starts_with("{\"version\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(bundle["rp_roots"], 1);
    assert!(
        bundle["crls"]["relying_parties"]
            .as_str()
            .unwrap()
            .ends_with("/crl/rp.crl")
    );
}

#[test]
fn readme_signing_journey_runs_as_written() {
    let stdout = run_readme_block("**Against the development server.**");
    let verdicts: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|line| line.starts_with("{\"valid\""))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2, "{stdout}");
    // The CMS: time-stamped by the server's TSA, good by the server's CRL.
    assert_eq!(verdicts[0]["valid"], true, "{stdout}");
    assert_eq!(verdicts[0]["timestamped"], true, "{stdout}");
    assert_eq!(verdicts[0]["revocation"], "good", "{stdout}");
    assert_eq!(verdicts[0]["signer"]["uid"], "CCCD:068174890650");
    // The JWS: good by the server's OCSP answer.
    assert_eq!(verdicts[1]["valid"], true, "{stdout}");
    assert_eq!(verdicts[1]["revocation"], "good", "{stdout}");
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
}
