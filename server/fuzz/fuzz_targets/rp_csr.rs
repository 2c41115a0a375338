//! The relying-party registry's reading of a PKCS#10 request (PEM or DER, from a party the agency
//! does not control yet): never a panic, and a request it accepts names a P-256 key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(checked) = dinhdanh_server::domain::rp::ca::check_csr(data) {
        assert_eq!(checked.key.sec1_uncompressed().len(), 65);
    }
});
