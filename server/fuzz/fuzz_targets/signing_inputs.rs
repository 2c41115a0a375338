//! What the signing CA reads from anyone: a certificate request (PEM, base64 or DER; the
//! PKCS#10 parse and its signature check) and a time-stamp query. Nothing panics, and a request
//! that passes the check has a P-256 key.

#![no_main]

use dinhdanh_server::domain::ca::{certificates, tsa};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(der) = certificates::request_der(data) {
        if let Ok(checked) = certificates::check_request(&der) {
            assert_eq!(checked.public_key.len(), 65);
            assert_eq!(checked.public_key[0], 4);
        }
    }
    let policy = "1.3.6.1.4.1.99999.1.1".parse().unwrap_or(tsa::ID_CT_TST_INFO);
    let _ = tsa::read_query(data, &policy);
});
