//! X.509 parsing and chain validation (RFC 5280 profile of `dinhdanh_sdk::x509`): DER
//! certificates against a fixed trust anchor, PEM chains, trust anchors read from untrusted
//! bytes, and signature AlgorithmIdentifiers.

#![no_main]

use dinhdanh_sdk::x509::{
    ChainPolicy, SignatureAlgorithm, TrustAnchor, ValidatedChain, pem_to_der_chain,
    validate_chain,
};
use dinhdanh_sdk_fuzz::{FUZZ_CA, FUZZ_CA_DER, NOW};
use libfuzzer_sys::fuzz_target;

fn touch(chain: &ValidatedChain) {
    let _ = (chain.leaf_public_key_sec1(), chain.leaf_spki_der(), chain.leaf_der());
    let _ = (chain.leaf_subject(), chain.leaf_dns_names(), chain.leaf_uris());
    let _ = (chain.anchor_subject(), chain.not_after(), chain.certificates().len());
}

fn validate(chain: &[Vec<u8>], anchors: &[TrustAnchor]) {
    let plain = ChainPolicy::at(NOW);
    let strict = ChainPolicy::at(NOW)
        .require_digital_signature()
        .require_eku("1.0.18013.5.1.2")
        .max_chain_len(2);
    for policy in [&plain, &strict] {
        if let Ok(validated) = validate_chain(chain, anchors, policy) {
            touch(&validated);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let anchors = std::slice::from_ref(&*FUZZ_CA);
    let der = data.to_vec();

    validate(std::slice::from_ref(&der), anchors);
    // The same leaf with the anchor presented at the top of the chain.
    validate(&[der.clone(), FUZZ_CA_DER.clone()], anchors);

    if let Ok(anchor) = TrustAnchor::from_der(data) {
        let _ = (anchor.subject(), anchor.der().len());
        // A self-signed certificate checked against itself, and beside the fixed anchor.
        validate(std::slice::from_ref(&der), std::slice::from_ref(&anchor));
        validate(&[FUZZ_CA_DER.clone()], &[anchor, FUZZ_CA.clone()]);
    }

    let _ = SignatureAlgorithm::from_algorithm_identifier_der(data);

    let text = String::from_utf8_lossy(data);
    if let Ok(chain) = pem_to_der_chain(&text) {
        validate(&chain, anchors);
    }
    let _ = TrustAnchor::from_pem(&text);
});
