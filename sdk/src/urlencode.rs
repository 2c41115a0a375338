//! `application/x-www-form-urlencoded` text (the WHATWG URL standard's format, which URL queries
//! and form bodies share): escaping for what the SDK sends, and one decoder for what it receives.
//!
//! Escaping follows RFC 3986: everything but the unreserved characters `A-Z a-z 0-9 - . _ ~` is
//! escaped. Decoding takes `+` for a space and percent-escapes as UTF-8, and refuses a name that
//! appears twice: the OAuth family of specifications forbids repeated parameters (RFC 6749
//! section 3.1), and a decoder that kept the first or the last would let two components of one
//! system read the same message differently.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

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

/// `name=value&…`, each escaped (the wallet's OAuth requests, the wallet's responses).
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Why a query string or form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A parameter name appears more than once (after decoding).
    #[error("parameter {0:?} is repeated")]
    Repeated(String),
    /// A name or value is not UTF-8 once decoded.
    #[error("parameter {0:?} is not UTF-8")]
    NotUtf8(String),
}

/// The parameters of a query string or form body, each name once, decoded.
pub type Parameters = BTreeMap<String, String>;

/// Decodes `name=value&…`: `+` is a space, percent-escapes are UTF-8 bytes, a pair without `=`
/// has an empty value, empty pairs (`&&`, a trailing `&`) are skipped. A name seen twice or text
/// that is not UTF-8 is refused.
pub fn parse(text: &str) -> Result<Parameters, QueryError> {
    let mut parameters = Parameters::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name).map_err(|raw| QueryError::NotUtf8(raw.to_owned()))?;
        let value = decode(value).map_err(|_| QueryError::NotUtf8(name.clone()))?;
        if parameters.contains_key(&name) {
            return Err(QueryError::Repeated(name));
        }
        parameters.insert(name, value);
    }
    Ok(parameters)
}

/// The query of a URI: what follows the first `?` before any `#`; `None` without one.
pub fn query_of(uri: &str) -> Option<&str> {
    let before_fragment = uri.split('#').next().unwrap_or(uri);
    before_fragment.split_once('?').map(|(_, query)| query)
}

/// One decoded name or value; on failure, the raw text (to name it in the error).
fn decode(raw: &str) -> Result<String, &str> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(spaced.as_bytes()).collect();
    String::from_utf8(bytes).map_err(|_| raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap().into_iter().collect()
    }

    #[test]
    fn percent_escapes_and_plus_decode() {
        assert_eq!(
            pairs("client_id=x509_san_dns%3Abank.example.vn&name=Nguy%E1%BB%85n+V%C4%83n%2BAn"),
            [
                ("client_id".into(), "x509_san_dns:bank.example.vn".into()),
                ("name".into(), "Nguyễn Văn+An".into()),
            ]
        );
        // Names are decoded too; an escape that is not one stays as it is (WHATWG URL).
        assert_eq!(pairs("a%5Fb=%zz%4"), [("a_b".into(), "%zz%4".into())]);
    }

    #[test]
    fn empty_values_and_empty_pairs() {
        assert_eq!(
            pairs("a=&b&&c=1&"),
            [
                ("a".into(), String::new()),
                ("b".into(), String::new()),
                ("c".into(), "1".into()),
            ]
        );
        assert!(parse("").unwrap().is_empty());
        // `=` after the first belongs to the value.
        assert_eq!(pairs("jwt=a.b=="), [("jwt".into(), "a.b==".into())]);
    }

    #[test]
    fn repeated_names_are_refused() {
        assert_eq!(parse("a=1&a=1"), Err(QueryError::Repeated("a".into())));
        assert_eq!(parse("a=1&b=2&a="), Err(QueryError::Repeated("a".into())));
        // The same name however it is spelled on the wire.
        assert_eq!(
            parse("state=1&st%61te=2"),
            Err(QueryError::Repeated("state".into()))
        );
        assert_eq!(
            parse("a+b=1&a%20b=2"),
            Err(QueryError::Repeated("a b".into()))
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(parse("a=%FF"), Err(QueryError::NotUtf8("a".into())));
        assert_eq!(parse("a=%C3"), Err(QueryError::NotUtf8("a".into())));
        assert_eq!(parse("%C3%28=1"), Err(QueryError::NotUtf8("%C3%28".into())));
        // An over-long encoding of `/` is not UTF-8 either.
        assert_eq!(parse("p=%C0%AF"), Err(QueryError::NotUtf8("p".into())));
    }

    #[test]
    fn escape_and_parse_round_trip() {
        let values = ["", "a b+c&d=e", "Chữ Nôm: 𡨸喃", "%41", "~-._"];
        let fields: Vec<(String, &str)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}"), *v))
            .collect();
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let parsed = parse(&form(&borrowed)).unwrap();
        for (name, value) in &borrowed {
            assert_eq!(parsed[*name], *value);
        }
    }

    #[test]
    fn the_query_of_a_uri() {
        assert_eq!(query_of("openid4vp://?a=1#frag"), Some("a=1"));
        assert_eq!(
            query_of("https://x/cb?code=1&state=2"),
            Some("code=1&state=2")
        );
        // A `?` in the fragment starts no query.
        assert_eq!(query_of("https://x/cb#a?b"), None);
        assert_eq!(query_of("openid4vp://"), None);
    }
}
