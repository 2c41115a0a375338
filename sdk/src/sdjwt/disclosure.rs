use std::io;

use serde::Serialize;
use serde_json::Value;

use super::SdJwtError;
use crate::jose::{self, DIGEST_B64_LEN, b64};

/// How the disclosure JSON array is laid out before base64url encoding. Both are valid JSON; the
/// digest covers the exact bytes, so the layout must be fixed when issuing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisclosureStyle {
    /// No whitespace, UTF-8 text as is: the smallest encoding, and what dinhdanh issues.
    #[default]
    Compact,
    /// `", "` and `": "` separators and non-ASCII characters escaped as `\uXXXX`: the layout of
    /// the RFC 9901 examples (Python's `json.dumps` defaults), used to reproduce them.
    AsciiSpaced,
}

/// One disclosure: `[salt, name, value]` for an object property, `[salt, value]` for an array
/// element (RFC 9901 section 4.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    encoded: String,
    digest: [u8; DIGEST_B64_LEN],
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Builds and encodes a disclosure.
    pub fn new(
        salt: String,
        name: Option<String>,
        value: Value,
        style: DisclosureStyle,
    ) -> Result<Self, SdJwtError> {
        let json = match &name {
            Some(name) => to_json(&(&salt, name, &value), style)?,
            None => to_json(&(&salt, &value), style)?,
        };
        let encoded = b64::encode(json);
        Ok(Self {
            digest: jose::sha256_b64_array(encoded.as_bytes()),
            encoded,
            name,
            value,
        })
    }

    /// Decodes a disclosure as found in an SD-JWT. Its place in the payload (object property or
    /// array element) is checked later, against the digest that references it.
    pub fn parse(encoded: &str) -> Result<Self, SdJwtError> {
        let mut disclosure = Self::parse_contents(encoded)?;
        disclosure.encoded = encoded.to_owned();
        Ok(disclosure)
    }

    /// [`Disclosure::parse`] without keeping a copy of the encoded form: for the verifier,
    /// which needs the digest, the name and the value, and never re-serializes.
    pub(crate) fn parse_contents(encoded: &str) -> Result<Self, SdJwtError> {
        let raw: RawDisclosure = b64::with_decoded(encoded, |json| {
            jose::json_from_utf8(json).map_err(|e| {
                SdJwtError::MalformedDisclosure(if e.is_data() {
                    match e.to_string() {
                        m if m.contains("salt") => "salt is not a string",
                        m if m.contains("name") => "claim name is not a string",
                        _ => "not 2 or 3 elements",
                    }
                } else {
                    "not a JSON array"
                })
            })
        })
        .map_err(|_| SdJwtError::MalformedDisclosure("not base64url"))??;
        Ok(Self {
            digest: jose::sha256_b64_array(encoded.as_bytes()),
            encoded: String::new(),
            name: raw.name,
            value: raw.value,
        })
    }

    /// The base64url form, as it appears between `~` separators.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The base64url SHA-256 digest of [`Disclosure::encoded`]: what the payload references.
    pub fn digest(&self) -> &str {
        // Base64url is ASCII.
        std::str::from_utf8(&self.digest).unwrap_or_default()
    }

    pub(crate) fn digest_bytes(&self) -> &[u8; DIGEST_B64_LEN] {
        &self.digest
    }

    /// The salt, decoded from the disclosure again (it is not kept: verification never needs
    /// it).
    pub fn salt(&self) -> String {
        b64::decode(&self.encoded)
            .ok()
            .and_then(|json| serde_json::from_slice::<Vec<Value>>(&json).ok())
            .and_then(|items| items.into_iter().next())
            .and_then(|salt| match salt {
                Value::String(salt) => Some(salt),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The claim name, or `None` for an array element.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The disclosed value, with any digests of nested disclosures still in it.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Moves the claim name out (the processed claims take ownership of it).
    pub(crate) fn take_name(&mut self) -> Option<String> {
        self.name.take()
    }

    pub(crate) fn take_value(&mut self) -> Value {
        std::mem::take(&mut self.value)
    }
}

/// `[salt, value]` or `[salt, name, value]`, read straight into its parts.
struct RawDisclosure {
    name: Option<String>,
    value: Value,
}

/// Accepts any JSON string without keeping it (the salt).
struct AnyString;

impl<'de> serde::Deserialize<'de> for AnyString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AnyString;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl<'de> serde::Deserialize<'de> for RawDisclosure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawDisclosure;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a disclosure array")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawDisclosure, A::Error> {
                use serde::de::Error;
                let AnyString = seq
                    .next_element()
                    .map_err(|_| A::Error::custom("salt is not a string"))?
                    .ok_or_else(|| A::Error::custom("not 2 or 3 elements"))?;
                let second: Value = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("not 2 or 3 elements"))?;
                let Some(third) = seq.next_element::<Value>()? else {
                    return Ok(RawDisclosure {
                        name: None,
                        value: second,
                    });
                };
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom("not 2 or 3 elements"));
                }
                match second {
                    Value::String(name) => Ok(RawDisclosure {
                        name: Some(name),
                        value: third,
                    }),
                    _ => Err(A::Error::custom("claim name is not a string")),
                }
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

