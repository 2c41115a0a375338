//! The free-text fields of an enrolment request: phone normalisation, ID number format and name
//! matching. Normalisation is idempotent, a name matches itself exactly, and nothing panics.

#![no_main]

use dinhdanh_server::{
    domain::enrolment::normalise_phone,
    domain::registry::{id_number, names},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(phone) = normalise_phone(text) {
        assert_eq!(normalise_phone(&phone).as_deref(), Some(phone.as_str()));
    }
    let _ = id_number::check_format(text);
    let canonical = names::canonical(text);
    assert_eq!(names::canonical(&canonical), canonical);
    assert_eq!(names::compare(text, text), names::NameMatch::Exact);
    let (left, right) =
        text.split_at(text.len() / 2 * usize::from(text.is_char_boundary(text.len() / 2)));
    let _ = names::compare(left, right);
});
