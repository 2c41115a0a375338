//! `dinhdanh-passkey`: the software passkey authenticator of the tests as a command, for test
//! programs in other languages (the iOS demo's Swift journeys) that must pass the server's
//! WebAuthn ceremonies as a phone's platform authenticator would, the server unchanged.
//!
//! ```text
//! dinhdanh-passkey create --state FILE --rp-id ID --origin URL < options.json > credential.json
//! dinhdanh-passkey get --state FILE < options.json > assertion.json
//! ```
//!
//! `options.json` is what the server sent (`{"publicKey": {…}}`); the output is the JSON a
//! browser's `navigator.credentials` call gives. `create` makes a new authenticator and writes
//! it to FILE (its private key included: for tests only); `get` reads it, signs, and writes it
//! back with its counter advanced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Read;

use dinhdanh_journeys::authenticator::SoftAuthenticator;
use serde_json::Value;

fn flag(args: &[String], name: &str) -> String {
    args.windows(2)
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].clone())
        .unwrap_or_else(|| {
            eprintln!("dinhdanh-passkey: {name} is required");
            std::process::exit(2)
        })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let options: Value = serde_json::from_str(&input).expect("options JSON on standard input");
    let state = flag(&args, "--state");
    let out = match args.first().map(String::as_str) {
        Some("create") => {
            let mut authenticator =
                SoftAuthenticator::new(&flag(&args, "--rp-id"), &flag(&args, "--origin"));
            let credential = authenticator.create(&options);
            std::fs::write(&state, authenticator.to_state().to_string()).unwrap();
            credential
        }
        Some("get") => {
            let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
            let mut authenticator = SoftAuthenticator::from_state(&saved);
            let assertion = authenticator.get(&options);
            std::fs::write(&state, authenticator.to_state().to_string()).unwrap();
            assertion
        }
        _ => {
            eprintln!(
                "usage: dinhdanh-passkey (create --rp-id ID --origin URL | get) --state FILE"
            );
            std::process::exit(2)
        }
    };
    println!("{out}");
}
