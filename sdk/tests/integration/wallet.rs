//! The wallet store under `kill -9`: a writer process adds credentials (each with its copies),
//! takes copies and logs presentations in a loop, and is killed at a random moment, again and
//! again. After each kill the store must open, and hold only whole credentials: every one with
//! all its copies, every record decrypting, nothing lost that a finished call had stored.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use dinhdanh_sdk::wallet::{
    CopyRecord, CredentialInfo, PresentationRecord, SoftwareKeyStore, WalletStore,
};

const WRITER: &str = "DINHDANH_WALLET_CRASH_WRITER";
const COPIES: usize = 7;

fn keystore(dir: &Path) -> SoftwareKeyStore {
    SoftwareKeyStore::open_with_master_key(&dir.join("keys"), &[3u8; 32]).unwrap()
}

/// The writer: runs until killed, printing how many credentials it has stored so far.
fn write_forever(dir: &Path) -> ! {
    let keys = keystore(dir);
    let mut store = WalletStore::open(&dir.join("wallet.db"), &keys, "wallet").unwrap();
    let mut n = store.list().unwrap().len();
    println!("ready {n}");
    loop {
        let info = CredentialInfo {
            id: String::new(),
            configuration_id: Some("pid".into()),
            vct: format!("urn:vn:dinhdanh:pid:{n}"),
            issuer: "https://id.dinhdanh.example".into(),
            issued_at: n as u64,
            expires_at: None,
            added_at: n as u64,
        };
        let copies: Vec<CopyRecord> = (0..COPIES)
            .map(|i| CopyRecord {
                // About the size of a real PID copy.
                sd_jwt: format!("{n}.{i}.{}", "x".repeat(2_400)),
                key_alias: format!("holder/{n}/{i}"),
            })
            .collect();
        let id = store.add(&info, &copies).unwrap();
        store.take_copy(&id, n as u64).unwrap();
        store
            .log_presentation(&PresentationRecord {
                at: n as u64,
                verifier: "x509_san_dns:bank.example.vn".into(),
                verifier_name: None,
                purpose: None,
                credential_id: id,
                claims: vec!["given_name".into()],
            })
            .unwrap();
        n += 1;
        println!("stored {n}");
    }
}

#[test]
fn a_kill_at_any_moment_leaves_whole_credentials() {
    if let Ok(dir) = std::env::var(WRITER) {
        write_forever(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut confirmed = 0usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..8 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "wallet::a_kill_at_any_moment_leaves_whole_credentials",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The harness prints `test <name> ... ` before the writer's first line: match inside.
        let (sender, lines) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let count = |line: &str, word: &str| -> Option<usize> {
            line.split_once(word)
                .and_then(|(_, n)| n.trim().parse().ok())
        };
        // Wait until it writes, then kill it somewhere in the middle of its work.
        let mut last = loop {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(n) = count(&line, "ready ") {
                        break n;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("round {round}: the writer did not start");
                }
            }
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(5 + seed % 120));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for line in lines.try_iter() {
            if let Some(n) = count(&line, "stored ") {
                last = n;
            }
        }

        let keys = keystore(dir.path());
        let store = WalletStore::open(&dir.path().join("wallet.db"), &keys, "wallet").unwrap();
        let credentials = store.list().unwrap();
        // Every call that returned is there; at most the one in flight is there beyond them.
        assert!(
            credentials.len() >= last && credentials.len() <= last + 1,
            "round {round}: {} stored, {last} confirmed",
            credentials.len()
        );
        assert!(credentials.len() >= confirmed);
        for (i, credential) in credentials.iter().enumerate() {
            assert_eq!(credential.vct, format!("urn:vn:dinhdanh:pid:{i}"));
            let copies = store.copies(&credential.id).unwrap();
            assert_eq!(copies.len(), COPIES, "round {round}: credential {i}");
            let (unused, total) = store.copies_left(&credential.id).unwrap();
            assert_eq!(total as usize, COPIES);
            assert!(unused as usize >= COPIES - 1);
        }
        let log = store.presentations().unwrap();
        // Each kill may fall between a credential and its log entry.
        assert!(log.len() <= credentials.len() && log.len() + round + 1 >= credentials.len());
        for entry in &log {
            assert!(credentials.iter().any(|c| c.id == entry.credential_id));
        }
        confirmed = credentials.len();
    }
    assert!(confirmed > 0, "the writer never got to write");
}