pub(crate) fn to_json(
    value: &impl Serialize,
    style: DisclosureStyle,
) -> Result<Vec<u8>, SdJwtError> {
    let mut out = Vec::with_capacity(128);
    write_json(&mut out, value, style)?;
    Ok(out)
}

/// Appends `value` as JSON in `style` to `out`.
pub(crate) fn write_json(
    out: &mut Vec<u8>,
    value: &(impl Serialize + ?Sized),
    style: DisclosureStyle,
) -> Result<(), SdJwtError> {
    match style {
        DisclosureStyle::Compact => serde_json::to_writer(out, value)?,
        DisclosureStyle::AsciiSpaced => value.serialize(
            &mut serde_json::Serializer::with_formatter(out, AsciiSpaced),
        )?,
    }
    Ok(())
}

/// Appends a JSON string. In the compact style a string that needs no escaping (the common case)
/// is copied as is; the output is byte-identical to serde_json's either way.
pub(crate) fn write_json_str(
    out: &mut Vec<u8>,
    text: &str,
    style: DisclosureStyle,
) -> Result<(), SdJwtError> {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if style == DisclosureStyle::Compact && plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        write_json(out, text, style)
    }
}

/// Appends a JSON value (compact style: strings through [`write_json_str`]).
pub(crate) fn write_value(
    out: &mut Vec<u8>,
    value: &Value,
    style: DisclosureStyle,
) -> Result<(), SdJwtError> {
    if style != DisclosureStyle::Compact {
        return write_json(out, value, style);
    }
    match value {
        Value::String(text) => write_json_str(out, text, style),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, style)?;
            }
            out.push(b']');
            Ok(())
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (name, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name, style)?;
                out.push(b':');
                write_value(out, item, style)?;
            }
            out.push(b'}');
            Ok(())
        }
        scalar => write_json(out, scalar, style),
    }
}

impl DisclosureStyle {
    /// The separator between array elements and object members.
    pub(crate) fn comma(self) -> &'static [u8] {
        match self {
            Self::Compact => b",",
            Self::AsciiSpaced => b", ",
        }
    }

    /// The separator between an object member's name and value.
    pub(crate) fn colon(self) -> &'static [u8] {
        match self {
            Self::Compact => b":",
            Self::AsciiSpaced => b": ",
        }
    }
}

/// `json.dumps` layout: `", "` and `": "` separators, `\uXXXX` for everything beyond ASCII.
struct AsciiSpaced;

impl serde_json::ser::Formatter for AsciiSpaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rfc9901_section_4_2_1_example() {
        // RFC 9901 section 4.2.1: the given_name disclosure and its digest.
        let disclosure = Disclosure::new(
            "_26bc4LT-ac6q2KI6cBW5es".into(),
            Some("family_name".into()),
            json!("Möbius"),
            DisclosureStyle::AsciiSpaced,
        )
        .unwrap();
        assert_eq!(
            disclosure.encoded(),
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd"
        );
        let parsed = Disclosure::parse(disclosure.encoded()).unwrap();
        assert_eq!(parsed, disclosure);
    }

    #[test]
    fn compact_keeps_utf8() {
        let disclosure = Disclosure::new(
            "salt".into(),
            Some("full_name".into()),
            json!("Nguyễn Văn An"),
            DisclosureStyle::Compact,
        )
        .unwrap();
        let json = b64::decode(disclosure.encoded()).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"["salt","full_name","Nguyễn Văn An"]"#
        );
    }

    #[test]
    fn fast_writer_matches_serde_json() {
        let value = json!({"a": "plain", "b": "quote \" and \\ and \n and \u{1}", "c": [1, 2.5, null, true, "Nguyễn"], "d": {}});
        let mut ours = Vec::new();
        write_value(&mut ours, &value, DisclosureStyle::Compact).unwrap();
        assert_eq!(ours, serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn astral_characters_use_surrogate_pairs() {
        let json = to_json(&json!(["𝄞"]), DisclosureStyle::AsciiSpaced).unwrap();
        assert_eq!(json, br#"["\ud834\udd1e"]"#);
    }

    #[test]
    fn rejects_malformed() {
        for json in [
            "{}",
            "[]",
            r#"["salt"]"#,
            r#"[1, "a", 2]"#,
            r#"["salt", 1, 2]"#,
            r#"["s", "n", 1, 2]"#,
            "not json",
        ] {
            assert!(Disclosure::parse(&b64::encode(json)).is_err(), "{json}");
        }
        assert!(Disclosure::parse("!!").is_err());
    }
}
