//! Speed of the credential core, each figure beside the bound that limits it, measured in the
//! same run (these 2-core machines drift ±20 % between runs; ratios hold).
//!
//! Run: `cargo bench -p dinhdanh-sdk --bench credentials` (add `-- --quick` for a short run).
//!
//! Workloads use the same PID credential: 12 claims, 8 of them selectively disclosable, a holder
//! key, `iss` and `exp`. Each rate is the median over rounds; each ratio is the median over many
//! short slices that alternate the workload and its bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use dinhdanh_sdk::{
    jose::{Es256KeyPair, PublicKey},
    sdjwt::{self, ClaimPath, KeyBindingExpectation, KeyBindingInput, SdJwt, VerifyOptions},
    status_list::{StatusList, StatusReference},
    vc::{self, IssuerTrust, VcIssuance, VcVerifyOptions},
};
use serde_json::{Map, Value};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";
const AUD: &str = "https://bank.example.vn";
const NONCE: &str = "f2b3c1d0a9e8";
const SD: [&str; 8] = [
    "personal_identifier",
    "family_name",
    "given_name",
    "birthdate",
    "sex",
    "nationalities",
    "place_of_origin",
    "address",
];

/// The sample citizen without the age attestations: 12 claims.
fn pid_claims() -> Map<String, Value> {
    let mut claims: Map<String, Value> =
        serde_json::from_str(include_str!("../tests/vectors/pid-sample.json")).unwrap();
    claims.remove("age_equal_or_over");
    claims
}

struct Fixture {
    issuer: Es256KeyPair,
    holder: Es256KeyPair,
    paths: Vec<ClaimPath>,
    status: StatusReference,
    /// The claims as the issuer has them (from its registry), cloned for each issuance.
    claims: Map<String, Value>,
}

impl Fixture {
    fn issuance(&self) -> VcIssuance<'_> {
        VcIssuance {
            vct: "urn:vn:dinhdanh:pid:1",
            iss: Some(ISS),
            iat: NOW - 60,
            exp: Some(NOW + 365 * 86_400),
            holder_key: Some(self.holder.public_key()),
            status: Some(&self.status),
            ..VcIssuance::default()
        }
    }

    fn issue(&self) -> String {
        vc::issue_vc(&self.issuer, &self.issuance(), &self.claims, &self.paths).unwrap()
    }

    fn present(&self, credential: &SdJwt) -> String {
        let kb = KeyBindingInput {
            signer: &self.holder,
            aud: AUD,
            nonce: NONCE,
            iat: NOW,
        };
        credential.present(&self.paths, Some(kb)).unwrap()
    }
}

