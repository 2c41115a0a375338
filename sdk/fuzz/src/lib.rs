//! Fixed keys, trust anchor and clock shared by the fuzz targets in `fuzz_targets/`.
//!
//! Everything here is built once per process (`LazyLock`), so a target's per-input work is only
//! the code under test. A failure to build a fixture is a bug in this file, not a finding, and
//! panics at the first input.

#![allow(clippy::expect_used)]

use std::sync::LazyLock;

use dinhdanh_sdk::jose::{self, Es256KeyPair, JwsHeader, JwsSigner, PublicKey, b64};
use dinhdanh_sdk::x509::{TrustAnchor, pem_to_der_chain};
use serde_json::json;

/// The verifier's clock in every target: 2027-01-15T08:00:00Z.
pub const NOW: u64 = 1_800_000_000;

/// The issuer key of the RFC 9901 examples (`tests/vectors/sd-jwt-rfc9901/settings.yml`), so
/// that the example SD-JWTs in `seeds/` carry valid signatures and the fuzzer can mutate their
/// disclosures and Key Binding JWTs behind a JWT that still verifies.
pub static ISSUER_KEY: LazyLock<Es256KeyPair> = LazyLock::new(|| {
    Es256KeyPair::from_jwk(&json!({
        "kty": "EC",
        "crv": "P-256",
        "d": "Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g",
        "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8",
    }))
    .expect("RFC 9901 example issuer key")
});

/// The holder key of the RFC 9901 examples (the `cnf.jwk` of the example SD-JWTs).
pub static HOLDER_KEY: LazyLock<Es256KeyPair> = LazyLock::new(|| {
    Es256KeyPair::from_jwk(&json!({
        "kty": "EC",
        "crv": "P-256",
        "d": "5K5SCos8zf9zRemGGUl6yfok-_NiiryNZsvANWMhF-I",
        "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
        "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
    }))
    .expect("RFC 9901 example holder key")
});

/// The issuer's public key.
pub fn issuer_public() -> &'static PublicKey {
    ISSUER_KEY.public_key()
}

/// A self-signed P-256 CA made for the fuzzer (CN=Fuzz CA, valid 2026-11-27 to 2126-11-03,
/// `basicConstraints` critical `cA=true`, `keyUsage` critical keyCertSign and cRLSign). Its
/// private key was thrown away; [`FUZZ_LEAF_PEM`] is a leaf it signed.
///
/// ```text
/// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
///   -subj "/CN=Fuzz CA" -addext basicConstraints=critical,CA:TRUE \
///   -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem
/// ```
pub const FUZZ_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUBd3WnoJhNt74c1QUUtvVaQntoHAwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHRnV6eiBDQTAgFw0yNjExMjcwMzIwNDhaGA8yMTI2MTEwMzAz
MjA0OFowEjEQMA4GA1UEAwwHRnV6eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABGuG8wEiqTEqe98qEds/poEWSz/tuAFGO2YPoEvAiTdMbqxEsYEQH3TIyuMk
xe27gw9IGiUTe63C+HhfhkvznT+jYzBhMB0GA1UdDgQWBBSIwJlniRIKszwJ34Vs
ngDmBxFcrDAfBgNVHSMEGDAWgBSIwJlniRIKszwJ34VsngDmBxFcrDAPBgNVHRMB
Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNIADBFAiANr3u1
FWvtZUaJnf0tRSMObsEcOiUCzWPMvBvpw4dcGgIhAO9dBOwhwatFm63XkPmDBhM6
5HXl3/f/WAgQQdTLXlhj
-----END CERTIFICATE-----
";

/// [`FUZZ_CA_PEM`] in DER.
pub static FUZZ_CA_DER: LazyLock<Vec<u8>> = LazyLock::new(|| {
    pem_to_der_chain(FUZZ_CA_PEM)
        .expect("fuzz CA PEM")
        .into_iter()
        .next()
        .expect("one certificate")
});

/// [`FUZZ_CA_PEM`] as a trust anchor.
pub static FUZZ_CA: LazyLock<TrustAnchor> =
    LazyLock::new(|| TrustAnchor::from_der(&FUZZ_CA_DER).expect("fuzz CA is a valid anchor"));

