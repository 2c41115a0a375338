//! Registry import rows (NDJSON), the largest body of untrusted input the server reads. Every
//! accepted row must be a valid record in canonical form that survives a round trip through the
//! import contract unchanged; nothing may panic.

#![no_main]

use dinhdanh_server::domain::registry::{
    ImportRow, Record, id_number, id_number::Sex, import::check_lines, names,
};
use libfuzzer_sys::fuzz_target;

const TODAY: (u32, u32, u32) = (2026, 11, 27);

fuzz_target!(|data: &[u8]| {
    for (_, row) in check_lines(1, data, TODAY) {
        let citizen = match row {
            Ok(Record::Citizen(citizen)) => citizen,
            Ok(Record::Document(document)) => {
                // Documents are stored in canonical form: parsing and re-serializing them
                // changes nothing.
                let claims: serde_json::Value =
                    serde_json::from_str(&document.claims).expect("stored claims parse");
                assert_eq!(
                    dinhdanh_server::domain::registry::canonical_json(claims).to_string(),
                    document.claims
                );
                continue;
            }
            Err(_) => continue,
        };
        let year: u32 = citizen.date_of_birth[..4].parse().expect("validated year");
        let sex = Sex::parse(&citizen.sex).expect("validated sex");
        assert_eq!(id_number::check(&citizen.id_number, year, sex), Ok(()));
        assert_eq!(names::canonical(&citizen.full_name), citizen.full_name);
        let json = serde_json::to_string(&citizen).expect("serializes");
        let again: ImportRow<'_> = serde_json::from_str(&json).expect("parses");
        assert_eq!(again.validate(TODAY).as_ref(), Ok(&citizen));
    }
});