/// Measures `f` for about `window`, returning operations per second.
fn rate(window: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < window {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

struct Workload<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
    rates: Vec<f64>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // Other arguments (but `--bench`, which cargo passes) select workloads by name, for profiling.
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (rounds, window) = if quick {
        (5, Duration::from_millis(60))
    } else {
        (15, Duration::from_millis(200))
    };

    let f = Fixture {
        issuer: Es256KeyPair::generate().unwrap(),
        holder: Es256KeyPair::generate().unwrap(),
        paths: SD
            .iter()
            .map(|name| ClaimPath::root().child(*name))
            .collect(),
        status: StatusReference::new(format!("{ISS}/status/17"), 48_211),
        claims: pid_claims(),
    };
    let credential_text = f.issue();
    let credential = SdJwt::parse(&credential_text).unwrap();
    let presentation = f.present(&credential);
    let issuer_public = f.issuer.public_key().clone();

    // The bounds: bare ring ES256 over messages of the same sizes as the real ones.
    let (jwt, _) = presentation.split_once('~').unwrap();
    let kb_jwt = presentation.rsplit('~').next().unwrap();
    let jwt_input = &jwt[..jwt.rfind('.').unwrap()];
    let kb_input = &kb_jwt[..kb_jwt.rfind('.').unwrap()];
    let jwt_signature = f.issuer.sign_es256(jwt_input.as_bytes()).unwrap();
    let kb_signature = f.holder.sign_es256(kb_input.as_bytes()).unwrap();
    let holder_public = f.holder.public_key().clone();

    // sd-jwt-rs 0.7.1 on the same credential.
    let peer = peer::Peer::new(&f, &pid_claims());
    let peer_credential = peer.issue();
    let peer_presentation = peer.present(&peer_credential);
    peer.verify(&peer_presentation);

    let verify_options = VerifyOptions {
        now: NOW,
        skew: 60,
        key_binding: Some(KeyBindingExpectation {
            aud: AUD,
            nonce: NONCE,
            max_age: 300,
        }),
    };
    let vc_options = VcVerifyOptions {
        trust: IssuerTrust::Key(&issuer_public),
        now: NOW,
        skew: 60,
        key_binding: Some(KeyBindingExpectation {
            aud: AUD,
            nonce: NONCE,
            max_age: 300,
        }),
        accepted_vcts: None,
    };
    // Sanity: each workload does what it claims before it is timed.
    assert_eq!(
        vc::verify_vc(&presentation, &vc_options)
            .unwrap()
            .disclosed
            .len(),
        8
    );

    let mut workloads = vec![
        Workload {
            name: "bound: 1 ES256 sign (ring)",
            rates: vec![],
            run: Box::new(|| {
                black_box(
                    f.issuer
                        .sign_es256(black_box(jwt_input.as_bytes()))
                        .unwrap(),
                );
            }),
        },
        Workload {
            name: "bound: 2 ES256 verify (ring)",
            rates: vec![],
            run: Box::new(|| {
                issuer_public
                    .verify_es256(black_box(jwt_input.as_bytes()), &jwt_signature)
                    .unwrap();
                holder_public
                    .verify_es256(black_box(kb_input.as_bytes()), &kb_signature)
                    .unwrap();
            }),
        },
        Workload {
            name: "issue SD-JWT VC (vc::issue_vc)",
            rates: vec![],
            run: Box::new(|| {
                black_box(f.issue());
            }),
        },
        Workload {
            name: "present with KB-JWT (SdJwt::present)",
            rates: vec![],
            run: Box::new(|| {
                black_box(f.present(&credential));
            }),
        },
        Workload {
            name: "verify SD-JWT + KB (sdjwt::verify)",
            rates: vec![],
            run: Box::new(|| {
                let key = issuer_public.clone();
                black_box(
                    sdjwt::verify(&presentation, &verify_options, &mut |_, _| Ok(key.clone()))
                        .unwrap(),
                );
            }),
        },
        Workload {
            name: "verify SD-JWT VC + KB (vc::verify_vc)",
            rates: vec![],
            run: Box::new(|| {
                black_box(vc::verify_vc(&presentation, &vc_options).unwrap());
            }),
        },
        Workload {
            name: "sd-jwt-rs 0.7.1 issue",
            rates: vec![],
            run: Box::new(|| {
                black_box(peer.issue());
            }),
        },
        Workload {
            name: "sd-jwt-rs 0.7.1 present with KB",
            rates: vec![],
            run: Box::new(|| {
                black_box(peer.present(&peer_credential));
            }),
        },
        Workload {
            name: "sd-jwt-rs 0.7.1 verify + KB",
            rates: vec![],
            run: Box::new(|| {
                peer.verify(&peer_presentation);
            }),
        },
    ];
    let mut ratios: Vec<(&str, usize, usize, f64, Vec<f64>)> = vec![
        ("issue / 1 sign", 2, 0, 0.70, vec![]),
        ("present / 1 sign", 3, 0, 0.90, vec![]),
        ("sdjwt::verify / 2 verify", 4, 1, 0.88, vec![]),
        ("vc::verify_vc / 2 verify", 5, 1, 0.88, vec![]),
        ("issue / sd-jwt-rs issue", 2, 6, 2.0, vec![]),
        ("present / sd-jwt-rs present", 3, 7, 3.0, vec![]),
        ("verify_vc / sd-jwt-rs verify", 5, 8, 1.35, vec![]),
    ];
    // Pieces of verification, for profiling only (selected by name, never in the summary).
    let pieces: Vec<Workload> = vec![
        Workload {
            name: "piece: parse issuer JWT + payload",
            rates: vec![],
            run: Box::new(|| {
                let jws = dinhdanh_sdk::jose::UnverifiedJws::parse(black_box(jwt)).unwrap();
                black_box(
                    serde_json::from_slice::<Map<String, Value>>(jws.unverified_payload()).unwrap(),
                );
            }),
        },
        Workload {
            name: "piece: parse 8 disclosures",
            rates: vec![],
            run: Box::new(|| {
                for d in presentation.split('~').skip(1).take(8) {
                    black_box(sdjwt::Disclosure::parse(black_box(d)).unwrap());
                }
            }),
        },
        Workload {
            name: "piece: sha256 of the presentation",
            rates: vec![],
            run: Box::new(|| {
                black_box(dinhdanh_sdk::jose::sha256_b64(black_box(
                    &presentation[..presentation.len() - kb_jwt.len()],
                )));
            }),
        },
        Workload {
            name: "piece: parse KB-JWT",
            rates: vec![],
            run: Box::new(|| {
                let jws = dinhdanh_sdk::jose::UnverifiedJws::parse(black_box(kb_jwt)).unwrap();
                black_box(serde_json::from_slice::<Value>(jws.unverified_payload()).unwrap());
            }),
        },
    ];
    if !only.is_empty() {
        workloads.extend(pieces);
        workloads.retain(|w| only.iter().any(|o| w.name.contains(o.as_str())));
        for w in &mut workloads {
            println!("{:<44} {:>12.0}", w.name, rate(window * rounds, &mut w.run));
        }
        return;
    }
    for w in &mut workloads {
        rate(window / 2, &mut w.run); // warm-up
    }
    // Rates: rounds over all workloads. Ratios: each workload against its bound in short
    // alternating slices, so both see the same machine state (drift between slices is what makes
    // absolute figures on these machines vary by ±20 %).
    for _ in 0..rounds {
        for w in &mut workloads {
            w.rates.push(rate(window, &mut w.run));
        }
    }
    let slice = window / 8;
    for (_, a, b, _, values) in &mut ratios {
        for _ in 0..rounds * 8 {
            let ra = rate(slice, &mut workloads[*a].run);
            let rb = rate(slice, &mut workloads[*b].run);
            values.push(ra / rb);
        }
    }

    println!(
        "SD-JWT VC, PID with 12 claims (8 selectively disclosable, all 8 disclosed), {rounds} rounds"
    );
    println!("{:<44} {:>12}", "workload", "ops/s");
    for w in &mut workloads {
        println!("{:<44} {:>12.0}", w.name, median(&mut w.rates));
    }
    println!();
    println!(
        "{:<36} {:>8} {:>13} {:>8}",
        "ratio", "median", "quartiles", "target"
    );
    for (name, _, _, target, values) in &mut ratios {
        let m = median(values);
        let (q1, q3) = (values[values.len() / 4], values[values.len() * 3 / 4]);
        let verdict = if m >= *target { "ok" } else { "BELOW TARGET" };
        println!(
            "{name:<36} {m:>8.3} {:>13} {:>8} {verdict}",
            format!("{q1:.3}-{q3:.3}"),
            format!("≥ {target}")
        );
    }
    println!(
        "sizes: credential {} B, presentation {} B",
        credential_text.len(),
        presentation.len()
    );

    status_lists(quick);
}

fn status_lists(quick: bool) {
    const ENTRIES: usize = 1 << 20;
    let runs = if quick { 3 } else { 9 };
    println!();
    println!("Token Status List, {ENTRIES} entries, 2 bits, 1 % revoked at random positions");
    let mut list = StatusList::new(2, ENTRIES).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..ENTRIES / 100 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        list.set((x % ENTRIES as u64) as usize, 1).unwrap();
    }
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    let mut lst = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        lst = black_box(list.encode_lst().unwrap());
        encode.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        let decoded = StatusList::decode_lst(2, black_box(&lst)).unwrap();
        black_box(decoded.get(ENTRIES / 3).unwrap());
        decode.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{:<44} {:>9.1} ms",
        "encode (pack + ZLIB + base64url)",
        median(&mut encode)
    );
    println!(
        "{:<44} {:>9.1} ms",
        "decode + one lookup",
        median(&mut decode)
    );
    println!("{:<44} {:>9} B", "lst size", lst.len());
}

