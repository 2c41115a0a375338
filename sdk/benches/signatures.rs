//! Speed of document signatures beside their bounds, measured in the same run (ADR 0003):
//!
//! - CMS sign (CAdES B-B of a 4 KiB document) against one bare ES256 signature: signing is one
//!   signature plus the work around it (hashing, attributes, DER);
//! - CMS verify against three bare ES256 verifications: the signature, the citizen's certificate
//!   (signed by the signing CA) and the signing CA's (signed by the root), which any verifier
//!   checks; the rest (parsing, attributes, chain rules, names) is the overhead measured.
//!
//! Run: `cargo bench -p dinhdanh-sdk --bench signatures` (add `-- --quick` for a short run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use dinhdanh_sdk::{
    cms::SignerChain,
    jose::{Es256KeyPair, JwsSigner},
    signatures::{VerificationContext, sign_cms, verify_cms},
    x509::dev::{DevCa, SigningProfile},
};

const NOW: u64 = 1_800_000_000;

/// Measures `f` for about `window`, returning operations per second.
fn rate(window: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < window {
        for _ in 0..8 {
            f();
        }
        n += 8;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, window) = if quick {
        (5, Duration::from_millis(60))
    } else {
        (15, Duration::from_millis(200))
    };

    let root = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "agency root",
        NOW - 86_400,
        NOW + 86_400,
    )
    .unwrap();
    let ca_key = Es256KeyPair::generate().unwrap();
    let ca_der = root
        .issue_intermediate(
            ca_key.public_key(),
            "citizen signing CA",
            NOW - 86_400,
            NOW + 86_400,
        )
        .unwrap();
    let ca = DevCa::load(&ca_der, &ca_key).unwrap();
    let key = Es256KeyPair::generate().unwrap();
    let leaf = ca
        .issue_signing_certificate(
            key.public_key(),
            &SigningProfile {
                name: "Nguyễn Văn An",
                id_number: "001090000001",
                crl_url: "https://id.example.vn/crl/signing.crl",
                ocsp_url: "https://id.example.vn/ocsp",
                not_before: NOW - 3600,
                not_after: NOW + 3600,
            },
        )
        .unwrap();
    let chain = SignerChain::new(&[leaf, ca.certificate_der().to_vec()], key.public_key()).unwrap();
    let anchors = vec![root.trust_anchor().unwrap()];
    let context = VerificationContext::new(&anchors, NOW);
    let document = vec![0x42u8; 4096];
    let cms = sign_cms(&document, &key, &chain, NOW).unwrap();
    assert!(verify_cms(&cms, &document, &context).valid);

    // The bounds: bare ES256 over a message the size of the signed attributes (~220 bytes).
    let message = vec![0x17u8; 220];
    let raw = key.sign(&message).unwrap();
    let public = key.public_key().clone();

    let mut sign_cms_run = || {
        black_box(sign_cms(black_box(&document), &key, &chain, NOW).unwrap());
    };
    let mut sign_bound = || {
        black_box(key.sign(black_box(&message)).unwrap());
    };
    let mut verify_cms_run = || {
        assert!(verify_cms(black_box(&cms), black_box(&document), &context).valid);
    };
    let mut verify_bound = || {
        for _ in 0..3 {
            public.verify_es256(black_box(&message), &raw).unwrap();
        }
    };

    for _ in 0..2 {
        rate(window / 2, &mut sign_cms_run);
        rate(window / 2, &mut sign_bound);
        rate(window / 2, &mut verify_cms_run);
        rate(window / 2, &mut verify_bound);
    }
    let mut rates = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        rates[0].push(rate(window, &mut sign_cms_run));
        rates[1].push(rate(window, &mut sign_bound));
        rates[2].push(rate(window, &mut verify_cms_run));
        rates[3].push(rate(window, &mut verify_bound));
    }
    // Ratios in short alternating slices: both sides see the same machine state.
    let slice = window / 8;
    let mut sign_ratios = Vec::new();
    let mut verify_ratios = Vec::new();
    for _ in 0..rounds * 8 {
        let a = rate(slice, &mut sign_cms_run);
        let b = rate(slice, &mut sign_bound);
        sign_ratios.push(a / b);
        let a = rate(slice, &mut verify_cms_run);
        let b = rate(slice, &mut verify_bound);
        verify_ratios.push(a / b);
    }

    println!(
        "Document signatures, CMS detached of 4 KiB, chain root → CA → citizen, {rounds} rounds"
    );
    println!("{:<44} {:>12}", "workload", "ops/s");
    let names = [
        "CMS sign (CAdES B-B)",
        "bound: 1 bare ES256 signature",
        "CMS verify (signature + chain)",
        "bound: 3 bare ES256 verifications",
    ];
    for (name, values) in names.iter().zip(rates.iter_mut()) {
        println!("{name:<44} {:>12.0}", median(values));
    }
    println!();
    println!(
        "{:<36} {:>8} {:>13} {:>8}",
        "ratio", "median", "quartiles", "target"
    );
    for (name, values) in [
        ("CMS sign / ES256 sign", &mut sign_ratios),
        ("CMS verify / 3 ES256 verify", &mut verify_ratios),
    ] {
        let m = median(values);
        let (q1, q3) = (values[values.len() / 4], values[values.len() * 3 / 4]);
        let verdict = if m >= 0.8 { "ok" } else { "BELOW TARGET" };
        println!(
            "{name:<36} {m:>8.3} {:>13} {:>8} {verdict}",
            format!("{q1:.3}-{q3:.3}"),
            "≥ 0.8"
        );
    }
    println!("size: CMS signature {} B", cms.len());
}
