//! The Rust side of the FFI benchmark (`android-demo/scripts/check --bench` runs it from the
//! Kotlin benchmark, which sets up the server, the offer and the relying party and reads the
//! figures this prints): the same calls the app makes through the bindings, made from Rust on
//! the same library API, so that the difference is the cost of the foreign-function interface.
//!
//! `ffi_bench DIR ROUNDS`, with DIR holding `offer.txt` (the offer URI, then the transaction
//! code), `issuer-root.pem`, `rp-root.pem`, `rp.jwk`, `rp.pem`, `registration.jwt`,
//! `dcql.json` and `client-id.txt`. Prints `rust cold_start_us=…` and
//! `rust presentation_us=…` and `rust presentation_net_us=…` (without the time spent in the
//! keystore; medians).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use dinhdanh_ffi::{
    HttpRequest, HttpResponse, KeyStore, KeyStoreFailure, Transport, TransportFailure, Verifier,
    VerifierConfig, Wallet,
};
use dinhdanh_sdk::{
    openid4vci::{
        client::{self, Transport as _},
        http::HttpTransport,
    },
    wallet::{self as core, KeyStore as _},
};

/// The SDK's software keystore behind the foreign trait, as a host's keystore sits behind it;
/// the time spent in it (the host's own code) is counted, to be reported apart.
struct Soft(core::SoftwareKeyStore, AtomicU64);

impl Soft {
    fn timed<T>(&self, f: impl FnOnce(&core::SoftwareKeyStore) -> T) -> T {
        let start = Instant::now();
        let result = f(&self.0);
        self.1
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        result
    }
}

fn failure(e: core::KeyStoreError) -> KeyStoreFailure {
    match e {
        core::KeyStoreError::NotFound(alias) => KeyStoreFailure::NotFound { alias },
        core::KeyStoreError::Unwrap => KeyStoreFailure::Unwrap,
        other => KeyStoreFailure::Refused {
            reason: other.to_string(),
        },
    }
}

impl KeyStore for Soft {
    fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.timed(|k| k.generate_signing_key(&alias))
            .map_err(failure)
    }
    fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure> {
        self.timed(|k| k.public_key(&alias)).map_err(failure)
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.timed(|k| k.sign(&alias, &message)).map_err(failure)
    }
    fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.timed(|k| k.generate_wrapping_key(&alias))
            .map_err(failure)
    }
    fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.timed(|k| k.wrap(&alias, &secret)).map_err(failure)
    }
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.timed(|k| k.unwrap(&alias, &wrapped)).map_err(failure)
    }
    fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure> {
        self.timed(|k| k.contains(&alias)).map_err(failure)
    }
    fn delete(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.timed(|k| k.delete(&alias)).map_err(failure)
    }
}

/// The SDK's HTTP transport behind the foreign trait (`localhost` sent to 127.0.0.1).
struct Http(HttpTransport);

impl Transport for Http {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let request = client::HttpRequest {
            method: request.method,
            url: request.url.replace("//localhost", "//127.0.0.1"),
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let response = self
            .0
            .send(&request)
            .map_err(|e| TransportFailure::Failed {
                reason: e.to_string(),
            })?;
        Ok(HttpResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| dinhdanh_ffi::HttpHeader { name, value })
                .collect(),
            body: response.body,
        })
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("DIR"));
    let rounds: usize = args.next().map_or(200, |r| r.parse().expect("ROUNDS"));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    let offer = read("offer.txt");
    let mut offer = offer.lines();
    let (offer_uri, tx_code) = (offer.next().unwrap(), offer.next().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // A file keystore under DIR with a fixed master key: a benchmark's keys, nothing to protect.
    let soft = Arc::new(Soft(
        core::SoftwareKeyStore::open_with_master_key(&dir.join("rust-keys"), &[7; 32]).unwrap(),
        AtomicU64::new(0),
    ));
    let keys: Arc<dyn KeyStore> = soft.clone();
    let path = dir.join("rust-wallet.db").display().to_string();
    let open = || {
        Wallet::open(
            path.clone(),
            keys.clone(),
            "wallet".into(),
            read("issuer-root.pem"),
            read("rp-root.pem"),
        )
        .unwrap()
    };
    let wallet = open();
    wallet
        .receive_offer(
            Arc::new(Http(HttpTransport::new())),
            offer_uri.into(),
            Some(tx_code.into()),
            3,
            now,
        )
        .unwrap();
    drop(wallet);

    // Cold start: open the store (unwrap its key) and list the credentials.
    let mut cold = Vec::new();
    for _ in 0..rounds.min(100) {
        let start = Instant::now();
        let wallet = open();
        assert_eq!(wallet.credentials().unwrap().len(), 1);
        cold.push(start.elapsed().as_secs_f64() * 1e6);
    }

    let wallet = open();
    let verifier = Verifier::new(VerifierConfig {
        signing_key_jwk: read("rp.jwk"),
        certificate_chain_pem: read("rp.pem"),
        client_id: read("client-id.txt").trim().into(),
        response_uri: "https://bank.example.vn/openid4vp/response".into(),
        issuer_anchors_pem: read("issuer-root.pem"),
        trust_as_of: now,
        registration: Some(read("registration.jwt").trim().into()),
        encrypt_responses: false,
        max_trust_age: None,
        status_max_age: None,
        require_status: Some(false),
        clock_skew: None,
        max_presentation_age: None,
        request_ttl: None,
    })
    .unwrap();
    let dcql = read("dcql.json");
    // A presentation, as the app makes it: check the request and evaluate it, then answer.
    let mut presentation = Vec::new();
    let mut net = Vec::new();
    for round in 0..rounds + rounds / 10 {
        let request = verifier.create_request(dcql.clone(), now).unwrap();
        let in_keystore = soft.1.load(Ordering::Relaxed);
        let start = Instant::now();
        let pending = wallet.prepare_presentation(request.uri, None, now).unwrap();
        let answer = wallet.respond(pending, now).unwrap();
        let elapsed = start.elapsed().as_secs_f64() * 1e6;
        let host = (soft.1.load(Ordering::Relaxed) - in_keystore) as f64 / 1e3;
        assert!(answer.body.starts_with("vp_token="));
        if round >= rounds / 10 {
            presentation.push(elapsed);
            net.push(elapsed - host);
        }
    }
    println!("rust cold_start_us={:.1}", median(cold));
    println!("rust presentation_us={:.1}", median(presentation));
    println!("rust presentation_net_us={:.1}", median(net));
}