/// The same operations through `sd-jwt-rs` 0.7.1.
mod peer {
    use jsonwebtoken::{DecodingKey, EncodingKey, jwk::Jwk};
    use sd_jwt_rs::{
        ClaimsForSelectiveDisclosureStrategy, SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat,
        SDJWTVerifier,
    };
    use serde_json::{Map, Value};

    use super::*;

    pub(super) struct Peer {
        issuer_pkcs8: Vec<u8>,
        holder_pkcs8: Vec<u8>,
        holder_jwk: Jwk,
        issuer_x: String,
        issuer_y: String,
        claims: Value,
    }

    impl Peer {
        pub(super) fn new(f: &Fixture, claims: &Map<String, Value>) -> Self {
            let mut claims = claims.clone();
            claims.insert("iss".into(), ISS.into());
            claims.insert("iat".into(), (NOW - 60).into());
            claims.insert("exp".into(), (NOW + 365 * 86_400).into());
            claims.insert("vct".into(), "urn:vn:dinhdanh:pid:1".into());
            claims.insert("status".into(), f.status.to_status_claim());
            let issuer_jwk = f.issuer.public_key().to_jwk();
            Self {
                issuer_pkcs8: f.issuer.to_pkcs8_der().unwrap().to_vec(),
                holder_pkcs8: f.holder.to_pkcs8_der().unwrap().to_vec(),
                holder_jwk: serde_json::from_value(f.holder.public_key().to_jwk()).unwrap(),
                issuer_x: issuer_jwk["x"].as_str().unwrap().to_owned(),
                issuer_y: issuer_jwk["y"].as_str().unwrap().to_owned(),
                claims: Value::Object(claims),
            }
        }

