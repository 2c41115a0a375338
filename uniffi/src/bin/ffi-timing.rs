//! `dinhdanh-ffi-timing`: the Rust side of the bindings' overhead measurement. It makes the
//! same calls on the same exported objects as the Swift benchmark (ios-demo's `BenchTests`), on
//! the same wallet file, so the difference between the two is what crossing the FFI costs:
//!
//! ```text
//! dinhdanh-ffi-timing DIR ROUNDS
//! ```
//!
//! DIR holds `keys/` (a software keystore, passphrase `bench`), `wallet.db`, `issuer.pem`,
//! `verifiers.pem` and `requests.txt` (signed presentation requests, one a line, at least
//! ROUNDS). Prints `{"cold_start_us": …, "presentation_us": …}`: medians of opening the wallet
//! and listing its credentials, and of preparing a request and answering it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dinhdanh_ffi::{Wallet, software_keystore};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let rounds: usize = args[2].parse().unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let keys = software_keystore(dir.join("keys").display().to_string(), "bench".into()).unwrap();
    let (issuer, verifiers) = (read("issuer.pem"), read("verifiers.pem"));
    let wallet_path = dir.join("wallet.db").display().to_string();
    let open = || {
        Wallet::open(
            wallet_path.clone(),
            keys.clone(),
            "wallet".into(),
            issuer.clone(),
            verifiers.clone(),
        )
        .unwrap()
    };
    let mut cold = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let wallet = open();
        assert!(!wallet.credentials().unwrap().is_empty());
        cold.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let wallet = open();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let requests = read("requests.txt");
    let mut presentation = Vec::with_capacity(rounds);
    for uri in requests.lines().take(rounds) {
        let start = Instant::now();
        let pending = wallet.prepare_presentation(uri.into(), None, now).unwrap();
        let answer = wallet.respond(pending, now).unwrap();
        presentation.push(start.elapsed().as_secs_f64() * 1e6);
        assert!(answer.body.starts_with("vp_token="));
    }
    println!(
        "{{\"cold_start_us\": {:.1}, \"presentation_us\": {:.1}}}",
        median(cold),
        median(presentation)
    );
}