/// A leaf certificate signed by [`FUZZ_CA_PEM`]: CN=Fuzz Leaf, valid 2026-11-27 to 2125-06-21,
/// `basicConstraints` critical `cA=false`, `keyUsage` critical digitalSignature, SANs
/// `DNS:issuer.example.vn` and `URI:https://issuer.example.vn`. Its key is [`LEAF_KEY`].
pub const FUZZ_LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBxTCCAWugAwIBAgIUEb3IkyTgzCyVKPrBGd5IR/M5CA4wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHRnV6eiBDQTAgFw0yNjExMjcwMzIwNDhaGA8yMTI1MDYyMTAz
MjA0OFowFDESMBAGA1UEAwwJRnV6eiBMZWFmMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAE5dNFdqMGa9RIVqsTOZR3808vKhc57NxG4PU7X59cz1XFhaueJS7JW5ES
L4uWIxKRpsQ1dhKRdS4q3vlzGwmKFaOBmjCBlzAMBgNVHRMBAf8EAjAAMA4GA1Ud
DwEB/wQEAwIHgDA3BgNVHREEMDAughFpc3N1ZXIuZXhhbXBsZS52boYZaHR0cHM6
Ly9pc3N1ZXIuZXhhbXBsZS52bjAdBgNVHQ4EFgQUEoI0UtWomFnEH1IWNn0qeCmG
8VEwHwYDVR0jBBgwFoAUiMCZZ4kSCrM8Cd+FbJ4A5gcRXKwwCgYIKoZIzj0EAwID
SAAwRQIhAIkbq0jBCz7EqeevcIXFz7PT3nLKl5nglFJlhVadE3bvAiAkFrIZGpQh
BcB2F3HXRGvSIiW3Un/RLxzk18YUH3899A==
-----END CERTIFICATE-----
";

/// [`FUZZ_LEAF_PEM`] in DER.
pub static FUZZ_LEAF_DER: LazyLock<Vec<u8>> = LazyLock::new(|| {
    pem_to_der_chain(FUZZ_LEAF_PEM)
        .expect("fuzz leaf PEM")
        .into_iter()
        .next()
        .expect("one certificate")
});

/// The private key of [`FUZZ_LEAF_PEM`] (PKCS#8 DER, base64url). A fuzzing fixture, nothing else.
pub static LEAF_KEY: LazyLock<Es256KeyPair> = LazyLock::new(|| {
    let der = b64::decode(
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYliPGfjytApJcSLJlEWbarsUhbVFrM5jEGC6PKAcyq-\
         hRANCAATl00V2owZr1EhWqxM5lHfzTy8qFzns3Ebg9Ttfn1zPVcWFq54lLslbkRIvi5YjEpGmxDV2EpF1Lire-XMbCYoV",
    )
    .expect("leaf key base64url");
    Es256KeyPair::from_pkcs8_der(&der).expect("leaf key PKCS#8")
});

/// Most disclosures [`sd_jwt_from_template`] builds; the rest of the input is ignored.
pub const MAX_DISCLOSURES: usize = 64;

/// Builds a signed SD-JWT `<jwt>~<d0>~<d1>~...~` from a fuzz input, so the fuzzer can explore
/// the processing rules behind a valid signature.
///
/// The input is `<payload>~<disclosure 0>~<disclosure 1>~...`, split on the byte `~`:
/// - each disclosure is the *decoded* text (`["salt", "name", value]` or `["salt", value]`) and
///   is base64url-encoded here; the payload is signed here under `header` by `signer`;
/// - the fuzzer cannot compute SHA-256, so a reference `@N` (one or two ASCII digits) in the
///   payload or in disclosure `M < N` is replaced by the digest of disclosure `N` before signing
///   or encoding. `{"_sd": ["@0"]}` thus names disclosure 0, which may in turn name disclosure 1.
///   A reference to an unknown index stays as it is.
pub fn sd_jwt_from_template(
    data: &[u8],
    header: &JwsHeader,
    signer: &dyn JwsSigner,
) -> Option<String> {
    let mut parts = data.split(|&b| b == b'~');
    let payload = parts.next().unwrap_or_default();
    let raw: Vec<&[u8]> = parts.take(MAX_DISCLOSURES).collect();

    // Encode the disclosures last to first, so each can name the digests of the later ones.
    let mut digests: Vec<Option<String>> = vec![None; raw.len()];
    let mut encoded: Vec<String> = vec![String::new(); raw.len()];
    for (index, disclosure) in raw.iter().enumerate().rev() {
        let enc = b64::encode(substitute(disclosure, &digests));
        digests[index] = Some(jose::sha256_b64(&enc));
        encoded[index] = enc;
    }
    let payload = substitute(payload, &digests);

    let mut sd_jwt = jose::sign_compact(header, &payload, signer).ok()?;
    for disclosure in &encoded {
        sd_jwt.push('~');
        sd_jwt.push_str(disclosure);
    }
    sd_jwt.push('~');
    Some(sd_jwt)
}

/// Replaces `@N` with `digests[N]` when that digest is known.
fn substitute(text: &[u8], digests: &[Option<String>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'@' {
            let start = i + 1;
            let end = text[start..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(text.len(), |n| start + n);
            // At most two digits: MAX_DISCLOSURES < 100.
            if end > start && end - start <= 2 {
                let index = text[start..end]
                    .iter()
                    .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                if let Some(Some(digest)) = digests.get(index) {
                    out.extend_from_slice(digest.as_bytes());
                    i = end;
                    continue;
                }
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}
