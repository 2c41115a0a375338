//! Percent-encoding for URL query values and form bodies (RFC 3986): everything but the
//! unreserved characters `A-Z a-z 0-9 - . _ ~` is escaped.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The characters escaped in a query or form value: all but RFC 3986 unreserved.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value`, escaped for a query or form value.
pub(crate) fn escape(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// `name=value&…`, each escaped (the wallet's OAuth requests).
#[cfg(feature = "wallet")]
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}
