//! ICAO 9303 chip data: EF.SOD (CMS SignedData), DG1 (MRZ) and DG13, as a phone uploads them to
//! the server. No input may panic; a parsed MRZ must read back from its own TD1 rendering.

#![no_main]

use dinhdanh_sdk::icao::{SecurityObject, dg13::Dg13, mrz::Mrz, verify_security_object};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(object) = SecurityObject::parse(data) {
        for (number, _) in &object.data_group_hashes {
            let _ = object.hash_of(*number);
        }
    }
    let _ = verify_security_object(data, &[(1, &[0x61, 0x00])]);
    if let Ok(mrz) = Mrz::from_dg1(data) {
        let again = Mrz::parse_td1(&mrz.to_td1());
        assert!(again.is_ok(), "a parsed MRZ renders to a valid TD1: {again:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Mrz::parse_td1(text);
    }
    if let Ok(dg13) = Dg13::parse(data) {
        let _ = dg13.date_of_birth_iso();
    }
});