        pub(super) fn issue(&self) -> String {
            let mut issuer = SDJWTIssuer::new(
                EncodingKey::from_ec_der(&self.issuer_pkcs8),
                Some("ES256".into()),
            );
            issuer
                .issue_sd_jwt(
                    self.claims.clone(),
                    ClaimsForSelectiveDisclosureStrategy::Custom(
                        SD.iter()
                            .map(|n| match *n {
                                "personal_identifier" => "$.personal_identifier",
                                "family_name" => "$.family_name",
                                "given_name" => "$.given_name",
                                "birthdate" => "$.birthdate",
                                "sex" => "$.sex",
                                "nationalities" => "$.nationalities",
                                "place_of_origin" => "$.place_of_origin",
                                _ => "$.address",
                            })
                            .collect(),
                    ),
                    Some(self.holder_jwk.clone()),
                    true,
                    SDJWTSerializationFormat::Compact,
                )
                .unwrap()
        }

        pub(super) fn present(&self, credential: &str) -> String {
            let mut holder =
                SDJWTHolder::new(credential.to_owned(), SDJWTSerializationFormat::Compact).unwrap();
            let disclose: Map<String, Value> = SD
                .iter()
                .map(|n| ((*n).to_owned(), Value::Bool(true)))
                .collect();
            holder
                .create_presentation(
                    disclose,
                    Some(NONCE.into()),
                    Some(AUD.into()),
                    Some(EncodingKey::from_ec_der(&self.holder_pkcs8)),
                    Some("ES256".into()),
                )
                .unwrap()
        }

        pub(super) fn verify(&self, presentation: &str) {
            let (x, y) = (self.issuer_x.clone(), self.issuer_y.clone());
            let verifier = SDJWTVerifier::new(
                presentation.to_owned(),
                Box::new(move |_, _| DecodingKey::from_ec_components(&x, &y).unwrap()),
                Some(AUD.into()),
                Some(NONCE.into()),
                SDJWTSerializationFormat::Compact,
            )
            .unwrap();
            assert_eq!(verifier.verified_claims["given_name"], "Văn An");
        }
    }

    #[allow(dead_code)]
    fn _unused(_: &PublicKey) {}
}
