//! What a verifier of document signatures receives from anyone: CMS signatures, PDFs, time-stamp
//! answers, CRLs and OCSP responses. No input may panic; a parsed CMS signature's checks run.

#![no_main]

use dinhdanh_sdk::{cms::CmsSignature, pades, tsp::TimeStampQuery, x509::revocation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(signature) = CmsSignature::parse(data) {
        let _ = signature.verify_signature();
        let _ = signature.check_content(b"document");
    }
    let _ = pades::signatures(data);
    if let Ok(query) = TimeStampQuery::for_signature(b"signature") {
        let _ = query.token_from_response(data);
    }
    let freshness = revocation::Freshness {
        now: 1_800_000_000,
        max_age: 86_400,
        skew: 60,
    };
    let _ = revocation::crl_status(data, data, data, 1_800_000_000, &freshness);
    let _ = revocation::ocsp_status(data, data, data, 1_800_000_000, &freshness);
    let _ = revocation::crl_from_der_or_pem(data);
});
